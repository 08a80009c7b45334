package dev.lorakit.io.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.io.safetensors.SafetensorsCheckpoint;
import dev.lorakit.io.safetensors.SafetensorsIndex;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.io.safetensors.ShardedSafetensors;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyModels;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Opening generated model directories and checking their weights against the config. */
class HfModelDirectoryTest {
    @TempDir
    Path tmp;

    static Stream<Arguments> architecturesAndDtypes() {
        return Stream.of(ModelArchitecture.values()).flatMap(a ->
                Stream.of(DType.F32, DType.BF16, DType.F16).map(d -> Arguments.of(a, d)));
    }

    @ParameterizedTest
    @MethodSource("architecturesAndDtypes")
    void generatedModelOpensAndValidates(ModelArchitecture arch, DType dtype) throws IOException {
        TinyModels.Spec spec = TinyModels.Spec.of(arch).withDtype(dtype);
        Path dir = TinyModels.write(tmp.resolve("m"), spec);
        ModelConfig expected = TinyModels.config(spec);
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            assertEquals(expected, model.config());
            assertEquals(dtype, model.config().torchDtype());
            model.validateWeights();
            assertEquals(WeightLayout.parameterCount(expected), model.parameterCount());
            assertEquals(WeightLayout.expected(expected).size(), model.weights().names().size());
            Tensor q = model.weight(Projection.Q_PROJ.weightName(1));
            assertEquals(dtype, q.dtype());
            assertEquals(Shape.of(64, 64), q.shape());
            assertEquals(Shape.of(32, 64), model.weight(Projection.K_PROJ.weightName(0)).shape(), "2 KV heads x 16");
            assertEquals(Shape.of(128, 64), model.weight(Projection.UP_PROJ.weightName(0)).shape());
            assertEquals(Shape.of(64, 128), model.weight(Projection.DOWN_PROJ.weightName(1)).shape());
            assertEquals(arch == ModelArchitecture.QWEN2, model.weights().contains(Projection.Q_PROJ.biasName(0)));
            assertEquals(!expected.tieWordEmbeddings(), model.weights().contains(WeightLayout.LM_HEAD));
            GenerationConfig gen = model.generationConfig().orElseThrow();
            assertEquals(List.of(2), gen.eosTokenIds());
            assertTrue(model.tokenizerJson().isEmpty());
            assertTrue(model.tokenizerConfigJson().isEmpty());
        }
    }

    @Test
    void storedValuesAreTheGeneratedOnesRoundedToTheDtype() {
        TinyModels.Spec spec = TinyModels.Spec.of(ModelArchitecture.LLAMA).withDtype(DType.BF16).withSeed(5);
        Path dir = TinyModels.write(tmp.resolve("bf16"), spec);
        Map<String, Tensor> f32 = TinyModels.weights(TinyModels.config(spec), DType.F32, 5);
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            for (Map.Entry<String, Tensor> e : f32.entrySet()) {
                Tensor rounded = e.getValue().to(DType.BF16);
                assertArrayEquals(rounded.segment().toArray(ValueLayout.JAVA_BYTE),
                        model.weight(e.getKey()).segment().toArray(ValueLayout.JAVA_BYTE), e.getKey());
            }
            float[] norm = model.weight(WeightLayout.FINAL_NORM).toFloatArray();
            double mean = 0;
            for (float v : norm) {
                mean += v;
            }
            assertEquals(1.0, mean / norm.length, 0.1, "norm weights around 1");
        }
    }

    @Test
    void generationIsSeeded() throws IOException {
        Path a = TinyModels.write(tmp.resolve("a"), TinyModels.Spec.of(ModelArchitecture.MISTRAL).withSeed(9));
        Path b = TinyModels.write(tmp.resolve("b"), TinyModels.Spec.of(ModelArchitecture.MISTRAL).withSeed(9));
        Path c = TinyModels.write(tmp.resolve("c"), TinyModels.Spec.of(ModelArchitecture.MISTRAL).withSeed(10));
        byte[] wa = Files.readAllBytes(a.resolve("model.safetensors"));
        assertArrayEquals(wa, Files.readAllBytes(b.resolve("model.safetensors")));
        assertFalse(java.util.Arrays.equals(wa, Files.readAllBytes(c.resolve("model.safetensors"))));
        assertEquals(Files.readString(a.resolve("config.json")), Files.readString(c.resolve("config.json")));
    }

    @ParameterizedTest
    @EnumSource(ModelArchitecture.class)
    void shardedModelDirectory(ModelArchitecture arch) {
        TinyModels.Spec spec = TinyModels.Spec.of(arch).withDtype(DType.BF16).withShards(20_000);
        Path dir = TinyModels.write(tmp.resolve("sharded"), spec);
        assertTrue(Files.exists(dir.resolve(SafetensorsIndex.FILE_NAME)));
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            ShardedSafetensors sharded = assertInstanceOf(ShardedSafetensors.class, model.weights());
            assertTrue(sharded.shards().size() >= 3, "shards: " + sharded.shards().size());
            model.validateWeights();
            assertEquals(WeightLayout.parameterCount(model.config()), model.parameterCount());
            assertEquals(String.valueOf(2 * WeightLayout.parameterCount(model.config())), model.weights().metadata().get("total_size"));
        }
    }

    @Test
    void tokenizerFilesAreFoundWhenPresent() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("tok"), ModelArchitecture.LLAMA, DType.F32);
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{}");
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            assertEquals(dir.resolve("tokenizer.json"), model.tokenizerJson().orElseThrow());
            assertEquals(dir.resolve("tokenizer_config.json"), model.tokenizerConfigJson().orElseThrow());
            assertEquals(dir, model.directory());
        }
    }

    @Test
    void generationConfigIsOptional() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("nogen"), ModelArchitecture.QWEN2, DType.F32);
        Files.delete(dir.resolve(GenerationConfig.FILE_NAME));
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            assertTrue(model.generationConfig().isEmpty());
        }
    }

    // ---- weight problems -------------------------------------------------------------------

    /** Rewrites a single-file model's weights through an edit of the (copied) tensor map. */
    private static void editWeights(Path dir, Consumer<Map<String, Tensor>> edit) throws IOException {
        Map<String, Tensor> copy = new LinkedHashMap<>();
        try (TensorSource src = SafetensorsCheckpoint.open(dir)) {
            for (String name : src.names()) {
                copy.put(name, src.get(name).copy());
            }
        }
        edit.accept(copy);
        SafetensorsWriter.write(dir.resolve("model.safetensors"), copy);
    }

    private static String invalid(Path dir) {
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            BadInputException e = assertThrows(BadInputException.class, model::validateWeights);
            assertTrue(e.getMessage().startsWith(dir + ": "), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            return e.getMessage();
        }
    }

    @Test
    void missingTensorIsNamedWithItsExpectedShape() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        editWeights(dir, w -> w.remove("model.layers.1.mlp.gate_proj.weight"));
        assertEquals(dir + ": tensor \"model.layers.1.mlp.gate_proj.weight\" is missing (expected shape [128, 64] "
                + "[intermediate_size, hidden_size])", invalid(dir));
    }

    @Test
    void wrongShapeIsNamedWithBothShapes() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.MISTRAL, DType.F32);
        editWeights(dir, w -> w.put("model.layers.0.self_attn.k_proj.weight", Tensor.zeros(DType.F32, 64, 64)));
        assertEquals(dir + ": tensor \"model.layers.0.self_attn.k_proj.weight\" has shape [64, 64], expected [32, 64] "
                + "[num_key_value_heads*head_dim, hidden_size]", invalid(dir));
    }

    @Test
    void severalProblemsAreCounted() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        editWeights(dir, w -> {
            w.remove(WeightLayout.EMBED_TOKENS);
            w.remove(WeightLayout.LM_HEAD);
            w.put(WeightLayout.FINAL_NORM, Tensor.zeros(DType.F32, 65));
        });
        String msg = invalid(dir);
        assertTrue(msg.contains("tensor \"model.embed_tokens.weight\" is missing (expected shape [256, 64] [vocab_size, hidden_size])"), msg);
        assertTrue(msg.endsWith(" (and 2 more problems)"), msg);
    }

    @Test
    void untiedModelNeedsLmHeadAndTiedOneDoesNot() throws IOException {
        Path untied = TinyModels.write(tmp.resolve("untied"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        editWeights(untied, w -> w.remove(WeightLayout.LM_HEAD));
        assertTrue(invalid(untied).contains("tensor \"lm_head.weight\" is missing"));

        Path tied = TinyModels.write(tmp.resolve("tied"), TinyModels.Spec.of(ModelArchitecture.LLAMA).withTiedEmbeddings(true));
        try (HfModelDirectory model = HfModelDirectory.open(tied)) {
            assertFalse(model.weights().contains(WeightLayout.LM_HEAD));
            model.validateWeights();
        }
    }

    @Test
    void qwen2WithoutBiasesIsInvalid() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("q"), ModelArchitecture.QWEN2, DType.F32);
        editWeights(dir, w -> w.remove("model.layers.0.self_attn.v_proj.bias"));
        assertEquals(dir + ": tensor \"model.layers.0.self_attn.v_proj.bias\" is missing (expected shape [32] "
                + "[num_key_value_heads*head_dim])", invalid(dir));
    }

    @Test
    void llamaWithAttentionBiasNeedsFourBiasesPerLayer() throws IOException {
        ModelConfig config = ModelConfig.builder(ModelArchitecture.LLAMA).hiddenSize(32).intermediateSize(48)
                .numHiddenLayers(1).numAttentionHeads(2).vocabSize(40).attentionBias(true).build();
        Path dir = TinyModels.write(tmp.resolve("biased"), config, DType.F32, 1, Long.MAX_VALUE);
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            model.validateWeights();
            for (Projection p : List.of(Projection.Q_PROJ, Projection.K_PROJ, Projection.V_PROJ, Projection.O_PROJ)) {
                assertEquals(Shape.of(p.outFeatures(config)), model.weight(p.biasName(0)).shape());
            }
            assertFalse(model.weights().contains(Projection.UP_PROJ.biasName(0)));
        }
    }

    @Test
    void biasTheConfigDoesNotDeclareIsReported() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        editWeights(dir, w -> w.put("model.layers.1.self_attn.q_proj.bias", Tensor.zeros(DType.F32, 64)));
        assertEquals(dir + ": tensor \"model.layers.1.self_attn.q_proj.bias\" is a bias that LlamaForCausalLM with "
                + "attention_bias=false does not have (the config does not match the weights)", invalid(dir));
    }

    @Test
    void tensorsBeyondTheLastLayerAreReported() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.MISTRAL, DType.F32);
        editWeights(dir, w -> w.put("model.layers.2.input_layernorm.weight", Tensor.zeros(DType.F32, 64)));
        assertEquals(dir + ": tensor \"model.layers.2.input_layernorm.weight\" belongs to layer 2, but num_hidden_layers is 2",
                invalid(dir));
    }

    @Test
    void nonFloatDtypeIsReported() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        editWeights(dir, w -> w.put("model.layers.0.input_layernorm.weight", Tensor.zeros(DType.I32, 64)));
        assertEquals(dir + ": tensor \"model.layers.0.input_layernorm.weight\" has dtype I32, expected F32, F16 or BF16",
                invalid(dir));
    }

    @Test
    void harmlessExtraTensorsAreIgnored() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        editWeights(dir, w -> w.put("model.layers.0.self_attn.rotary_emb.inv_freq", Tensor.zeros(DType.F32, 8)));
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            model.validateWeights();
        }
    }

    @Test
    void missingWeightNamesTensorAndDirectory() {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        try (HfModelDirectory model = HfModelDirectory.open(dir)) {
            BadInputException e = assertThrows(BadInputException.class, () -> model.weight("model.layers.9.mlp.up_proj.weight"));
            assertEquals(dir + ": the weights (" + dir.resolve("model.safetensors") + ") have no tensor "
                    + "\"model.layers.9.mlp.up_proj.weight\"", e.getMessage());
        }
    }

    // ---- directory problems ----------------------------------------------------------------

    private static String unopenable(Path dir) {
        BadInputException e = assertThrows(BadInputException.class, () -> HfModelDirectory.open(dir).close());
        assertFalse(e.getMessage().contains("\n"));
        return e.getMessage();
    }

    @Test
    void notADirectory() throws IOException {
        assertEquals(tmp.resolve("nope") + ": no such directory (expected a Hugging Face model directory)",
                unopenable(tmp.resolve("nope")));
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertTrue(unopenable(file).startsWith(file + ": not a directory"));
    }

    @Test
    void noConfigJson() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(empty + ": no config.json (expected a Hugging Face model directory)", unopenable(empty));
        Files.writeString(empty.resolve("adapter_config.json"), "{}");
        assertTrue(unopenable(empty).contains("looks like a PEFT adapter, not a base model"));
    }

    @Test
    void badConfigNamesTheConfigFile() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        String config = Files.readString(dir.resolve("config.json"));
        assertTrue(config.contains("\"num_key_value_heads\": 2"));
        Files.writeString(dir.resolve("config.json"), config.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
        assertEquals(dir.resolve("config.json") + ": field \"num_key_value_heads\" must divide num_attention_heads 4, got 3",
                unopenable(dir));
        Files.writeString(dir.resolve("generation_config.json"), "{\"top_p\": 2}");
        Files.writeString(dir.resolve("config.json"), TinyModels.config(TinyModels.Spec.of(ModelArchitecture.LLAMA)).toJson());
        assertEquals(dir.resolve("generation_config.json") + ": field \"top_p\" must be a number in (0, 1], got 2.0",
                unopenable(dir));
    }

    @Test
    void pickleOnlyDirectoryIsRefusedWithAHint() throws IOException {
        Path dir = TinyModels.write(tmp.resolve("m"), ModelArchitecture.LLAMA, DType.F32);
        Files.delete(dir.resolve("model.safetensors"));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {'P', 'K'});
        String msg = unopenable(dir);
        assertTrue(msg.contains("pickle"), msg);
        assertTrue(msg.contains("convert the model to safetensors"), msg);
    }

    @Test
    void configWrittenByToJsonIsWhatTinyModelsWrote() throws IOException {
        TinyModels.Spec spec = TinyModels.Spec.of(ModelArchitecture.QWEN2).withDtype(DType.F16);
        Path dir = TinyModels.write(tmp.resolve("m"), spec);
        assertEquals(TinyModels.config(spec).toJson(), Files.readString(dir.resolve("config.json")));
        assertNotEquals(TinyModels.config(spec), TinyModels.config(spec.withDtype(DType.F32)));
    }
}
