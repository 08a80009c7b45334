package dev.lorakit.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.RopeScaling;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the inputs of the golden-gradient fixtures (lorakit-core/src/test/resources/golden-grad/):
 * per case a tiny random model directory made by lorakit's own generators, one PEFT adapter
 * (adapter/) whose A and B are the trainable parameters, and batch.json, one right-padded
 * training batch. The expected loss and LoRA gradients (grads.safetensors) beside them come from
 * the independent float64 autograd reference tools/reference/lora_gradients.py, which also runs
 * this writer; see that script for the regeneration command. Runs only when the system property
 * {@code golden.grad.write} names the output directory, so a normal test run never rewrites
 * fixtures.
 */
class GoldenGradientFixtureWriter {
    /** Every case; the golden-gradient test checks them all. */
    static final List<String> CASES = List.of("llama-f32-gqa", "qwen2-bias-bf16-rslora", "llama3-tied-o-gate");

    /** Padding id and the label of ignored positions (Hugging Face's ignore_index). */
    static final int PAD_ID = 0;
    static final int IGNORE = -100;

    private static final ObjectMapper JSON = new ObjectMapper();

    // hidden 32, intermediate 64, 2 layers, 4 query heads of 8, 2 KV heads (kv width 16), vocab 96
    private static final int HIDDEN = 32;
    private static final int INTERMEDIATE = 64;
    private static final int LAYERS = 2;
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int KV_DIM = 16;
    private static final int VOCAB = 96;

    @Test
    @EnabledIfSystemProperty(named = "golden.grad.write", matches = ".+")
    void writeFixtures() throws IOException {
        Path root = Path.of(System.getProperty("golden.grad.write"));
        Files.createDirectories(root);
        for (String name : CASES) {
            write(root.resolve(name), name);
        }
    }

    private static void write(Path dir, String name) throws IOException {
        removeOldAdapter(dir.resolve("adapter"));
        int[] lengths;
        switch (name) {
            case "llama-f32-gqa" -> {
                // GQA 4 over 2; LoRA on all 7 projections with B far from 0, so every gradient is non-trivial
                TinyModels.write(dir, small(ModelArchitecture.LLAMA, DType.F32, 301));
                TinyAdapters.llama(401, LAYERS, HIDDEN, KV_DIM, INTERMEDIATE).rank(4).alpha(8).stdB(0.3)
                        .write(dir.resolve("adapter"));
                lengths = new int[] {6, 9, 5};
            }
            case "qwen2-bias-bf16-rslora" -> {
                // Qwen2 (q/k/v biases, tied embeddings) in BF16; F32 adapter on q, v and down only,
                // rsLoRA (alpha / sqrt(r)) and a rank_pattern: v_proj rank 2, layer 1's down_proj rank 6
                TinyModels.write(dir, small(ModelArchitecture.QWEN2, DType.BF16, 302));
                TinyAdapters.Spec adapter = TinyAdapters.spec(402).rank(4).alpha(8).rslora(true).stdB(0.3)
                        .rankPattern("v_proj", 2)
                        .rankPattern("layers\\.1\\.mlp\\.down_proj", 6);
                for (int l = 0; l < LAYERS; l++) {
                    String p = "model.layers." + l + ".";
                    adapter.module(p + "self_attn.q_proj", HIDDEN, HIDDEN);
                    adapter.module(p + "self_attn.v_proj", HIDDEN, KV_DIM);
                    adapter.module(p + "mlp.down_proj", INTERMEDIATE, HIDDEN);
                }
                adapter.write(dir.resolve("adapter"));
                lengths = new int[] {8, 5};
            }
            case "llama3-tied-o-gate" -> {
                // tied embeddings and llama3 rope scaling (as in the golden-logits llama3-rope-scaling case:
                // with original context 64 the first frequency is kept, the second interpolated, the rest / 8)
                ModelConfig c = ModelConfig.builder(ModelArchitecture.LLAMA).hiddenSize(HIDDEN)
                        .intermediateSize(INTERMEDIATE).numHiddenLayers(LAYERS).numAttentionHeads(2)
                        .numKeyValueHeads(1).vocabSize(VOCAB).maxPositionEmbeddings(512).rmsNormEps(1e-5)
                        .ropeTheta(500000).ropeScaling(RopeScaling.llama3(8, 1, 4, 64)).tieWordEmbeddings(true)
                        .bosTokenId(1).eosTokenIds(List.of(2)).torchDtype(DType.F32).build();
                TinyModels.write(dir, c, DType.F32, 303, Long.MAX_VALUE);
                TinyAdapters.Spec adapter = TinyAdapters.spec(403).rank(4).alpha(8).stdB(0.3);
                for (int l = 0; l < LAYERS; l++) {
                    adapter.module("model.layers." + l + ".self_attn.o_proj", HIDDEN, HIDDEN);
                    adapter.module("model.layers." + l + ".mlp.gate_proj", HIDDEN, INTERMEDIATE);
                }
                adapter.write(dir.resolve("adapter"));
                lengths = new int[] {7, 9, 5};
            }
            default -> throw new IllegalArgumentException("unknown case " + name);
        }
        writeBatch(dir.resolve("batch.json"), name, lengths);
    }

    /**
     * Deletes a previous run's adapter/ (its two files, then the then-empty directory), since a
     * model directory holding a subdirectory is not replaced; anything unexpected in it fails.
     */
    private static void removeOldAdapter(Path adapter) throws IOException {
        if (Files.exists(adapter)) {
            Files.deleteIfExists(adapter.resolve("adapter_config.json"));
            Files.deleteIfExists(adapter.resolve("adapter_model.safetensors"));
            Files.delete(adapter);
        }
    }

    private static TinyModels.Spec small(ModelArchitecture arch, DType dtype, long seed) {
        return TinyModels.Spec.of(arch).withDtype(dtype).withSeed(seed)
                .withSizes(HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, VOCAB);
    }

    /**
     * One batch: sequence i has lengths[i] tokens (BOS 1, then seeded random ids, the last
     * vocabulary entry once), labels = the ids with a masked "prompt" (the first 2 or 3 labels
     * -100) and, in every other sequence, a masked span in the middle (a masked user turn); then
     * right padding to the longest length with id 0 and label -100.
     */
    private static void writeBatch(Path file, String name, int[] lengths) throws IOException {
        Random rng = new Random(name.hashCode());
        int width = Arrays.stream(lengths).max().orElseThrow();
        int[][] ids = new int[lengths.length][width];
        int[][] labels = new int[lengths.length][width];
        for (int s = 0; s < lengths.length; s++) {
            int n = lengths[s];
            Arrays.fill(ids[s], PAD_ID);
            Arrays.fill(labels[s], IGNORE);
            ids[s][0] = 1;
            for (int t = 1; t < n; t++) {
                ids[s][t] = 3 + rng.nextInt(VOCAB - 3);
            }
            ids[s][1 + rng.nextInt(n - 1)] = VOCAB - 1;
            int prompt = 2 + rng.nextInt(2);
            for (int t = prompt; t < n; t++) {
                labels[s][t] = ids[s][t];
            }
            if (s % 2 == 1 && n >= 7) {
                labels[s][prompt + 1] = IGNORE;
                labels[s][prompt + 2] = IGNORE;
            }
        }
        ObjectNode root = JSON.createObjectNode();
        putRows(root.putArray("input_ids"), ids);
        putRows(root.putArray("labels"), labels);
        // one row per line: readable in a diff
        StringBuilder text = new StringBuilder("{\n");
        for (String key : List.of("input_ids", "labels")) {
            text.append("  \"").append(key).append("\": [\n");
            ArrayNode rows = (ArrayNode) root.get(key);
            for (int i = 0; i < rows.size(); i++) {
                text.append("    ").append(JSON.writeValueAsString(rows.get(i))).append(i + 1 < rows.size() ? ",\n" : "\n");
            }
            text.append(key.equals("labels") ? "  ]\n" : "  ],\n");
        }
        AtomicFiles.writeString(file, text.append("}\n").toString());
    }

    private static void putRows(ArrayNode array, int[][] rows) {
        for (int[] row : rows) {
            ArrayNode r = array.addArray();
            for (int v : row) {
                r.add(v);
            }
        }
    }
}
