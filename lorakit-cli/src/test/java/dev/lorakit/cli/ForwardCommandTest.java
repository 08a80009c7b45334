package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ForwardCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesTheLogitsTheEngineComputes() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.MISTRAL));
        Path adapter = TinyAdapters.llama(2, 2, 64, 32, 128).stdB(0.3).write(dir.resolve("a"));
        Path out = dir.resolve("logits.safetensors");
        CliRunner r = CliRunner.run("forward", "--model", model.toString(), "--adapter", adapter + ":0.5",
                "--input-ids", "3,1,4,1,5", "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        float[] expected;
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapter, 0.5)))) {
            expected = m.logits(new int[] {3, 1, 4, 1, 5});
        }
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertEquals("[5, 256]", f.info("logits").shape().toString());
            assertArrayEquals(expected, f.get("logits").toFloatArray());
        }
    }

    @Test
    void outOfRangeIdIsBadInputAndWritesNothing() {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        Path out = dir.resolve("x.safetensors");
        CliRunner r = CliRunner.run("forward", "--model", model.toString(), "--input-ids", "1,256", "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertFalse(Files.exists(out));
    }
}
