package dev.lorakit.io.peft;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The parts of a PEFT {@code adapter_config.json} that decide what a LoRA adapter computes,
 * validated. For a module the update is {@code dW = scaling * B A} with
 * {@code scaling = alpha / r} ({@code alpha / sqrt(r)} with rsLoRA), where r and alpha come from
 * {@code rank_pattern} / {@code alpha_pattern} when a key matches the module name (first match in
 * map order, as PEFT does) and from {@code r} / {@code lora_alpha} otherwise.
 *
 * <p>Only plain LoRA is representable: {@link #read} refuses DoRA, {@code lora_bias}, trained
 * biases, {@code modules_to_save}, initialisations that modify the base weights (PiSSA, OLoRA,
 * CorDA, LoftQ, LoRA-GA) and the other variants lorakit cannot apply faithfully.
 *
 * <p>The constructor throws {@link IllegalArgumentException} whose message names the JSON field;
 * {@link #read} turns that into a {@link dev.lorakit.BadInputException} naming the file.
 *
 * @param r default rank ({@code r}, PEFT default 8)
 * @param loraAlpha default alpha ({@code lora_alpha}, PEFT default 8)
 * @param useRslora rank-stabilised scaling alpha / sqrt(r) ({@code use_rslora})
 * @param rankPattern per-module rank overrides, in match order ({@code rank_pattern})
 * @param alphaPattern per-module alpha overrides, in match order ({@code alpha_pattern})
 * @param targetModules modules that carry a LoRA ({@code target_modules})
 * @param excludeModules modules excluded from targeting, or null ({@code exclude_modules})
 * @param layersToTransform layer indices targeted; empty means all ({@code layers_to_transform})
 * @param layersPattern names of the layer lists, empty means any ({@code layers_pattern})
 * @param fanInFanOut the base weight is stored [in, out] ({@code fan_in_fan_out}); PEFT forces it
 *     to false for {@code nn.Linear} layers, i.e. for every Llama-family module
 * @param loraDropout training-time dropout on the LoRA input ({@code lora_dropout})
 * @param initLoraWeights {@code "true"}, {@code "false"}, {@code "gaussian"}, {@code "eva"} or
 *     {@code "orthogonal"} ({@code init_lora_weights}; none of these touches the base weights)
 * @param taskType PEFT task type, e.g. {@code "CAUSAL_LM"}, or null ({@code task_type})
 * @param baseModelNameOrPath the base model's hub id or path, or null
 * @param revision the base model's revision, or null
 * @param inferenceMode PEFT's {@code inference_mode} (save_pretrained writes true)
 * @param peftVersion the PEFT version that wrote the file, or null ({@code peft_version})
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        boolean useRslora,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        TargetModules targetModules,
        TargetModules excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        boolean fanInFanOut,
        double loraDropout,
        String initLoraWeights,
        String taskType,
        String baseModelNameOrPath,
        String revision,
        boolean inferenceMode,
        String peftVersion) {

    /** Values of {@code init_lora_weights} that initialise only A and B (base weights untouched). */
    public static final Set<String> PLAIN_INITIALISATIONS = Set.of("true", "false", "gaussian", "eva", "orthogonal");

    /** The task type lorakit writes: causal language modelling. */
    public static final String CAUSAL_LM = "CAUSAL_LM";

    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("field \"r\" must be a positive integer, got " + r);
        }
        requireFinite(loraAlpha, "lora_alpha");
        requireFinite(loraDropout, "lora_dropout");
        if (loraDropout < 0 || loraDropout > 1) {
            throw new IllegalArgumentException("field \"lora_dropout\" must be in [0, 1], got " + loraDropout);
        }
        rankPattern = orderedCopy(rankPattern, "rank_pattern");
        for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
            PeftPatterns.checkPatternKey(e.getKey(), "field \"rank_pattern\"");
            if (e.getValue() <= 0) {
                throw new IllegalArgumentException("field \"rank_pattern\" value for \"" + e.getKey()
                        + "\" must be a positive integer, got " + e.getValue());
            }
        }
        alphaPattern = orderedCopy(alphaPattern, "alpha_pattern");
        for (Map.Entry<String, Double> e : alphaPattern.entrySet()) {
            PeftPatterns.checkPatternKey(e.getKey(), "field \"alpha_pattern\"");
            requireFinite(e.getValue(), "alpha_pattern\" value for \"" + e.getKey());
        }
        if (targetModules == null) {
            throw new IllegalArgumentException("field \"target_modules\" is missing or null (PEFT would guess it from"
                    + " the model architecture); list the target modules explicitly, e.g. [\"q_proj\", \"v_proj\"]");
        }
        if (targetModules instanceof TargetModules.Regex(String p) && TargetModules.isAllLinear(p)) {
            throw new IllegalArgumentException("field \"target_modules\": \"" + p
                    + "\" is PEFT's all-linear shorthand; use TargetModules.AllLinear");
        }
        if (excludeModules instanceof TargetModules.AllLinear) {
            throw new IllegalArgumentException("field \"exclude_modules\" cannot be the all-linear shorthand");
        }
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        for (int layer : layersToTransform) {
            if (layer < 0) {
                throw new IllegalArgumentException("field \"layers_to_transform\" must hold non-negative layer indices, got "
                        + layersToTransform);
            }
        }
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        for (String p : layersPattern) {
            PeftPatterns.checkLayerPattern(p, "field \"layers_pattern\"");
        }
        if (targetModules instanceof TargetModules.Regex && !layersToTransform.isEmpty()) {
            throw new IllegalArgumentException("field \"layers_to_transform\" cannot be used when \"target_modules\" is a"
                    + " regex string (PEFT refuses this combination too)");
        }
        if (targetModules instanceof TargetModules.Regex && !layersPattern.isEmpty()) {
            throw new IllegalArgumentException("field \"layers_pattern\" cannot be used when \"target_modules\" is a"
                    + " regex string (PEFT refuses this combination too)");
        }
        if (targetModules instanceof TargetModules.AllLinear && !layersToTransform.isEmpty()) {
            throw new IllegalArgumentException("field \"layers_to_transform\" together with \"target_modules\": \"all-linear\""
                    + " is not supported (which layers PEFT adapts then depends on the model); list the target modules instead");
        }
        if (!layersPattern.isEmpty() && layersToTransform.isEmpty()) {
            throw new IllegalArgumentException("field \"layers_pattern\" is set but \"layers_to_transform\" is not"
                    + " (PEFT refuses this combination too)");
        }
        Objects.requireNonNull(initLoraWeights, "initLoraWeights");
        if (!PLAIN_INITIALISATIONS.contains(initLoraWeights)) {
            throw new IllegalArgumentException("field \"init_lora_weights\" is \"" + initLoraWeights
                    + "\"; expected one of true, false, \"gaussian\", \"eva\", \"orthogonal\"");
        }
    }

    /** A builder with PEFT's defaults (r = lora_alpha = 8, task CAUSAL_LM, inference mode on). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * The config of a merged adapter with rank k stored in plain factors: r = lora_alpha = k
     * (scaling 1), no rsLoRA, no patterns, {@code target_modules} = the distinct last name
     * components of the given modules (e.g. ["down_proj", "q_proj"]).
     */
    public static LoraConfig forMerged(int k, Collection<String> moduleNames, String baseModelNameOrPath) {
        if (moduleNames.isEmpty()) {
            throw new IllegalArgumentException("a merged adapter needs at least one module");
        }
        return builder().r(k).loraAlpha(k).targetModules(TargetModules.suffixesOf(moduleNames))
                .baseModelNameOrPath(baseModelNameOrPath).build();
    }

    /** Reads and validates an adapter_config.json; every problem is a BadInputException naming the file and field. */
    public static LoraConfig read(Path file) {
        return LoraConfigJson.read(file);
    }

    /** Parses adapter_config.json text; {@code where} names the source in error messages. */
    public static LoraConfig parse(String json, String where) {
        return LoraConfigJson.parse(json, where);
    }

    /** This config as adapter_config.json text, with every key a current PEFT writes. */
    public String toJson() {
        return LoraConfigJson.write(this);
    }

    /** The rank_pattern key PEFT would use for this module, if any. */
    public Optional<String> rankPatternKey(String moduleName) {
        return Optional.ofNullable(PeftPatterns.firstMatchingKey(rankPattern.keySet(), moduleName));
    }

    /** The alpha_pattern key PEFT would use for this module, if any. */
    public Optional<String> alphaPatternKey(String moduleName) {
        return Optional.ofNullable(PeftPatterns.firstMatchingKey(alphaPattern.keySet(), moduleName));
    }

    /** The module's rank: its rank_pattern value if a key matches, else r. */
    public int rank(String moduleName) {
        return rankPatternKey(moduleName).map(rankPattern::get).orElse(r);
    }

    /** The module's alpha: its alpha_pattern value if a key matches, else lora_alpha. */
    public double alpha(String moduleName) {
        return alphaPatternKey(moduleName).map(alphaPattern::get).orElse(loraAlpha);
    }

    /** The module's scaling: alpha / sqrt(rank) with rsLoRA, alpha / rank otherwise. */
    public double scaling(String moduleName) {
        return scaling(alpha(moduleName), rank(moduleName), useRslora);
    }

    /** PEFT's scaling formula. */
    public static double scaling(double alpha, int rank, boolean useRslora) {
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * True if PEFT would put a LoRA on this module (name relative to the base model, e.g.
     * {@code model.layers.0.self_attn.q_proj}): not excluded, selected by target_modules, and for
     * suffix matches in one of layers_to_transform. An exact name in the target list is selected
     * whatever layers_to_transform says, as in PEFT.
     */
    public boolean targets(String moduleName) {
        if (excludeModules != null && excludeModules.matches(moduleName)) {
            return false;
        }
        if (!(targetModules instanceof TargetModules.Names(List<String> names))) {
            return targetModules.matches(moduleName);
        }
        if (names.contains(moduleName)) {
            return true;
        }
        if (!PeftPatterns.listMatch(names, moduleName)) {
            return false;
        }
        if (layersToTransform.isEmpty()) {
            return true;
        }
        long layer = PeftPatterns.layerIndex(layersPattern, moduleName);
        return layer >= 0 && layer <= Integer.MAX_VALUE && layersToTransform.contains((int) layer);
    }

    private static void requireFinite(double v, String field) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("field \"" + field + "\" must be a finite number, got " + v);
        }
    }

    private static <V> Map<String, V> orderedCopy(Map<String, V> map, String field) {
        if (map == null) {
            return Map.of();
        }
        LinkedHashMap<String, V> copy = new LinkedHashMap<>();
        for (Map.Entry<String, V> e : map.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("field \"" + field + "\" has a null key or value");
            }
            copy.put(e.getKey(), e.getValue());
        }
        return Collections.unmodifiableMap(copy);
    }

    /** Builds a {@link LoraConfig}; unset values take PEFT's defaults. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 8;
        private boolean useRslora;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private TargetModules targetModules;
        private TargetModules excludeModules;
        private List<Integer> layersToTransform = List.of();
        private List<String> layersPattern = List.of();
        private boolean fanInFanOut;
        private double loraDropout;
        private String initLoraWeights = "true";
        private String taskType = CAUSAL_LM;
        private String baseModelNameOrPath;
        private String revision;
        private boolean inferenceMode = true;
        private String peftVersion;

        private Builder() {
        }

        private Builder(LoraConfig c) {
            r = c.r;
            loraAlpha = c.loraAlpha;
            useRslora = c.useRslora;
            rankPattern = c.rankPattern;
            alphaPattern = c.alphaPattern;
            targetModules = c.targetModules;
            excludeModules = c.excludeModules;
            layersToTransform = c.layersToTransform;
            layersPattern = c.layersPattern;
            fanInFanOut = c.fanInFanOut;
            loraDropout = c.loraDropout;
            initLoraWeights = c.initLoraWeights;
            taskType = c.taskType;
            baseModelNameOrPath = c.baseModelNameOrPath;
            revision = c.revision;
            inferenceMode = c.inferenceMode;
            peftVersion = c.peftVersion;
        }

        public Builder r(int v) { r = v; return this; }

        public Builder loraAlpha(double v) { loraAlpha = v; return this; }

        public Builder useRslora(boolean v) { useRslora = v; return this; }

        /** Rank overrides; iteration order is match order (pass a LinkedHashMap). */
        public Builder rankPattern(Map<String, Integer> v) { rankPattern = v; return this; }

        /** Alpha overrides; iteration order is match order (pass a LinkedHashMap). */
        public Builder alphaPattern(Map<String, Double> v) { alphaPattern = v; return this; }

        public Builder targetModules(TargetModules v) { targetModules = v; return this; }

        /** A names/suffixes list, the usual form. */
        public Builder targetModules(String... names) { targetModules = TargetModules.names(names); return this; }

        public Builder excludeModules(TargetModules v) { excludeModules = v; return this; }

        public Builder layersToTransform(List<Integer> v) { layersToTransform = v; return this; }

        public Builder layersPattern(List<String> v) { layersPattern = v; return this; }

        public Builder fanInFanOut(boolean v) { fanInFanOut = v; return this; }

        public Builder loraDropout(double v) { loraDropout = v; return this; }

        public Builder initLoraWeights(String v) { initLoraWeights = v; return this; }

        public Builder taskType(String v) { taskType = v; return this; }

        public Builder baseModelNameOrPath(String v) { baseModelNameOrPath = v; return this; }

        public Builder revision(String v) { revision = v; return this; }

        public Builder inferenceMode(boolean v) { inferenceMode = v; return this; }

        public Builder peftVersion(String v) { peftVersion = v; return this; }

        public LoraConfig build() {
            return new LoraConfig(r, loraAlpha, useRslora, rankPattern, alphaPattern, targetModules, excludeModules,
                    layersToTransform, layersPattern, fanInFanOut, loraDropout, initLoraWeights, taskType,
                    baseModelNameOrPath, revision, inferenceMode, peftVersion);
        }
    }
}
