package dev.lorakit.adapt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.train.LlamaTrainingModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The CA-LoRA options of an adaptation run (the training options proper are a
 * {@link dev.lorakit.train.TrainConfig}), validated, with their JSON form: saved as
 * {@value #FILE_NAME} in every checkpoint so that a resumed run must use the same ones.
 *
 * @param teacher         the uncompressed model directory (the teacher's base)
 * @param adapter         the existing LoRA, trained on the uncompressed model
 * @param inherit         start the task LoRA as an exact copy of {@code adapter} (sliced to a
 *                        structurally pruned model); false: a fresh PEFT-initialised LoRA
 * @param loraFromOptions without inheritance: the fresh LoRA's rank, alpha, rsLoRA and targets
 *                        come from the training options; false: from the existing adapter's config
 * @param recovery        train recovery modules beside the projections
 * @param recoveryRank    the recovery modules' rank, or null for each module's LoRA rank (the LoRA
 *                        config's default rank where the module has no LoRA)
 * @param recoveryTargets projections (q_proj ... down_proj) of every layer that get a recovery module
 * @param distill         add the distillation term (teacher = uncompressed model + existing LoRA)
 * @param kdWeight        lambda, the distillation term's weight (>= 0)
 * @param kdLayer         the compared hidden state: {@link LlamaTrainingModel#FINAL_HIDDEN} (the final
 *                        RMS-normed one) or the output of block N (0-based)
 */
public record AdaptConfig(String teacher, String adapter, boolean inherit, boolean loraFromOptions, boolean recovery,
                          Integer recoveryRank, List<String> recoveryTargets, boolean distill, double kdWeight, int kdLayer) {
    /** The file in a checkpoint directory. */
    public static final String FILE_NAME = "adapt_config.json";
    /** Every projection: the default recovery targets. */
    public static final List<String> ALL_PROJECTIONS = Arrays.stream(Projection.values()).map(Projection::moduleName).toList();
    /** JSON keys in the order written. */
    public static final List<String> KEYS = List.of("teacher", "adapter", "inherit", "lora_from_options", "recovery",
            "recovery_rank", "recovery_targets", "distill", "kd_weight", "kd_layer");

    private static final ObjectMapper JSON = new ObjectMapper();

    public AdaptConfig {
        Objects.requireNonNull(teacher, "teacher");
        Objects.requireNonNull(adapter, "adapter");
        recoveryTargets = List.copyOf(recoveryTargets);
        if (loraFromOptions && inherit) {
            throw new BadInputException("adapt: the LoRA options (--rank, --alpha, --rslora, --targets) shape a fresh LoRA and "
                    + "need --no-inherit (an inherited LoRA keeps the existing adapter's rank, alpha and modules)");
        }
        if (recoveryRank != null && recoveryRank < 1) {
            throw new BadInputException("--recovery-rank: expected a positive integer, got " + recoveryRank);
        }
        if (recoveryTargets.isEmpty()) {
            throw new BadInputException("--recovery-targets: expected one or more of " + String.join(",", ALL_PROJECTIONS));
        }
        for (String t : recoveryTargets) {
            if (!ALL_PROJECTIONS.contains(t)) {
                throw new BadInputException("--recovery-targets: \"" + t + "\" is not a projection; expected some of "
                        + String.join(",", ALL_PROJECTIONS));
            }
        }
        if (!(kdWeight >= 0) || !Double.isFinite(kdWeight)) {
            throw new BadInputException("--kd-weight: expected a number >= 0, got " + kdWeight);
        }
        if (kdLayer < LlamaTrainingModel.FINAL_HIDDEN) {
            throw new BadInputException("--kd-layer: expected final or a block index >= 0, got " + kdLayer);
        }
    }

    /** The defaults of full CA-LoRA (inheritance, recovery on all 7 projections, distillation with lambda 1 on the final hidden state). */
    public static AdaptConfig defaults(String teacher, String adapter) {
        return new AdaptConfig(teacher, adapter, true, false, true, null, ALL_PROJECTIONS, true, 1.0,
                LlamaTrainingModel.FINAL_HIDDEN);
    }

    /** The --kd-layer spelling of a hidden state: "final" or the block index. */
    public static String kdLayerName(int kdLayer) {
        return kdLayer == LlamaTrainingModel.FINAL_HIDDEN ? "final" : Integer.toString(kdLayer);
    }

    /**
     * Parses --kd-layer: "final" or a block index.
     *
     * @throws BadInputException for anything else
     */
    public static int parseKdLayer(String s) {
        if (s.equalsIgnoreCase("final")) {
            return LlamaTrainingModel.FINAL_HIDDEN;
        }
        try {
            int n = Integer.parseInt(s.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new BadInputException("--kd-layer: expected final or a block index N >= 0, got \"" + s + "\"");
    }

    /** The JSON form. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("teacher", teacher);
        o.put("adapter", adapter);
        o.put("inherit", inherit);
        o.put("lora_from_options", loraFromOptions);
        o.put("recovery", recovery);
        if (recoveryRank == null) {
            o.putNull("recovery_rank");
        } else {
            o.put("recovery_rank", recoveryRank);
        }
        ArrayNode t = o.putArray("recovery_targets");
        recoveryTargets.forEach(t::add);
        o.put("distill", distill);
        o.put("kd_weight", kdWeight);
        o.put("kd_layer", kdLayerName(kdLayer));
        return o;
    }

    /** The JSON text of {@link #FILE_NAME}. */
    public String toJsonText() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads the JSON form; every key must be present with its type.
     *
     * @param where names the source in errors
     */
    public static AdaptConfig fromJson(JsonNode node, String where) {
        if (node == null || !node.isObject()) {
            throw new BadInputException(where + ": expected a JSON object of adapt options");
        }
        for (String k : KEYS) {
            if (!node.has(k)) {
                throw new BadInputException(where + ": adapt option \"" + k + "\" is missing");
            }
        }
        JsonNode rank = node.get("recovery_rank");
        if (!rank.isNull() && !rank.canConvertToInt()) {
            throw new BadInputException(where + ": adapt option \"recovery_rank\" must be an integer or null, got " + rank);
        }
        JsonNode targets = node.get("recovery_targets");
        if (!targets.isArray()) {
            throw new BadInputException(where + ": adapt option \"recovery_targets\" must be a list, got " + targets);
        }
        List<String> t = new ArrayList<>();
        targets.forEach(x -> t.add(x.asText()));
        for (String k : List.of("inherit", "lora_from_options", "recovery", "distill")) {
            if (!node.get(k).isBoolean()) {
                throw new BadInputException(where + ": adapt option \"" + k + "\" must be true or false, got " + node.get(k));
            }
        }
        if (!node.get("kd_weight").isNumber()) {
            throw new BadInputException(where + ": adapt option \"kd_weight\" must be a number, got " + node.get("kd_weight"));
        }
        try {
            return new AdaptConfig(node.get("teacher").asText(), node.get("adapter").asText(), node.get("inherit").asBoolean(),
                    node.get("lora_from_options").asBoolean(), node.get("recovery").asBoolean(),
                    rank.isNull() ? null : rank.asInt(), t, node.get("distill").asBoolean(), node.get("kd_weight").asDouble(),
                    parseKdLayer(node.get("kd_layer").asText()));
        } catch (BadInputException e) {
            throw new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    /** The JSON keys whose values differ from {@code other}'s, in {@link #KEYS} order. */
    public List<String> differingKeys(AdaptConfig other) {
        ObjectNode a = toJson();
        ObjectNode b = other.toJson();
        List<String> out = new ArrayList<>();
        for (String k : KEYS) {
            if (!a.get(k).equals(b.get(k))) {
                out.add(k);
            }
        }
        return out;
    }
}
