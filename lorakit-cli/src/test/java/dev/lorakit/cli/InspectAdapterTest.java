package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectAdapterTest {
    @TempDir
    Path dir;

    /** ||s B A||_F formed densely in float64, the independent check of the reported norm. */
    static double denseNorm(LoraModule m) {
        double sum = 0;
        for (int o = 0; o < m.outFeatures(); o++) {
            for (int i = 0; i < m.inFeatures(); i++) {
                double v = 0;
                for (int r = 0; r < m.rank(); r++) {
                    v += (double) m.b().get(o, r) * m.a().get(r, i);
                }
                v *= m.scaling();
                sum += v * v;
            }
        }
        return Math.sqrt(sum);
    }

    @Test
    void reportsScalingsRanksAndNormsFromRslorAndPatterns() throws Exception {
        TinyAdapters.Spec spec = TinyAdapters.llama(3, 2, 16, 8, 24).dtype(DType.BF16).rank(4).alpha(16).rslora(true)
                .rankPattern("layers\\.1\\.mlp\\.down_proj", 2).alphaPattern("q_proj", 4);
        Path adapter = spec.write(dir.resolve("adapter"));
        List<LoraModule> modules = spec.modules();

        CliRunner r = CliRunner.run("inspect", adapter.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode root = Json.MAPPER.readTree(r.out());
        assertEquals("adapter", root.get("kind").asText());
        assertEquals(14, root.get("module_count").asInt());
        JsonNode ms = root.get("modules");
        for (int i = 0; i < modules.size(); i++) {
            LoraModule m = modules.get(i);
            JsonNode n = ms.get(i);
            assertEquals(m.name(), n.get("name").asText());
            int rank = m.name().equals("model.layers.1.mlp.down_proj") ? 2 : 4;
            double alpha = m.name().endsWith("q_proj") ? 4 : 16;
            assertEquals(rank, n.get("rank").asInt(), m.name());
            assertEquals(alpha / Math.sqrt(rank), n.get("scaling").asDouble(), 1e-12, m.name());
            assertEquals(denseNorm(m), n.get("delta_frobenius_norm").asDouble(), 1e-9 * denseNorm(m), m.name());
            assertEquals("BF16", n.get("dtype").asText());
        }

        CliRunner text = CliRunner.run("inspect", adapter.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("rsLoRA"), text.out());
        assertTrue(text.out().contains("model.layers.1.mlp.down_proj"), text.out());
    }

    @Test
    void doraAdapterIsRefusedWithExitCode2() throws Exception {
        Path adapter = TinyAdapters.llama(1, 1, 8, 8, 8).write(dir.resolve("a"));
        Path cfg = adapter.resolve("adapter_config.json");
        Files.writeString(cfg, Files.readString(cfg).replace("\"use_dora\": false", "\"use_dora\": true"));
        CliRunner r = CliRunner.run("inspect", adapter.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.out());
        assertTrue(r.err().contains("use_dora"), r.err());
    }
}
