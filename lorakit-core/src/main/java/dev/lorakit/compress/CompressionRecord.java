package dev.lorakit.compress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What {@code lorakit compress} did to a model, as recorded in the output's config.json:
 *
 * <pre>
 * "quantization_config": {"quant_method": "lorakit", "format": "q4_0", "block_size": 32,
 *     "bits_per_weight": 4.5, "modules": ["q_proj", ..., "down_proj", "lm_head"]},
 * "lorakit_pruning": {
 *     "method": "wanda", "sparsity": 0.5,            (or "pattern": "2:4")
 *     "comparison_group": "output_row",              (or "input_group_of_4")
 *     "modules": ["q_proj", ..., "down_proj"], "zero_fraction": 0.5,
 *     "calibration": {"file": "calib.jsonl", "samples": 32, "tokens": 8192, "seq_len": 256},
 *     "structured": {"target": "ffn_channels", "score": "activation_weighted",
 *         "original_intermediate_size": 5632, "intermediate_size": 4096,
 *         "kept_channels_file": "pruning.json"}}
 * </pre>
 * Every part is optional: no quantization_config without quantization; no lorakit_pruning
 * without pruning; method/sparsity/pattern/comparison_group/modules/zero_fraction only with
 * element-wise pruning, calibration only when calibration data was used, structured only with
 * FFN-channel pruning (the kept channels themselves are in {@link FfnPruning#FILE_NAME}).
 * The quantized tensors describe themselves (safetensors metadata); lorakit's loader reads them
 * without this record, which is for people and for CA-LoRA.
 *
 * @param quantization the quantization, or null
 * @param pruning element-wise (unstructured or N:M) pruning, or null
 * @param calibration the calibration data used, or null
 * @param structured FFN-channel pruning, or null
 */
public record CompressionRecord(Quantization quantization, Pruning pruning, Calibration calibration, Structured structured) {
    /** config.json key of the quantization record (Hugging Face's name for it). */
    public static final String QUANTIZATION_KEY = "quantization_config";
    /** config.json key of the pruning record. */
    public static final String PRUNING_KEY = "lorakit_pruning";
    /** quant_method of lorakit's block quantization. */
    public static final String QUANT_METHOD = "lorakit";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Block quantization.
     *
     * @param format Q8_0 or Q4_0
     * @param modules module names quantized in every layer ("q_proj", ...) plus "lm_head" if it was
     * @param unquantized projections left in their dtype because their input dimension is not a
     *     multiple of the block size (config key "modules_not_quantized", written when not empty)
     */
    public record Quantization(DType format, List<String> modules, List<String> unquantized) {
        public Quantization {
            modules = List.copyOf(modules);
            unquantized = List.copyOf(unquantized);
        }

        /** A quantization of every listed module (none left out). */
        public Quantization(DType format, List<String> modules) {
            this(format, modules, List.of());
        }

        /** Stored bits per quantized weight: 8.5 (Q8_0) or 4.5 (Q4_0). */
        public double bitsPerWeight() {
            return 8.0 * format.blockBytes() / format.blockSize();
        }
    }

    /**
     * Element-wise pruning.
     *
     * @param method the score
     * @param sparsity unstructured sparsity, or null
     * @param pattern N:M pattern, or null
     * @param modules module names pruned in every layer
     * @param zeroFraction measured fraction of exact zeros in the pruned weights
     */
    public record Pruning(PruneMethod method, Double sparsity, NmSparsity pattern, List<String> modules, double zeroFraction) {
        public Pruning {
            modules = List.copyOf(modules);
        }

        /** "output_row" (unstructured) or "input_group_of_M" (N:M). */
        public String comparisonGroup() {
            return pattern == null ? "output_row" : "input_group_of_" + pattern.m();
        }
    }

    /**
     * Calibration data.
     *
     * @param file the file name (without its directory)
     * @param samples sequences used
     * @param tokens tokens run
     * @param seqLen the per-sequence token limit
     */
    public record Calibration(String file, int samples, long tokens, int seqLen) {
    }

    /**
     * Structured FFN-channel pruning.
     *
     * @param score how channels were scored
     * @param originalIntermediateSize intermediate_size before
     * @param intermediateSize intermediate_size after (channels kept per layer)
     * @param keptChannelsFile the file in the model directory listing the kept channels
     */
    public record Structured(FfnPruning.Score score, int originalIntermediateSize, int intermediateSize,
                             String keptChannelsFile) {
    }

    /** True if nothing was recorded. */
    public boolean isEmpty() {
        return quantization == null && pruning == null && calibration == null && structured == null;
    }

    /** Adds (replaces) the quantization_config and lorakit_pruning sections of a config.json tree. */
    public void writeTo(ObjectNode config) {
        config.remove(QUANTIZATION_KEY);
        config.remove(PRUNING_KEY);
        if (quantization != null) {
            ObjectNode q = config.putObject(QUANTIZATION_KEY);
            q.put("quant_method", QUANT_METHOD);
            q.put("format", quantization.format().name().toLowerCase(Locale.ROOT));
            q.put("block_size", quantization.format().blockSize());
            q.put("bits_per_weight", quantization.bitsPerWeight());
            strings(q.putArray("modules"), quantization.modules());
            if (!quantization.unquantized().isEmpty()) {
                strings(q.putArray("modules_not_quantized"), quantization.unquantized());
            }
        }
        if (pruning == null && calibration == null && structured == null) {
            return;
        }
        ObjectNode p = config.putObject(PRUNING_KEY);
        if (pruning != null) {
            p.put("method", pruning.method().optionName());
            if (pruning.sparsity() != null) {
                p.put("sparsity", pruning.sparsity());
            }
            if (pruning.pattern() != null) {
                p.put("pattern", pruning.pattern().toString());
            }
            p.put("comparison_group", pruning.comparisonGroup());
            strings(p.putArray("modules"), pruning.modules());
            p.put("zero_fraction", pruning.zeroFraction());
        }
        if (calibration != null) {
            ObjectNode c = p.putObject("calibration");
            c.put("file", calibration.file());
            c.put("samples", calibration.samples());
            c.put("tokens", calibration.tokens());
            c.put("seq_len", calibration.seqLen());
        }
        if (structured != null) {
            ObjectNode s = p.putObject("structured");
            s.put("target", "ffn_channels");
            s.put("score", structured.score().jsonName());
            s.put("original_intermediate_size", structured.originalIntermediateSize());
            s.put("intermediate_size", structured.intermediateSize());
            s.put("kept_channels_file", structured.keptChannelsFile());
        }
    }

    private static void strings(ArrayNode a, List<String> values) {
        values.forEach(a::add);
    }

    /**
     * The record in a model directory's config.json, or empty if the model was not compressed by
     * lorakit (a quantization_config of another method counts as none).
     *
     * @throws BadInputException naming the file and field if a lorakit section is malformed
     */
    public static Optional<CompressionRecord> read(Path modelDir) {
        Path file = modelDir.resolve(ModelConfig.FILE_NAME);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(file + ": expected a JSON object");
        }
        CompressionRecord r = parse(file.toString(), root);
        return r.isEmpty() ? Optional.empty() : Optional.of(r);
    }

    /** The record held by a config.json tree; {@code where} names the file in messages. */
    public static CompressionRecord parse(String where, JsonNode config) {
        Quantization quantization = null;
        JsonNode q = config.path(QUANTIZATION_KEY);
        if (q.isObject() && QUANT_METHOD.equals(q.path("quant_method").asText(null))) {
            String f = text(where, q, QUANTIZATION_KEY, "format").toUpperCase(Locale.ROOT);
            DType format = switch (f) {
                case "Q8_0" -> DType.Q8_0;
                case "Q4_0" -> DType.Q4_0;
                default -> throw new BadInputException(where + ": field \"" + QUANTIZATION_KEY
                        + ".format\" must be \"q8_0\" or \"q4_0\", got \"" + f.toLowerCase(Locale.ROOT) + "\"");
            };
            quantization = new Quantization(format, stringList(where, q, QUANTIZATION_KEY, "modules"),
                    q.has("modules_not_quantized") ? stringList(where, q, QUANTIZATION_KEY, "modules_not_quantized") : List.of());
        }
        JsonNode p = config.path(PRUNING_KEY);
        if (!p.isObject()) {
            return new CompressionRecord(quantization, null, null, null);
        }
        Pruning pruning = null;
        if (p.has("method")) {
            PruneMethod method;
            try {
                method = PruneMethod.parse("method", text(where, p, PRUNING_KEY, "method"));
            } catch (BadInputException e) {
                throw new BadInputException(where + ": field \"" + PRUNING_KEY + ".method\" must be magnitude or wanda, got "
                        + p.get("method"));
            }
            Double sparsity = p.has("sparsity") ? p.get("sparsity").asDouble() : null;
            NmSparsity pattern = null;
            if (p.has("pattern")) {
                String text = text(where, p, PRUNING_KEY, "pattern");
                try {
                    pattern = NmSparsity.parse(text);
                } catch (BadInputException e) {
                    throw new BadInputException(where + ": field \"" + PRUNING_KEY + ".pattern\" must be N:M with 0 < N < M, got \""
                            + text + "\"");
                }
            }
            pruning = new Pruning(method, sparsity, pattern, stringList(where, p, PRUNING_KEY, "modules"),
                    p.path("zero_fraction").asDouble(Double.NaN));
        }
        Calibration calibration = null;
        JsonNode c = p.path("calibration");
        if (c.isObject()) {
            calibration = new Calibration(c.path("file").asText(""), c.path("samples").asInt(), c.path("tokens").asLong(),
                    c.path("seq_len").asInt());
        }
        Structured structured = null;
        JsonNode s = p.path("structured");
        if (s.isObject()) {
            String scoreName = s.path("score").asText("");
            FfnPruning.Score score = null;
            for (FfnPruning.Score v : FfnPruning.Score.values()) {
                if (v.jsonName().equals(scoreName)) {
                    score = v;
                }
            }
            if (score == null) {
                throw new BadInputException(where + ": field \"" + PRUNING_KEY + ".structured.score\" must be weight_norms or "
                        + "activation_weighted, got " + s.get("score"));
            }
            structured = new Structured(score, s.path("original_intermediate_size").asInt(), s.path("intermediate_size").asInt(),
                    text(where, s, PRUNING_KEY + ".structured", "kept_channels_file"));
        }
        return new CompressionRecord(quantization, pruning, calibration, structured);
    }

    private static String text(String where, JsonNode node, String section, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(where + ": field \"" + section + "." + field + "\" must be a string, got " + v);
        }
        return v.textValue();
    }

    private static List<String> stringList(String where, JsonNode node, String section, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray()) {
            throw new BadInputException(where + ": field \"" + section + "." + field + "\" must be a list of module names, got " + v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) {
                throw new BadInputException(where + ": field \"" + section + "." + field + "\" must hold strings, got " + e);
            }
            out.add(e.textValue());
        }
        return out;
    }
}
