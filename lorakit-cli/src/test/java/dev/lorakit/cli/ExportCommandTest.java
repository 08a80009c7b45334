package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportCommandTest {
    @TempDir
    Path dir;

    @Test
    void exportedModelComputesWhatTheUnmergedAdaptersCompute() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.QWEN2));
        Path a = TinyAdapters.llama(1, 2, 64, 32, 128).stdB(0.3).write(dir.resolve("a"));
        Path b = TinyAdapters.llama(2, 2, 64, 32, 128).rank(2).rslora(true).stdB(0.3).write(dir.resolve("b"));
        Path out = dir.resolve("merged");
        CliRunner r = CliRunner.run("export", "--model", model.toString(), "--adapter", a + ":0.5", "--adapter", b.toString(),
                "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        int[] ids = {1, 5, 9, 200, 17, 3};
        float[] expected;
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(a, 0.5), new AdapterRef(b, 1.0)))) {
            expected = m.logits(ids);
        }
        try (LlamaModel m = LlamaModel.open(out, List.of())) {
            float[] got = m.logits(ids);
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected[i], got[i], 1e-4f * Math.max(1, Math.abs(expected[i])), "logit " + i);
            }
        }
    }

    @Test
    void dtypeConversionIsRecordedInConfigAndInputsAreProtected() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        Path a = TinyAdapters.llama(1, 2, 64, 32, 128).write(dir.resolve("a"));
        Path out = dir.resolve("bf16");
        assertEquals(0, CliRunner.run("export", "--model", model.toString(), "--adapter", a.toString(), "--dtype", "bf16",
                "-o", out.toString()).exitCode());
        assertEquals(DType.BF16, ModelConfig.read(out.resolve("config.json")).torchDtype());
        CliRunner r = CliRunner.run("export", "--model", model.toString(), "--adapter", a.toString(), "-o", model.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("input"), r.err());
    }
}
