package dev.lorakit.io.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** config.json variants as published for real models, every validation rule, and the writer. */
class ModelConfigTest {
    static final String WHERE = "/models/x/config.json";

    static final String LLAMA2_7B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "bos_token_id": 1,
              "eos_token_id": 2,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 11008,
              "max_position_embeddings": 4096,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 32,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": null,
              "tie_word_embeddings": false,
              "torch_dtype": "float16",
              "transformers_version": "4.31.0.dev0",
              "use_cache": true,
              "vocab_size": 32000
            }
            """;

    static final String LLAMA31_8B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": [128001, 128008, 128009],
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 131072,
              "mlp_bias": false,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": {
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "llama3"
              },
              "rope_theta": 500000.0,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.43.0.dev0",
              "use_cache": true,
              "vocab_size": 128256
            }
            """;

    static final String LLAMA32_1B = """
            {
              "architectures": ["LlamaForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": [128001, 128008, 128009],
              "head_dim": 64,
              "hidden_act": "silu",
              "hidden_size": 2048,
              "initializer_range": 0.02,
              "intermediate_size": 8192,
              "max_position_embeddings": 131072,
              "mlp_bias": false,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 16,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                               "original_max_position_embeddings": 8192, "rope_type": "llama3"},
              "rope_theta": 500000.0,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.45.0.dev0",
              "use_cache": true,
              "vocab_size": 128256
            }
            """;

    static final String MISTRAL_7B = """
            {
              "architectures": ["MistralForCausalLM"],
              "bos_token_id": 1,
              "eos_token_id": 2,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 32768,
              "model_type": "mistral",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "rms_norm_eps": 1e-05,
              "rope_theta": 10000.0,
              "sliding_window": 4096,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.34.0.dev0",
              "use_cache": true,
              "vocab_size": 32000
            }
            """;

    static final String QWEN25_05B = """
            {
              "architectures": ["Qwen2ForCausalLM"],
              "attention_dropout": 0.0,
              "bos_token_id": 151643,
              "eos_token_id": 151645,
              "hidden_act": "silu",
              "hidden_size": 896,
              "initializer_range": 0.02,
              "intermediate_size": 4864,
              "max_position_embeddings": 32768,
              "max_window_layers": 21,
              "model_type": "qwen2",
              "num_attention_heads": 14,
              "num_hidden_layers": 24,
              "num_key_value_heads": 2,
              "rms_norm_eps": 1e-06,
              "rope_theta": 1000000.0,
              "sliding_window": 32768,
              "tie_word_embeddings": true,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.43.1",
              "use_cache": true,
              "use_sliding_window": false,
              "vocab_size": 151936
            }
            """;

    static ModelConfig parse(String json) {
        return ModelConfig.parse(WHERE, json);
    }

    @Test
    void llama2() {
        ModelConfig c = parse(LLAMA2_7B);
        assertEquals(ModelArchitecture.LLAMA, c.architecture());
        assertEquals(4096, c.hiddenSize());
        assertEquals(11008, c.intermediateSize());
        assertEquals(32, c.numHiddenLayers());
        assertEquals(32, c.numAttentionHeads());
        assertEquals(32, c.numKeyValueHeads());
        assertEquals(128, c.headDim());
        assertEquals(1e-5, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta(), "default");
        assertNull(c.ropeScaling());
        assertEquals(4096, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(32000, c.vocabSize());
        assertEquals(1, c.bosTokenId());
        assertEquals(List.of(2), c.eosTokenIds());
        assertNull(c.padTokenId());
        assertEquals(DType.F16, c.torchDtype());
        assertFalse(c.attentionBias());
        assertNull(c.slidingWindow());
        assertFalse(c.useSlidingWindow());
        for (Projection p : Projection.values()) {
            assertFalse(c.hasBias(p));
        }
    }

    @Test
    void llama31WithLlama3RopeScaling() {
        ModelConfig c = parse(LLAMA31_8B);
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(4, c.queriesPerKeyValueHead());
        assertEquals(128, c.headDim());
        assertEquals(4096, c.queryDim());
        assertEquals(1024, c.keyValueDim());
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(RopeScaling.llama3(8.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(128001, c.eosTokenId());
        assertEquals(DType.BF16, c.torchDtype());
        assertEquals(131072, c.maxPositionEmbeddings());
    }

    @Test
    void llama32TiedEmbeddingsAndExplicitHeadDim() {
        ModelConfig c = parse(LLAMA32_1B);
        assertTrue(c.tieWordEmbeddings());
        assertEquals(64, c.headDim());
        assertEquals(RopeScaling.llama3(32.0, 1.0, 4.0, 8192), c.ropeScaling());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(16, c.numHiddenLayers());
    }

    @Test
    void mistral() {
        ModelConfig c = parse(MISTRAL_7B);
        assertEquals(ModelArchitecture.MISTRAL, c.architecture());
        assertEquals(4096, c.slidingWindow());
        assertTrue(c.useSlidingWindow());
        assertEquals(8, c.numKeyValueHeads());
        assertFalse(c.hasBias(Projection.Q_PROJ));
        ModelConfig v03 = parse(MISTRAL_7B.replace("\"sliding_window\": 4096", "\"sliding_window\": null"));
        assertNull(v03.slidingWindow());
        assertFalse(v03.useSlidingWindow());
    }

    @Test
    void mistralNemoHeadDimDiffersFromHiddenOverHeads() {
        ModelConfig c = parse(MISTRAL_7B.replace("\"hidden_size\": 4096", "\"hidden_size\": 5120, \"head_dim\": 128"));
        assertEquals(128, c.headDim());
        assertEquals(4096, c.queryDim());
        assertEquals(5120, c.hiddenSize());
    }

    @Test
    void qwen2HasQkvBiases() {
        ModelConfig c = parse(QWEN25_05B);
        assertEquals(ModelArchitecture.QWEN2, c.architecture());
        assertEquals(64, c.headDim());
        assertTrue(c.attentionBias());
        assertTrue(c.hasBias(Projection.Q_PROJ));
        assertTrue(c.hasBias(Projection.K_PROJ));
        assertTrue(c.hasBias(Projection.V_PROJ));
        assertFalse(c.hasBias(Projection.O_PROJ));
        assertFalse(c.hasBias(Projection.GATE_PROJ));
        assertEquals(32768, c.slidingWindow());
        assertFalse(c.useSlidingWindow());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(1_000_000.0, c.ropeTheta());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(List.of(151645), c.eosTokenIds());
    }

    @Test
    void llamaWithAttentionBiasHasQkvoBiases() {
        ModelConfig c = parse(LLAMA2_7B.replace("\"bos_token_id\": 1,", "\"bos_token_id\": 1, \"attention_bias\": true,"));
        assertTrue(c.hasBias(Projection.Q_PROJ));
        assertTrue(c.hasBias(Projection.O_PROJ));
        assertFalse(c.hasBias(Projection.UP_PROJ));
    }

    @Test
    void defaultsForMinimalConfig() {
        ModelConfig c = parse("""
                {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 256, "vocab_size": 100}
                """);
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(DType.F32, c.torchDtype());
        assertNull(c.bosTokenId());
        assertEquals(List.of(), c.eosTokenIds());
        assertNull(c.eosTokenId());
    }

    @Test
    void legacyRopeTypeKeyAndLinearScaling() {
        ModelConfig legacy = parse(LLAMA31_8B.replace("\"rope_type\": \"llama3\"", "\"type\": \"llama3\""));
        assertEquals(RopeScaling.llama3(8.0, 1.0, 4.0, 8192), legacy.ropeScaling());
        ModelConfig linear = parse(LLAMA2_7B.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}"));
        assertEquals(RopeScaling.linear(2.0), linear.ropeScaling());
        ModelConfig deflt = parse(LLAMA2_7B.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"default\"}"));
        assertNull(deflt.ropeScaling());
    }

    @Test
    void transformers5RopeParametersAndDtypeKey() {
        String v5 = LLAMA31_8B
                .replace("\"rope_scaling\"", "\"rope_parameters\"")
                .replace("\"rope_type\": \"llama3\"", "\"rope_type\": \"llama3\", \"rope_theta\": 500000.0")
                .replace("\"rope_theta\": 500000.0,\n", "")
                .replace("\"torch_dtype\"", "\"dtype\"");
        assertFalse(v5.contains("torch_dtype"));
        ModelConfig c = parse(v5);
        assertEquals(parse(LLAMA31_8B), c);
        ModelConfig plain = parse(LLAMA2_7B.replace("\"rope_scaling\": null",
                "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 20000.0}"));
        assertEquals(20000.0, plain.ropeTheta());
        assertNull(plain.ropeScaling());
    }

    @Test
    void architectureFallsBackToModelTypeWhenArchitecturesIsAbsent() {
        ModelConfig c = parse(QWEN25_05B.replace("\"architectures\": [\"Qwen2ForCausalLM\"],", ""));
        assertEquals(ModelArchitecture.QWEN2, c.architecture());
    }

    // ---- errors ----------------------------------------------------------------------------

    /** Applies an edit to a config and expects a one-line error naming the file and each fragment. */
    static String rejected(String base, String from, String to, String... fragments) {
        assertTrue(base.contains(from), "test edit must apply: " + from);
        String json = base.replace(from, to);
        BadInputException e = assertThrows(BadInputException.class, () -> parse(json));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(WHERE + ": "), "names the file: " + msg);
        for (String f : fragments) {
            assertTrue(msg.contains(f), "message should contain <" + f + ">: " + msg);
        }
        assertFalse(msg.contains("\n"), msg);
        return msg;
    }

    @Test
    void unsupportedArchitectureListsTheSupportedOnes() {
        rejected(LLAMA2_7B, "LlamaForCausalLM", "GPT2LMHeadModel", "field \"architectures\"", "GPT2LMHeadModel",
                "supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM");
        rejected(LLAMA2_7B, "[\"LlamaForCausalLM\"]", "[]", "field \"architectures\" must be a list naming one of");
        rejected(LLAMA2_7B, "[\"LlamaForCausalLM\"]", "\"LlamaForCausalLM\"", "field \"architectures\"", "got \"LlamaForCausalLM\"");
        rejected(LLAMA2_7B.replace("\"model_type\": \"llama\",", ""), "\"architectures\": [\"LlamaForCausalLM\"],", "",
                "field \"architectures\"", "the field is missing");
        rejected(LLAMA2_7B.replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\""),
                "\"architectures\": [\"LlamaForCausalLM\"],", "", "field \"architectures\"", "the field is missing");
    }

    @ParameterizedTest
    @ValueSource(strings = {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "max_position_embeddings", "vocab_size"})
    void requiredSizesMustBePresentAndPositive(String field) {
        String line = lineOf(LLAMA2_7B, field);
        String comma = line.endsWith(",") ? "," : "";
        rejected(LLAMA2_7B, line, "\"" + field + "\": 0" + comma, "field \"" + field + "\" must be a positive integer, got 0");
        rejected(LLAMA2_7B, line, "\"" + field + "\": -3" + comma, "field \"" + field + "\"", "got -3");
        rejected(LLAMA2_7B, line, "\"unrelated\": 0" + comma, "field \"" + field + "\" must be an integer, got nothing");
        rejected(LLAMA2_7B, line, "\"" + field + "\": 4096.5" + comma, "field \"" + field + "\" must be an integer, got 4096.5");
        rejected(LLAMA2_7B, line, "\"" + field + "\": \"4096\"" + comma, "field \"" + field + "\" must be an integer, got \"4096\"");
    }

    static String lineOf(String json, String field) {
        int i = json.indexOf("\"" + field + "\"");
        return json.substring(i, json.indexOf('\n', i));
    }

    @Test
    void headsMustBeDivisibleByKvHeads() {
        rejected(LLAMA31_8B, "\"num_key_value_heads\": 8", "\"num_key_value_heads\": 5",
                "field \"num_key_value_heads\" must divide num_attention_heads 32, got 5");
        rejected(LLAMA31_8B, "\"num_key_value_heads\": 8", "\"num_key_value_heads\": 0",
                "field \"num_key_value_heads\" must be a positive integer, got 0");
    }

    @Test
    void hiddenSizeMustSplitIntoHeadsWhenHeadDimIsAbsent() {
        rejected(LLAMA2_7B, "\"hidden_size\": 4096", "\"hidden_size\": 4100",
                "field \"hidden_size\" must be divisible by num_attention_heads 32 when head_dim is absent, got 4100");
    }

    @Test
    void headDimMustBePositiveAndEven() {
        rejected(LLAMA32_1B, "\"head_dim\": 64", "\"head_dim\": 63", "field \"head_dim\" must be even", "got 63");
        rejected(LLAMA32_1B, "\"head_dim\": 64", "\"head_dim\": 0", "field \"head_dim\" must be a positive integer, got 0");
    }

    @Test
    void normEpsAndRopeThetaMustBePositive() {
        rejected(LLAMA2_7B, "\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": 0", "field \"rms_norm_eps\" must be a finite number > 0, got 0.0");
        rejected(LLAMA2_7B, "\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": \"1e-5\"", "field \"rms_norm_eps\" must be a number, got \"1e-5\"");
        rejected(LLAMA31_8B, "\"rope_theta\": 500000.0", "\"rope_theta\": -1", "field \"rope_theta\" must be a finite number > 0, got -1.0");
    }

    @Test
    void unsupportedRopeScalingIsRefusedByName() {
        for (String kind : List.of("yarn", "dynamic", "longrope", "su")) {
            rejected(LLAMA31_8B, "\"rope_type\": \"llama3\"", "\"rope_type\": \"" + kind + "\"",
                    "field \"rope_scaling.rope_type\" is \"" + kind + "\"", "expected \"default\", \"linear\" or \"llama3\"");
        }
        rejected(LLAMA31_8B, "\"rope_type\": \"llama3\"", "\"type\": \"yarn\"", "field \"rope_scaling.type\" is \"yarn\"");
        rejected(LLAMA31_8B, "\"rope_type\": \"llama3\"", "\"foo\": 1", "field \"rope_scaling.rope_type\" must be",
                "got nothing");
        rejected(LLAMA31_8B, "\"rope_type\": \"llama3\"", "\"rope_type\": \"llama3\", \"type\": \"linear\"",
                "field \"rope_scaling.type\" is \"linear\" but rope_type is \"llama3\"");
        rejected(LLAMA2_7B, "\"rope_scaling\": null", "\"rope_scaling\": \"linear\"", "field \"rope_scaling\" must be an object");
    }

    @Test
    void llama3RopeScalingParameters() {
        rejected(LLAMA31_8B, "\"factor\": 8.0,", "", "field \"rope_scaling.factor\" must be a number, got nothing");
        rejected(LLAMA31_8B, "\"factor\": 8.0", "\"factor\": 0.5", "field \"rope_scaling.factor\" must be a finite number >= 1, got 0.5");
        rejected(LLAMA31_8B, "\"high_freq_factor\": 4.0", "\"high_freq_factor\": 1.0",
                "field \"rope_scaling.high_freq_factor\" must be a finite number greater than low_freq_factor 1.0, got 1.0");
        rejected(LLAMA31_8B, "\"low_freq_factor\": 1.0", "\"low_freq_factor\": 0",
                "field \"rope_scaling.low_freq_factor\" must be a finite number > 0, got 0.0");
        rejected(LLAMA31_8B, "\"original_max_position_embeddings\": 8192", "\"original_max_position_embeddings\": 8192.5",
                "field \"rope_scaling.original_max_position_embeddings\" must be an integer, got 8192.5");
        rejected(LLAMA31_8B, "\"original_max_position_embeddings\": 8192", "\"original_max_position_embeddings\": 0",
                "field \"rope_scaling.original_max_position_embeddings\" must be a positive integer, got 0");
    }

    @Test
    void ropeParametersErrorsNameThatField() {
        String v5 = LLAMA31_8B.replace("\"rope_scaling\"", "\"rope_parameters\"");
        String msg = rejected(v5, "\"factor\": 8.0", "\"factor\": 0.5", "field \"rope_parameters.factor\" must be a finite number >= 1");
        assertEquals(WHERE + ": field \"rope_parameters.factor\" must be a finite number >= 1, got 0.5", msg);
        rejected(v5, "\"rope_type\": \"llama3\"", "\"rope_type\": \"yarn\"", "field \"rope_parameters.rope_type\" is \"yarn\"");
    }

    @Test
    void tokenIdsMustBeInsideTheVocabulary() {
        rejected(LLAMA2_7B, "\"bos_token_id\": 1", "\"bos_token_id\": 32000",
                "field \"bos_token_id\" must be a token id in [0, vocab_size 32000), got 32000");
        rejected(LLAMA31_8B, "[128001, 128008, 128009]", "[128001, 999999]",
                "field \"eos_token_id\" must be a token id in [0, vocab_size 128256), got 999999");
        rejected(LLAMA31_8B, "[128001, 128008, 128009]", "[128001, \"x\"]",
                "field \"eos_token_id\" must be an integer or a list of integers, got [128001,\"x\"]");
        rejected(LLAMA2_7B, "\"eos_token_id\": 2", "\"eos_token_id\": -1", "field \"eos_token_id\"", "got -1");
        assertEquals(-1, parse(LLAMA2_7B.replace("\"bos_token_id\": 1,", "\"bos_token_id\": 1, \"pad_token_id\": -1,"))
                .padTokenId(), "pad is recorded as is");
    }

    @Test
    void dtypeNames() {
        rejected(LLAMA2_7B, "\"torch_dtype\": \"float16\"", "\"torch_dtype\": \"float64\"",
                "field \"torch_dtype\" must be \"float32\", \"float16\" or \"bfloat16\", got \"float64\"");
        rejected(LLAMA2_7B, "\"torch_dtype\": \"float16\"", "\"torch_dtype\": \"int8\"", "field \"torch_dtype\"", "got \"int8\"");
        rejected(LLAMA2_7B, "\"torch_dtype\": \"float16\"", "\"torch_dtype\": \"float16\", \"dtype\": \"bfloat16\"",
                "field \"dtype\" is \"bfloat16\" but torch_dtype is \"float16\"");
        assertEquals(DType.BF16, parse(LLAMA2_7B.replace("\"torch_dtype\": \"float16\"", "\"dtype\": \"bfloat16\"")).torchDtype());
    }

    @Test
    void activationAndMlpBiasAndQuantizationAreRefused() {
        rejected(LLAMA2_7B, "\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"",
                "field \"hidden_act\" must be \"silu\"", "got \"gelu\"");
        rejected(LLAMA31_8B, "\"mlp_bias\": false", "\"mlp_bias\": true", "field \"mlp_bias\" must be false", "got true");
        rejected(LLAMA2_7B, "\"use_cache\": true,", "\"use_cache\": true, \"quantization_config\": {\"quant_method\": \"gptq\"},",
                "field \"quantization_config\" is present (gptq)", "quantized checkpoints are not supported");
    }

    @Test
    void architectureSpecificBiasAndWindowRules() {
        rejected(MISTRAL_7B, "\"bos_token_id\": 1,", "\"bos_token_id\": 1, \"attention_bias\": true,",
                "field \"attention_bias\" must be false for MistralForCausalLM", "got true");
        rejected(QWEN25_05B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"),
                "\"sliding_window\": 32768", "\"sliding_window\": null",
                "field \"sliding_window\" must be a positive integer when use_sliding_window is true, got null");
        assertNull(parse(QWEN25_05B.replace("\"sliding_window\": 32768", "\"sliding_window\": null")).slidingWindow());
        rejected(QWEN25_05B, "\"sliding_window\": 32768", "\"sliding_window\": -1",
                "field \"sliding_window\" must be a positive integer, got -1");
        rejected(QWEN25_05B, "\"use_sliding_window\": false", "\"use_sliding_window\": \"no\"",
                "field \"use_sliding_window\" must be true or false, got \"no\"");
    }

    @Test
    void invalidJsonAndNonObject() {
        BadInputException e = assertThrows(BadInputException.class, () -> parse("{\"hidden_size\": "));
        assertTrue(e.getMessage().startsWith(WHERE + ": not valid JSON"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> parse("[1]"));
        assertEquals(WHERE + ": must be a JSON object, got [1]", e.getMessage());
        e = assertThrows(BadInputException.class, () -> parse("{\"hidden_size\": 1, \"hidden_size\": 2}"));
        assertEquals(WHERE + ": not valid JSON: duplicate key \"hidden_size\" (expected each key once)", e.getMessage());
    }

    @Test
    void readNamesTheRealPath(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, LLAMA2_7B.replace("\"vocab_size\": 32000", "\"vocab_size\": 0"));
        BadInputException e = assertThrows(BadInputException.class, () -> ModelConfig.read(f));
        assertEquals(f + ": field \"vocab_size\" must be a positive integer, got 0", e.getMessage());
        BadInputException missing = assertThrows(BadInputException.class, () -> ModelConfig.read(dir.resolve("nope.json")));
        assertEquals(dir.resolve("nope.json") + ": no such file", missing.getMessage());
    }

    // ---- writer ----------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"LLAMA2_7B", "LLAMA31_8B", "LLAMA32_1B", "MISTRAL_7B", "QWEN25_05B"})
    void toJsonRoundTrips(String which) throws Exception {
        String json = (String) ModelConfigTest.class.getDeclaredField(which).get(null);
        ModelConfig c = parse(json);
        String written = c.toJson();
        assertEquals(c, parse(written));
        assertEquals(written, parse(written).toJson(), "stable");
        assertTrue(written.endsWith("}\n"));
    }

    @Test
    void toJsonUsesHuggingFaceKeysSortedLikeSavePretrained() throws IOException {
        ModelConfig c = parse(LLAMA31_8B);
        JsonNode root = new ObjectMapper().readTree(c.toJson());
        List<String> keys = new ArrayList<>();
        root.properties().forEach(e -> keys.add(e.getKey()));
        assertEquals(keys.stream().sorted().toList(), keys);
        assertEquals("LlamaForCausalLM", root.get("architectures").get(0).asText());
        assertEquals("llama", root.get("model_type").asText());
        assertEquals("bfloat16", root.get("torch_dtype").asText());
        assertEquals(128, root.get("head_dim").asInt());
        assertEquals(3, root.get("eos_token_id").size());
        assertEquals("llama3", root.get("rope_scaling").get("rope_type").asText());
        assertEquals(8192, root.get("rope_scaling").get("original_max_position_embeddings").asInt());
        assertEquals(500000.0, root.get("rope_theta").asDouble());
        assertTrue(root.get("eos_token_id").isArray());
        ObjectNode qwen = (ObjectNode) new ObjectMapper().readTree(parse(QWEN25_05B).toJson());
        assertFalse(qwen.has("attention_bias"), "Qwen2 has no attention_bias key");
        assertEquals(151645, qwen.get("eos_token_id").asInt());
        assertFalse(qwen.get("use_sliding_window").asBoolean());
        assertTrue(new ObjectMapper().readTree(parse(LLAMA2_7B).toJson()).get("rope_scaling").isNull());
        assertTrue(c.toJson().contains("\n  \"architectures\": ["), "2-space indent");
    }

    @Test
    void builderAppliesDefaultsAndValidates() {
        ModelConfig c = ModelConfig.builder(ModelArchitecture.MISTRAL).hiddenSize(32).intermediateSize(64).numHiddenLayers(1)
                .numAttentionHeads(4).vocabSize(50).slidingWindow(16).build();
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(8, c.headDim());
        assertTrue(c.useSlidingWindow());
        assertEquals(c, parse(c.toJson()));
        BadInputException e = assertThrows(BadInputException.class, () -> ModelConfig.builder(ModelArchitecture.LLAMA)
                .hiddenSize(32).intermediateSize(64).numHiddenLayers(1).numAttentionHeads(4).numKeyValueHeads(3)
                .vocabSize(50).build());
        assertEquals("field \"num_key_value_heads\" must divide num_attention_heads 4, got 3", e.getMessage());
        assertTrue(ModelConfig.builder(ModelArchitecture.QWEN2).hiddenSize(32).intermediateSize(64).numHiddenLayers(1)
                .numAttentionHeads(4).vocabSize(50).build().attentionBias());
    }

    @ParameterizedTest
    @CsvSource({"LlamaForCausalLM,llama,LLAMA", "MistralForCausalLM,mistral,MISTRAL", "Qwen2ForCausalLM,qwen2,QWEN2"})
    void architectureNames(String className, String modelType, ModelArchitecture arch) {
        assertEquals(arch, ModelArchitecture.fromClassName(className).orElseThrow());
        assertEquals(arch, ModelArchitecture.fromModelType(modelType).orElseThrow());
        assertEquals(className, arch.className());
        assertEquals(modelType, arch.modelType());
    }
}
