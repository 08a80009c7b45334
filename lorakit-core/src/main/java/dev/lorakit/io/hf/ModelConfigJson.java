package dev.lorakit.io.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import java.util.Optional;

/**
 * Reads and writes config.json for {@link ModelConfig}: field names, defaults, legacy spellings
 * ("type" for "rope_type", "torch_dtype" for "dtype", transformers 5's "rope_parameters") and the
 * features lorakit refuses (other activations, MLP biases, quantized checkpoints other than
 * lorakit's own, other RoPE scalings). Every error names the file, the field, the value and what
 * was expected.
 */
final class ModelConfigJson {
    private ModelConfigJson() {
    }

    /** head_dim when config.json leaves it out: hidden_size / num_attention_heads, which must divide. */
    static int defaultHeadDim(int hiddenSize, int numAttentionHeads) {
        if (numAttentionHeads <= 0 || hiddenSize <= 0) {
            return 2; // the record rejects the non-positive size itself
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new BadInputException("field \"hidden_size\" must be divisible by num_attention_heads "
                    + numAttentionHeads + " when head_dim is absent, got " + hiddenSize);
        }
        return hiddenSize / numAttentionHeads;
    }

    static ModelConfig parse(ConfigJson c) {
        ModelArchitecture arch = architecture(c);
        JsonNode q = c.raw("quantization_config");
        if (q != null && !isLorakitQuantization(q)) {
            String method = q.isObject() && q.has("quant_method") ? " (" + q.get("quant_method").asText() + ")" : "";
            throw c.fieldError("quantization_config", "is present" + method + ": quantized checkpoints are not supported "
                    + "(expected unquantized F32/F16/BF16 weights)");
        }
        String act = c.optionalString("hidden_act");
        if (act != null && !act.equals("silu")) {
            throw c.error("hidden_act", c.raw("hidden_act"), "\"silu\" (the SwiGLU MLP of " + arch.className() + ")");
        }
        Boolean mlpBias = c.optionalBoolean("mlp_bias");
        if (mlpBias != null && mlpBias) {
            throw c.error("mlp_bias", c.raw("mlp_bias"), "false (MLP biases are not supported)");
        }
        int hidden = c.requiredInt("hidden_size");
        int heads = c.requiredInt("num_attention_heads");
        Integer headDim = c.optionalInt("head_dim");
        boolean attentionBias = switch (arch) {
            case LLAMA, MISTRAL -> c.booleanOr("attention_bias", false); // Mistral: the record refuses true
            case QWEN2 -> true; // Qwen2Attention always builds q/k/v with bias
        };
        Integer slidingWindow = arch == ModelArchitecture.LLAMA ? null : c.optionalInt("sliding_window");
        boolean useSlidingWindow = switch (arch) {
            case LLAMA -> false;
            case MISTRAL -> slidingWindow != null;
            case QWEN2 -> c.booleanOr("use_sliding_window", false);
        };
        Rope rope = rope(c);
        try {
            int hd = headDim != null ? headDim : defaultHeadDim(hidden, heads);
            return new ModelConfig(arch, hidden, c.requiredInt("intermediate_size"), c.requiredInt("num_hidden_layers"),
                    heads, c.intOr("num_key_value_heads", heads), hd, c.doubleOr("rms_norm_eps", 1e-6), rope.theta(),
                    rope.scaling(), c.requiredInt("max_position_embeddings"), c.booleanOr("tie_word_embeddings", false),
                    c.requiredInt("vocab_size"), c.optionalInt("bos_token_id"), c.intOrIntList("eos_token_id"),
                    c.optionalInt("pad_token_id"), dtype(c), attentionBias, slidingWindow, useSlidingWindow);
        } catch (BadInputException e) {
            if (e.getMessage().startsWith(c.where() + ": ")) {
                throw e;
            }
            throw new BadInputException(c.where() + ": " + e.getMessage());
        }
    }

    /**
     * True for the record {@code lorakit compress} writes ({@code "quant_method": "lorakit"}):
     * its tensors carry their own block types (safetensors metadata), so the loader needs nothing
     * from it. Other methods (GPTQ, AWQ, bitsandbytes...) store weights lorakit cannot read.
     */
    private static boolean isLorakitQuantization(JsonNode q) {
        return q.isObject() && q.path("quant_method").isTextual() && q.get("quant_method").textValue().equals("lorakit");
    }

    private static ModelArchitecture architecture(ConfigJson c) {
        JsonNode archs = c.raw("architectures");
        String expected = "a list naming one of " + ModelArchitecture.supportedNames();
        if (archs == null) {
            String type = c.optionalString("model_type");
            Optional<ModelArchitecture> byType = type == null ? Optional.empty() : ModelArchitecture.fromModelType(type);
            if (byType.isPresent()) {
                return byType.get();
            }
            throw c.error("architectures", null, expected);
        }
        if (!archs.isArray() || archs.isEmpty()) {
            throw c.error("architectures", archs, expected);
        }
        for (JsonNode a : archs) {
            if (!a.isTextual()) {
                throw c.error("architectures", archs, expected);
            }
            Optional<ModelArchitecture> found = ModelArchitecture.fromClassName(a.textValue());
            if (found.isPresent()) {
                return found.get();
            }
        }
        throw c.fieldError("architectures", "is " + ConfigJson.describe(archs) + ", which lorakit does not support "
                + "(supported: " + ModelArchitecture.supportedNames() + ")");
    }

    private static DType dtype(ConfigJson c) {
        String newer = c.optionalString("dtype");
        String older = c.optionalString("torch_dtype");
        if (newer != null && older != null && !newer.equals(older)) {
            throw c.fieldError("dtype", "is \"" + newer + "\" but torch_dtype is \"" + older + "\" (expected them to agree)");
        }
        String field = newer != null ? "dtype" : "torch_dtype";
        String name = newer != null ? newer : older;
        if (name == null) {
            return DType.F32;
        }
        DType d = DType.fromTorchName(name);
        if (d == null || !d.isCompute()) {
            throw c.error(field, c.raw(field), "\"float32\", \"float16\" or \"bfloat16\"");
        }
        return d;
    }

    private record Rope(double theta, RopeScaling scaling) {
    }

    /** rope_theta + rope_scaling, or transformers 5's rope_parameters holding both. */
    private static Rope rope(ConfigJson c) {
        ConfigJson params = c.object("rope_parameters");
        if (params != null) {
            double theta = params.has("rope_theta") ? params.doubleOr("rope_theta", 10000) : c.doubleOr("rope_theta", 10000);
            return new Rope(theta, scaling(params, "rope_parameters"));
        }
        return new Rope(c.doubleOr("rope_theta", 10000), scaling(c.object("rope_scaling"), "rope_scaling"));
    }

    private static RopeScaling scaling(ConfigJson s, String field) {
        if (s == null) {
            return null;
        }
        String type = s.optionalString("rope_type");
        String legacy = s.optionalString("type");
        if (type != null && legacy != null && !type.equals(legacy)) {
            throw s.fieldError("type", "is \"" + legacy + "\" but rope_type is \"" + type + "\" (expected them to agree)");
        }
        String key = type != null ? "rope_type" : "type";
        String kind = type != null ? type : legacy;
        String supported = "\"default\", \"linear\" or \"llama3\"";
        if (kind == null) {
            throw s.error("rope_type", null, supported);
        }
        try {
            return switch (kind) {
                case "default" -> null;
                case "linear" -> RopeScaling.linear(required(s, "factor"));
                case "llama3" -> RopeScaling.llama3(required(s, "factor"), required(s, "low_freq_factor"),
                        required(s, "high_freq_factor"), s.requiredInt("original_max_position_embeddings"));
                default -> throw s.fieldError(key, "is \"" + kind + "\", which lorakit does not support (expected "
                        + supported + ")");
            };
        } catch (BadInputException e) {
            String msg = e.getMessage().replace("field \"rope_scaling.", "field \"" + field + ".");
            throw msg.startsWith(s.where() + ": ") ? new BadInputException(msg) : new BadInputException(s.where() + ": " + msg);
        }
    }

    private static double required(ConfigJson s, String field) {
        Double v = s.optionalDouble(field);
        if (v == null) {
            throw s.error(field, null, "a number");
        }
        return v;
    }

    static String toJson(ModelConfig m) {
        ObjectNode o = ConfigJson.JSON.createObjectNode();
        o.putArray("architectures").add(m.architecture().className());
        o.put("model_type", m.architecture().modelType());
        o.put("attention_dropout", 0.0);
        if (m.architecture() == ModelArchitecture.LLAMA) {
            o.put("attention_bias", m.attentionBias());
            o.put("mlp_bias", false);
        }
        if (m.bosTokenId() != null) {
            o.put("bos_token_id", m.bosTokenId());
        }
        if (m.eosTokenIds().size() == 1) {
            o.put("eos_token_id", m.eosTokenIds().getFirst());
        } else if (!m.eosTokenIds().isEmpty()) {
            ArrayNode eos = o.putArray("eos_token_id");
            m.eosTokenIds().forEach(eos::add);
        }
        if (m.padTokenId() != null) {
            o.put("pad_token_id", m.padTokenId());
        }
        o.put("head_dim", m.headDim());
        o.put("hidden_act", "silu");
        o.put("hidden_size", m.hiddenSize());
        o.put("intermediate_size", m.intermediateSize());
        o.put("max_position_embeddings", m.maxPositionEmbeddings());
        o.put("num_attention_heads", m.numAttentionHeads());
        o.put("num_hidden_layers", m.numHiddenLayers());
        o.put("num_key_value_heads", m.numKeyValueHeads());
        o.put("rms_norm_eps", m.rmsNormEps());
        RopeScaling rs = m.ropeScaling();
        if (rs == null) {
            o.putNull("rope_scaling");
        } else {
            rs.writeTo(o.putObject("rope_scaling"));
        }
        o.put("rope_theta", m.ropeTheta());
        if (m.architecture() != ModelArchitecture.LLAMA) {
            if (m.slidingWindow() == null) {
                o.putNull("sliding_window");
            } else {
                o.put("sliding_window", m.slidingWindow());
            }
        }
        if (m.architecture() == ModelArchitecture.QWEN2) {
            o.put("use_sliding_window", m.useSlidingWindow());
        }
        o.put("tie_word_embeddings", m.tieWordEmbeddings());
        o.put("torch_dtype", m.torchDtype().torchName());
        o.put("use_cache", true);
        o.put("vocab_size", m.vocabSize());
        return ConfigJson.format(o);
    }
}
