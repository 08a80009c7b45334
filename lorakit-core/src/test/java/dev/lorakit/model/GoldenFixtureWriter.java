package dev.lorakit.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the inputs of the golden-logits fixtures (lorakit-core/src/test/resources/golden/):
 * per case a tiny random model directory made by lorakit's own generators, its PEFT adapters
 * (adapter1/, adapter2/) and inputs.json. The expected logits.safetensors beside them come from
 * the independent float64 reference, tools/reference/make_golden.py, which also runs this
 * writer; see that script for the regeneration command. Runs only when the system property
 * {@code golden.write} names the output directory, so a normal test run never rewrites fixtures.
 */
class GoldenFixtureWriter {
    /** Every case, in the order the fixtures are listed; {@link GoldenLogitsTest} checks them all. */
    static final List<String> CASES = List.of(
            "llama-f32-gqa",
            "llama-bf16",
            "llama-f16",
            "llama3-rope-scaling",
            "llama-rope-linear",
            "llama32-tied",
            "mistral",
            "qwen2-bias",
            "llama-lora",
            "llama-lora-rslora-pattern",
            "qwen2-lora-bf16");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    // hidden 32, intermediate 64, 2 layers, 4 query heads of 8, 2 KV heads (kv width 16), vocab 96
    private static final int HIDDEN = 32;
    private static final int INTERMEDIATE = 64;
    private static final int LAYERS = 2;
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int KV_DIM = 16;
    private static final int VOCAB = 96;

    /** An adapter of a case: its directory name under the case and the user scale. */
    private record AdapterUse(String path, double scale) {
    }

    @Test
    @EnabledIfSystemProperty(named = "golden.write", matches = ".+")
    void writeFixtures() throws IOException {
        Path root = Path.of(System.getProperty("golden.write"));
        Files.createDirectories(root);
        for (String name : CASES) {
            write(root.resolve(name), name);
        }
    }

    private static void write(Path dir, String name) throws IOException {
        List<AdapterUse> adapters = new ArrayList<>();
        switch (name) {
            case "llama-f32-gqa" -> TinyModels.write(dir, small(ModelArchitecture.LLAMA, DType.F32, 101));
            case "llama-bf16" -> TinyModels.write(dir, small(ModelArchitecture.LLAMA, DType.BF16, 102));
            case "llama-f16" -> TinyModels.write(dir, small(ModelArchitecture.LLAMA, DType.F16, 103));
            case "llama3-rope-scaling" -> {
                // 2 heads of 16 over 1 KV head; inverse frequencies 500000^(-i/8) have wavelengths
                // 6.3, 32.4, 167, ... so with original context 64 (high wavelength 64/4 = 16, low 64/1)
                // the first is kept, the second interpolated and the rest divided by 8.
                ModelConfig c = smallBuilder(ModelArchitecture.LLAMA, DType.F32).numAttentionHeads(2).numKeyValueHeads(1)
                        .ropeTheta(500000).ropeScaling(RopeScaling.llama3(8, 1, 4, 64)).maxPositionEmbeddings(512)
                        .build();
                TinyModels.write(dir, c, DType.F32, 104, Long.MAX_VALUE);
            }
            case "llama-rope-linear" -> {
                ModelConfig c = smallBuilder(ModelArchitecture.LLAMA, DType.F32).ropeScaling(RopeScaling.linear(4))
                        .maxPositionEmbeddings(2048).build();
                TinyModels.write(dir, c, DType.F32, 105, Long.MAX_VALUE);
            }
            case "llama32-tied" -> {
                ModelConfig c = smallBuilder(ModelArchitecture.LLAMA, DType.F32).tieWordEmbeddings(true)
                        .ropeTheta(500000).eosTokenIds(List.of(2, 3, 4)).build();
                TinyModels.write(dir, c, DType.F32, 106, Long.MAX_VALUE);
            }
            case "mistral" -> {
                // head_dim 16 given explicitly: 4 heads x 16 = 64 query width over hidden 32 (as
                // Mistral Nemo's head_dim 128 with hidden 5120 / 32 heads); window 4096 > T.
                ModelConfig c = smallBuilder(ModelArchitecture.MISTRAL, DType.F32).headDim(16).slidingWindow(4096)
                        .maxPositionEmbeddings(32768).build();
                TinyModels.write(dir, c, DType.F32, 107, Long.MAX_VALUE);
            }
            case "qwen2-bias" -> TinyModels.write(dir, small(ModelArchitecture.QWEN2, DType.F32, 108));
            case "llama-lora" -> {
                TinyModels.write(dir, small(ModelArchitecture.LLAMA, DType.F32, 101));
                TinyAdapters.llama(201, LAYERS, HIDDEN, KV_DIM, INTERMEDIATE).rank(4).alpha(8).stdB(0.5)
                        .write(dir.resolve("adapter1"));
                adapters.add(new AdapterUse("adapter1", 1.0));
            }
            case "llama-lora-rslora-pattern" -> {
                TinyModels.write(dir, small(ModelArchitecture.LLAMA, DType.F32, 101));
                // rank 2 for one module; alpha 2 for layer 0's v_proj (the first matching key wins),
                // 16 for the other v_proj, 4 for up/down (a regex alternative), 8 elsewhere
                TinyAdapters.llama(202, LAYERS, HIDDEN, KV_DIM, INTERMEDIATE).rank(4).alpha(8).rslora(true).stdB(0.5)
                        .rankPattern("layers.0.self_attn.k_proj", 2)
                        .alphaPattern("model\\.layers\\.0\\.self_attn\\.v_proj", 2)
                        .alphaPattern("v_proj", 16)
                        .alphaPattern("mlp\\.(up|down)_proj", 4)
                        .write(dir.resolve("adapter1"));
                TinyAdapters.Spec second = TinyAdapters.spec(203).rank(8).alpha(16).stdB(0.5);
                for (int l = 0; l < LAYERS; l++) {
                    second.module("model.layers." + l + ".self_attn.q_proj", HIDDEN, HIDDEN);
                    second.module("model.layers." + l + ".self_attn.v_proj", HIDDEN, KV_DIM);
                }
                second.write(dir.resolve("adapter2"));
                adapters.add(new AdapterUse("adapter1", 0.7));
                adapters.add(new AdapterUse("adapter2", 1.3));
            }
            case "qwen2-lora-bf16" -> {
                TinyModels.write(dir, small(ModelArchitecture.QWEN2, DType.BF16, 108));
                TinyAdapters.llama(204, LAYERS, HIDDEN, KV_DIM, INTERMEDIATE).dtype(DType.BF16).rank(4).alpha(8).stdB(0.5)
                        .write(dir.resolve("adapter1"));
                adapters.add(new AdapterUse("adapter1", 1.0));
            }
            default -> throw new IllegalArgumentException("unknown case " + name);
        }
        writeInputs(dir.resolve("inputs.json"), inputIds(name), adapters);
    }

    private static TinyModels.Spec small(ModelArchitecture arch, DType dtype, long seed) {
        return TinyModels.Spec.of(arch).withDtype(dtype).withSeed(seed)
                .withSizes(HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, VOCAB);
    }

    /** The small Spec's config as a builder, to add rope scaling, head_dim, eos lists, windows. */
    private static ModelConfig.Builder smallBuilder(ModelArchitecture arch, DType dtype) {
        return ModelConfig.builder(arch).hiddenSize(HIDDEN).intermediateSize(INTERMEDIATE).numHiddenLayers(LAYERS)
                .numAttentionHeads(HEADS).numKeyValueHeads(KV_HEADS).vocabSize(VOCAB).maxPositionEmbeddings(512)
                .rmsNormEps(1e-5).ropeTheta(10000).bosTokenId(1).eosTokenIds(List.of(2)).torchDtype(dtype);
    }

    /** 7 to 12 ids: BOS 1, then seeded random ids, one of them the last vocabulary entry. */
    private static int[] inputIds(String name) {
        Random rng = new Random(name.hashCode());
        int[] ids = new int[7 + rng.nextInt(6)];
        ids[0] = 1;
        for (int i = 1; i < ids.length; i++) {
            ids[i] = rng.nextInt(VOCAB);
        }
        ids[1 + rng.nextInt(ids.length - 1)] = VOCAB - 1;
        return ids;
    }

    private static void writeInputs(Path file, int[] ids, List<AdapterUse> adapters) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode idArray = root.putArray("input_ids");
        for (int id : ids) {
            idArray.add(id);
        }
        ArrayNode list = root.putArray("adapters");
        for (AdapterUse a : adapters) {
            list.addObject().put("path", a.path()).put("scale", a.scale());
        }
        AtomicFiles.writeString(file, JSON.writeValueAsString(root) + "\n");
    }
}
