package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthCommandTest {
    @TempDir
    Path dir;

    @Test
    void tinyModelAndAdapterAreValidAndReproducible() throws Exception {
        Path m1 = dir.resolve("m1");
        Path m2 = dir.resolve("m2");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--seed", "5", "-o", m1.toString()).exitCode());
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--seed", "5", "-o", m2.toString()).exitCode());
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(m1.resolve("model.safetensors")),
                Files.readAllBytes(m2.resolve("model.safetensors"))), "same seed, same bytes");
        try (HfModelDirectory model = HfModelDirectory.open(m1)) {
            model.validateWeights();
            assertEquals(259, model.config().vocabSize());
        }
        try (TextTokenizer tok = TextTokenizer.load(m1)) {
            assertEquals("héllo", tok.decode(tok.encode("héllo"), true));
        }
        Path a = dir.resolve("a");
        CliRunner r = CliRunner.run("synth", "adapter", "--model", m1.toString(), "--rank", "4", "--targets", "q_proj,down_proj",
                "--rslora", "-o", a.toString());
        assertEquals(0, r.exitCode(), r.err());
        try (LoraAdapter ad = LoraAdapter.open(a)) {
            assertEquals(4, ad.modules().size());
            assertEquals(8 / Math.sqrt(4), ad.modules().get(0).scaling(), 1e-12);
            assertEquals("model.layers.1.mlp.down_proj", ad.modules().get(3).name());
        }
    }

    @Test
    void badOptionsAreRefusedAndWriteNothing() {
        Path out = dir.resolve("x");
        assertEquals(Main.EXIT_BAD_INPUT, CliRunner.run("synth", "model", "--preset", "gpt5", "-o", out.toString()).exitCode());
        assertEquals(Main.EXIT_BAD_INPUT, CliRunner.run("synth", "model", "--dtype", "int8", "-o", out.toString()).exitCode());
        CliRunner r = CliRunner.run("synth", "adapter", "--model", dir.resolve("none").toString(), "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("config.json"), r.err());
        assertFalse(Files.exists(out));
    }
}
