package dev.lorakit.io.recovery;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * {@value #CONFIG_FILE}: what a CA-LoRA recovery module set holds, stored next to the PEFT LoRA
 * of the same task. Every module is listed with its rank and scale (ranks and scales follow the
 * task LoRA's, which may vary per module through rank_pattern/alpha_pattern or rsLoRA):
 * <pre>
 * {
 *   "format": "lorakit.recovery",
 *   "format_version": 1,
 *   "activation": "gelu",                      (exact erf GELU; the only one)
 *   "r": 8,                                    (the default rank, for people)
 *   "scaling": 2.0,                            (the default scale, for people)
 *   "target_modules": ["q_proj", ..., "down_proj"],
 *   "base_model_name_or_path": "path/of/compressed/model",   (may be null)
 *   "modules": {"model.layers.0.self_attn.q_proj": {"r": 8, "scaling": 2.0}, ...}
 * }
 * </pre>
 * The tensors are in {@value #WEIGHTS_FILE}: {@code base_model.model.<module>.recovery_D.weight}
 * [r, in] and {@code .recovery_U.weight} [out, r] (PEFT's key style), metadata {"format": "pt"}.
 * Module m's output gains {@code scaling_m * U_m GELU(D_m x)}.
 *
 * @param rank default rank
 * @param scaling default scale
 * @param targetModules projection names (q_proj, ...) carrying a recovery module
 * @param baseModel the model the modules were trained on, or null
 * @param modules every module's rank and scale, in file order
 */
public record RecoveryConfig(int rank, double scaling, List<String> targetModules, String baseModel,
                             Map<String, ModuleEntry> modules) {
    /** The config file of a recovery module set (beside adapter_config.json). */
    public static final String CONFIG_FILE = "recovery_config.json";
    /** The safetensors file of a recovery module set. */
    public static final String WEIGHTS_FILE = "recovery.safetensors";
    /** The value of "format". */
    public static final String FORMAT = "lorakit.recovery";
    /** The version written, and the newest read. */
    public static final int FORMAT_VERSION = 1;
    /** The only activation: GELU with the exact erf. */
    public static final String ACTIVATION = "gelu";
    /** Key prefix (as PEFT's). */
    public static final String PREFIX = "base_model.model.";
    /** Suffix of D [r, in]. */
    public static final String D_SUFFIX = ".recovery_D.weight";
    /** Suffix of U [out, r]. */
    public static final String U_SUFFIX = ".recovery_U.weight";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One module's entry.
     *
     * @param rank its rank
     * @param scaling its scale
     */
    public record ModuleEntry(int rank, double scaling) {
        public ModuleEntry {
            if (rank < 1 || !Double.isFinite(scaling)) {
                throw new IllegalArgumentException("recovery module rank " + rank + " and scaling " + scaling
                        + " must be >= 1 and finite");
            }
        }
    }

    public RecoveryConfig {
        targetModules = List.copyOf(targetModules);
        modules = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(modules, "modules")));
        if (rank < 1 || !Double.isFinite(scaling)) {
            throw new IllegalArgumentException("recovery rank " + rank + " and scaling " + scaling + " must be >= 1 and finite");
        }
    }

    /** The tensor key of D of a module. */
    public static String keyD(String module) {
        return PREFIX + module + D_SUFFIX;
    }

    /** The tensor key of U of a module. */
    public static String keyU(String module) {
        return PREFIX + module + U_SUFFIX;
    }

    /** True if {@code dir} holds a recovery module set (its config file). */
    public static boolean isPresent(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG_FILE));
    }

    /** The JSON text (2-space indented, trailing newline). */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", FORMAT);
        o.put("format_version", FORMAT_VERSION);
        o.put("activation", ACTIVATION);
        o.put("r", rank);
        o.put("scaling", scaling);
        ArrayNode t = o.putArray("target_modules");
        targetModules.forEach(t::add);
        if (baseModel == null) {
            o.putNull("base_model_name_or_path");
        } else {
            o.put("base_model_name_or_path", baseModel);
        }
        ObjectNode m = o.putObject("modules");
        modules.forEach((name, e) -> {
            ObjectNode n = m.putObject(name);
            n.put("r", e.rank());
            n.put("scaling", e.scaling());
        });
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads and validates {@code file}.
     *
     * @throws BadInputException naming the file and field
     */
    public static RecoveryConfig read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses the JSON text; {@code where} names the source in errors. */
    public static RecoveryConfig parse(String text, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": expected a JSON object");
        }
        if (!FORMAT.equals(root.path("format").asText(null))) {
            throw new BadInputException(where + ": field \"format\" must be \"" + FORMAT + "\", got " + root.get("format"));
        }
        JsonNode v = root.get("format_version");
        if (v == null || !v.isIntegralNumber() || v.asLong() < 1) {
            throw new BadInputException(where + ": field \"format_version\" must be a positive integer, got " + v);
        }
        if (v.asLong() > FORMAT_VERSION) {
            throw new BadInputException(where + ": format_version " + v.asLong() + " is newer than this lorakit reads ("
                    + FORMAT_VERSION + ")");
        }
        if (!ACTIVATION.equals(root.path("activation").asText(null))) {
            throw new BadInputException(where + ": field \"activation\" must be \"" + ACTIVATION + "\", got "
                    + root.get("activation"));
        }
        int rank = positiveInt(root, "r", where, "r");
        double scaling = finite(root, "scaling", where, "scaling");
        JsonNode t = root.get("target_modules");
        if (t == null || !t.isArray()) {
            throw new BadInputException(where + ": field \"target_modules\" must be a list of module names, got " + t);
        }
        List<String> targets = new ArrayList<>();
        for (JsonNode x : t) {
            if (!x.isTextual()) {
                throw new BadInputException(where + ": field \"target_modules\" must hold strings, got " + x);
            }
            targets.add(x.asText());
        }
        JsonNode base = root.get("base_model_name_or_path");
        if (base != null && !base.isNull() && !base.isTextual()) {
            throw new BadInputException(where + ": field \"base_model_name_or_path\" must be a string or null, got " + base);
        }
        JsonNode mods = root.get("modules");
        if (mods == null || !mods.isObject() || mods.isEmpty()) {
            throw new BadInputException(where + ": field \"modules\" must be a non-empty object of module: {r, scaling}");
        }
        Map<String, ModuleEntry> modules = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : mods.properties()) {
            String field = "modules." + e.getKey();
            if (!e.getValue().isObject()) {
                throw new BadInputException(where + ": field \"" + field + "\" must be an object {r, scaling}");
            }
            modules.put(e.getKey(), new ModuleEntry(positiveInt(e.getValue(), "r", where, field + ".r"),
                    finite(e.getValue(), "scaling", where, field + ".scaling")));
        }
        return new RecoveryConfig(rank, scaling, targets, base == null || base.isNull() ? null : base.asText(), modules);
    }

    private static int positiveInt(JsonNode node, String key, String where, String field) {
        JsonNode v = node.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new BadInputException(where + ": field \"" + field + "\" must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static double finite(JsonNode node, String key, String where, String field) {
        JsonNode v = node.get(key);
        if (v == null || !v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw new BadInputException(where + ": field \"" + field + "\" must be a finite number, got " + v);
        }
        return v.doubleValue();
    }
}
