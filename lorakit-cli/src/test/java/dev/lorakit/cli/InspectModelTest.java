package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectModelTest {
    @TempDir
    Path dir;

    @Test
    void describesShardedBf16Model() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA).withDtype(DType.BF16).withShards(20_000));
        CliRunner r = CliRunner.run("inspect", model.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode root = Json.MAPPER.readTree(r.out());
        assertEquals("model", root.get("kind").asText());
        assertEquals(64, root.get("hidden_size").asInt());
        assertEquals(2, root.get("num_key_value_heads").asInt());
        // embed 256*64 + per layer (2*64 norms + q 64*64 + k,v 2*32*64 + o 64*64 + 3*128*64) + norm 64 + lm_head 256*64
        long perLayer = 2 * 64 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 128 * 64;
        long expected = 256 * 64 + 2 * perLayer + 64 + 256 * 64;
        assertEquals(expected, root.get("parameters").asLong());
        assertEquals(expected * 2, root.get("weight_bytes").asLong());
        assertEquals(expected, root.get("parameters_by_dtype").get("BF16").asLong());

        CliRunner text = CliRunner.run("inspect", model.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("LlamaForCausalLM") || text.out().contains("LLAMA"), text.out());
    }

    @Test
    void missingTensorIsBadInput() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.QWEN2));
        Files.writeString(model.resolve("config.json"), Files.readString(model.resolve("config.json"))
                .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
        CliRunner r = CliRunner.run("inspect", model.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.out());
        assertTrue(r.err().contains("model.layers.2"), r.err());
    }
}
