package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompressCommandTest {
    @TempDir
    Path dir;

    @Test
    void compressesLoadsAndInspects() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        Path calib = dir.resolve("calib.jsonl");
        Files.writeString(calib, "{\"input_ids\": [1, 5, 9, 77, 200], \"labels\": [1, 5, 9, 77, 200]}\n"
                + "{\"input_ids\": [4, 8, 15, 16, 23, 42], \"labels\": [-100, 8, 15, 16, 23, 42]}\n");
        Path out = dir.resolve("c");
        CliRunner r = CliRunner.run("compress", "--model", model.toString(), "--prune-structured", "ffn", "--ffn-keep", "96",
                "--prune", "wanda", "--sparsity", "0.5", "--calib", calib.toString(), "--quantize", "q4_0", "--include", "lm_head",
                "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("wanda 0.5 (50.0 % zeros)"), r.out());
        assertTrue(r.out().contains("FFN 128 -> 96 channels (activation_weighted)"), r.out());
        assertTrue(r.out().contains("calibration: 2 sequences, 11 tokens of calib.jsonl"), r.out());
        assertEquals(96, ModelConfig.read(out.resolve("config.json")).intermediateSize());
        assertTrue(Files.exists(out.resolve("pruning.json")));
        try (LlamaModel m = LlamaModel.open(out, List.of())) {
            for (float v : m.logits(new int[] {1, 2, 3, 4})) {
                assertTrue(Float.isFinite(v));
            }
        }

        CliRunner inspect = CliRunner.run("inspect", out.toString(), "--json");
        assertEquals(0, inspect.exitCode(), inspect.err());
        JsonNode root = Json.MAPPER.readTree(inspect.out());
        assertEquals(4.5, root.get("projection_bits_per_weight").asDouble(), 1e-12);
        // embeddings F32 (32 bits) + lm_head Q4_0 + norms F32: overall between the two
        double bits = root.get("bits_per_weight").asDouble();
        assertTrue(bits > 4.5 && bits < 32, "bits per weight " + bits);
        assertEquals("q4_0", root.get("compression").get("quantization_config").get("format").asText());
        assertEquals(96, root.get("compression").get("lorakit_pruning").get("structured").get("intermediate_size").asInt());
        CliRunner text = CliRunner.run("inspect", out.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("bits/weight:   "), text.out());
        assertTrue(text.out().contains("4.50 in the q/k/v/o/gate/up/down projections"), text.out());
        assertTrue(text.out().contains("compression:   q4_0 (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj,lm_head); "
                + "wanda 0.5 per output row, 50.0 % zeros; FFN channels 128 -> 96"), text.out());

        CliRunner json = CliRunner.run("compress", "--model", model.toString(), "--quantize", "q8_0", "--json", "-o",
                dir.resolve("q8").toString());
        assertEquals(0, json.exitCode(), json.err());
        JsonNode j = Json.MAPPER.readTree(json.out());
        assertEquals(8.5, j.get("projection_bits_per_weight").asDouble(), 1e-12);
        assertEquals("lorakit", j.get("record").get("quantization_config").get("quant_method").asText());

        // Other commands load it like any model.
        Path logits = dir.resolve("logits.safetensors");
        CliRunner fwd = CliRunner.run("forward", "--model", out.toString(), "--input-ids", "1,2,3", "-o", logits.toString());
        assertEquals(0, fwd.exitCode(), fwd.err());
        assertTrue(Files.exists(logits));
    }

    @Test
    void badInputsExitTwoAndWriteNothing() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        Path out = dir.resolve("out");
        String m = model.toString();
        String o = out.toString();
        String[][] cases = {
            {"--sparsity: expected a fraction strictly between 0 and 1", "--prune", "magnitude", "--sparsity", "1.5"},
            {"--sparsity: expected a fraction strictly between 0 and 1", "--prune", "magnitude", "--sparsity", "0"},
            {"--prune wanda: needs --calib", "--prune", "wanda", "--sparsity", "0.5"},
            {"--prune: expected magnitude or wanda, got \"sparsegpt\"", "--prune", "sparsegpt", "--sparsity", "0.5"},
            {"--quantize: expected q8_0 or q4_0, got \"q3_k\"", "--quantize", "q3_k"},
            {"--pattern: expected N:M", "--prune", "magnitude", "--pattern", "4:2"},
            {"not a multiple of 4", "--prune-structured", "ffn", "--ffn-keep", "70", "--prune", "magnitude", "--pattern", "2:4"},
            {"--ffn-keep: expected 1 to 127 channels", "--prune-structured", "ffn", "--ffn-keep", "128"},
            {"--ffn-keep: expected a positive number", "--prune-structured", "ffn", "--ffn-keep", "0"},
            {"--prune-structured: expected ffn", "--prune-structured", "heads", "--ffn-keep", "3"},
            {"--prune-structured ffn: needs --ffn-keep", "--prune-structured", "ffn"},
            {"--ffn-keep: needs --prune-structured ffn", "--ffn-keep", "64"},
            {"--include embed_tokens: quantized embeddings are not supported", "--quantize", "q8_0", "--include", "embed_tokens"},
            {"nothing to do"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length - 1 + 5];
            args[0] = "compress";
            args[1] = "--model";
            args[2] = m;
            args[3] = "-o";
            args[4] = o;
            System.arraycopy(c, 1, args, 5, c.length - 1);
            CliRunner r = CliRunner.run(args);
            assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), String.join(" ", args) + "\n" + r.err());
            assertTrue(r.err().startsWith("lorakit: error: "), r.err());
            assertTrue(r.err().contains(c[0]), r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertFalse(Files.exists(out), "nothing written for " + c[0]);
        }
        CliRunner same = CliRunner.run("compress", "--model", m, "--quantize", "q8_0", "-o", m);
        assertEquals(Main.EXIT_BAD_INPUT, same.exitCode());
        assertTrue(same.err().contains("it is the input"), same.err());
        assertTrue(Files.exists(model.resolve("config.json")), "the input is untouched");
        try (var files = Files.list(dir)) {
            assertEquals(List.of(model), files.toList(), "no output or temporary directory left behind");
        }
    }
}
