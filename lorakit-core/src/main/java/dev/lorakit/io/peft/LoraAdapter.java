package dev.lorakit.io.peft;

import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter directory opened for reading: adapter_config.json as a {@link LoraConfig}
 * and adapter_model.safetensors memory-mapped, its factors exposed as {@link LoraModule}s (in
 * file order) whose tensors stay in the stored dtype and are valid until {@link #close}.
 *
 * <p>Opening validates everything PEFT relies on and refuses, with one clear
 * {@link BadInputException} naming the file and tensor, what lorakit cannot apply faithfully:
 * DoRA magnitudes, LoRA biases, embedding LoRAs, full module copies (modules_to_save, saved
 * embeddings, trained biases), keys that still carry an adapter name, pickle-only adapters,
 * unpaired or mis-shaped factors, ranks that disagree with the config and modules the config
 * does not target (PEFT would not load those).
 */
public final class LoraAdapter implements AutoCloseable {
    /** A factor key that still holds the adapter name, as in a raw PyTorch state_dict. */
    private static final Pattern NAMED_FACTOR = Pattern.compile("(.+)\\.lora_[AB]\\.([^.]+)\\.weight");

    private final Path directory;
    private final LoraConfig config;
    private final SafetensorsFile weights;
    private final List<LoraModule> modules;
    private final Map<String, LoraModule> byName;

    private LoraAdapter(Path directory, LoraConfig config, SafetensorsFile weights, List<LoraModule> modules) {
        this.directory = directory;
        this.config = config;
        this.weights = weights;
        this.modules = List.copyOf(modules);
        Map<String, LoraModule> map = new LinkedHashMap<>();
        for (LoraModule m : modules) {
            map.put(m.name(), m);
        }
        this.byName = Collections.unmodifiableMap(map);
    }

    /** Opens and validates a PEFT LoRA adapter directory. */
    public static LoraAdapter open(Path dir) {
        if (!Files.exists(dir)) {
            throw new BadInputException(dir + ": no such directory (expected a PEFT adapter directory with "
                    + PeftKeys.CONFIG_FILE + " and " + PeftKeys.WEIGHTS_FILE + ")");
        }
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a directory (expected a PEFT adapter directory with "
                    + PeftKeys.CONFIG_FILE + " and " + PeftKeys.WEIGHTS_FILE + ")");
        }
        Path configFile = dir.resolve(PeftKeys.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new BadInputException(configFile + ": missing; a PEFT adapter directory holds "
                    + PeftKeys.CONFIG_FILE + " next to " + PeftKeys.WEIGHTS_FILE);
        }
        LoraConfig config = LoraConfig.read(configFile);
        Path weightsFile = dir.resolve(PeftKeys.WEIGHTS_FILE);
        if (!Files.isRegularFile(weightsFile)) {
            if (Files.isRegularFile(dir.resolve(PeftKeys.PICKLE_WEIGHTS_FILE))) {
                throw new BadInputException(dir.resolve(PeftKeys.PICKLE_WEIGHTS_FILE) + ": pickle weights are not read"
                        + " (loading pickle can run arbitrary code); convert the adapter to " + PeftKeys.WEIGHTS_FILE
                        + " first, e.g. with PEFT: PeftModel.from_pretrained(...).save_pretrained(dir, safe_serialization=True)");
            }
            throw new BadInputException(weightsFile + ": missing; a PEFT adapter directory holds "
                    + PeftKeys.WEIGHTS_FILE + " next to " + PeftKeys.CONFIG_FILE);
        }
        SafetensorsFile weights = SafetensorsFile.open(weightsFile);
        try {
            return new LoraAdapter(dir, config, weights, readModules(weightsFile.toString(), config, weights));
        } catch (RuntimeException | Error e) {
            weights.close();
            throw e;
        }
    }

    private static List<LoraModule> readModules(String where, LoraConfig config, SafetensorsFile weights) {
        Map<String, String[]> pairs = new LinkedHashMap<>(); // module -> {key of A, key of B}, file order
        for (String key : weights.names()) {
            String rest = key.startsWith(PeftKeys.PREFIX) ? key.substring(PeftKeys.PREFIX.length()) : null;
            int which;
            String module;
            if (rest != null && rest.endsWith(PeftKeys.LORA_A_SUFFIX)) {
                which = 0;
                module = rest.substring(0, rest.length() - PeftKeys.LORA_A_SUFFIX.length());
            } else if (rest != null && rest.endsWith(PeftKeys.LORA_B_SUFFIX)) {
                which = 1;
                module = rest.substring(0, rest.length() - PeftKeys.LORA_B_SUFFIX.length());
            } else {
                throw refusal(where, key);
            }
            if (module.isEmpty()) {
                throw new BadInputException(where + ": tensor \"" + key + "\": no module name between \""
                        + PeftKeys.PREFIX + "\" and the factor suffix");
            }
            pairs.computeIfAbsent(module, m -> new String[2])[which] = key;
        }
        if (pairs.isEmpty()) {
            throw new BadInputException(where + ": holds no LoRA factors (expected keys like "
                    + PeftKeys.loraA("model.layers.0.self_attn.q_proj") + ")");
        }
        List<LoraModule> modules = new ArrayList<>(pairs.size());
        for (Map.Entry<String, String[]> e : pairs.entrySet()) {
            modules.add(readModule(where, config, weights, e.getKey(), e.getValue()[0], e.getValue()[1]));
        }
        return modules;
    }

    private static LoraModule readModule(String where, LoraConfig config, SafetensorsFile weights, String module,
                                         String keyA, String keyB) {
        if (keyB == null) {
            throw new BadInputException(where + ": tensor \"" + keyA + "\": lora_A has no matching lora_B \""
                    + PeftKeys.loraB(module) + "\"");
        }
        if (keyA == null) {
            throw new BadInputException(where + ": tensor \"" + keyB + "\": lora_B has no matching lora_A \""
                    + PeftKeys.loraA(module) + "\"");
        }
        TensorInfo a = weights.info(keyA);
        TensorInfo b = weights.info(keyB);
        for (TensorInfo t : List.of(a, b)) {
            if (!t.dtype().isCompute()) {
                throw new BadInputException(where + ": tensor \"" + t.name() + "\": dtype " + t.dtype()
                        + "; expected F32, F16 or BF16");
            }
            if (t.shape().rank() != 2) {
                throw new BadInputException(where + ": tensor \"" + t.name() + "\": shape " + t.shape()
                        + " is not a matrix (expected lora_A [r, in] and lora_B [out, r]; conv LoRAs are not supported)");
            }
            if (t.shape().dim(0) == 0 || t.shape().dim(1) == 0) {
                throw new BadInputException(where + ": tensor \"" + t.name() + "\": shape " + t.shape()
                        + " has an empty dimension");
            }
        }
        if (a.shape().dim(0) != b.shape().dim(1)) {
            throw new BadInputException(where + ": tensor \"" + keyA + "\": lora_A " + a.shape() + " has "
                    + a.shape().dim(0) + " rows but lora_B " + b.shape() + " has " + b.shape().dim(1)
                    + " columns; both must equal the rank");
        }
        if (!config.targets(module)) {
            throw new BadInputException(where + ": tensor \"" + keyA + "\": module \"" + module
                    + "\" is not selected by " + PeftKeys.CONFIG_FILE + " (target_modules " + describe(config.targetModules())
                    + (config.excludeModules() != null ? ", exclude_modules " + describe(config.excludeModules()) : "")
                    + (config.layersToTransform().isEmpty() ? "" : ", layers_to_transform " + config.layersToTransform())
                    + "), so PEFT would not load these factors");
        }
        int expected = config.rank(module);
        int rank = a.shape().dim(0);
        if (rank != expected) {
            String source = config.rankPatternKey(module).map(k -> "rank_pattern key \"" + k + "\"").orElse("field \"r\"");
            throw new BadInputException(where + ": tensor \"" + keyA + "\": lora_A " + a.shape() + " has rank " + rank
                    + " but " + PeftKeys.CONFIG_FILE + " gives module \"" + module + "\" rank " + expected
                    + " (" + source + ")");
        }
        Tensor ta = weights.get(keyA);
        Tensor tb = weights.get(keyB);
        return new LoraModule(module, ta, tb, config.alpha(module), config.scaling(module), config.fanInFanOut());
    }

    /** The error for a key that is not a LoRA factor, saying which unsupported feature it belongs to. */
    private static BadInputException refusal(String where, String key) {
        String at = where + ": tensor \"" + key + "\": ";
        if (key.contains("lora_magnitude_vector")) {
            return new BadInputException(at + "a DoRA magnitude vector; DoRA adapters are not supported yet");
        }
        if (key.endsWith(".lora_A.bias") || key.endsWith(".lora_B.bias")) {
            return new BadInputException(at + "a LoRA bias (lora_bias=True); LoRA biases are not supported yet");
        }
        if (key.contains("lora_embedding_A") || key.contains("lora_embedding_B")) {
            return new BadInputException(at + "an embedding LoRA; only LoRAs on linear modules are supported");
        }
        if (key.contains("modules_to_save") || key.contains("original_module")) {
            return new BadInputException(at + "a full module copy (modules_to_save); only LoRA factors are supported");
        }
        Matcher named = NAMED_FACTOR.matcher(key);
        if (named.matches()) {
            return new BadInputException(at + "the key carries the adapter name \"" + named.group(2) + "\" (a raw"
                    + " state_dict?); PEFT's save_pretrained strips it and PEFT cannot load such keys either;"
                    + " expected \"" + named.group(1) + ".lora_A.weight\" / \".lora_B.weight\"");
        }
        if (!key.startsWith(PeftKeys.PREFIX)) {
            return new BadInputException(at + "does not start with \"" + PeftKeys.PREFIX + "\"; PEFT LoRA keys look like "
                    + PeftKeys.loraA("model.layers.0.self_attn.q_proj"));
        }
        if (key.contains(".lora_")) {
            return new BadInputException(at + "an unknown LoRA tensor; expected only <module>" + PeftKeys.LORA_A_SUFFIX
                    + " and <module>" + PeftKeys.LORA_B_SUFFIX);
        }
        return new BadInputException(at + "not a LoRA factor but a full weight (saved embedding or head, modules_to_save"
                + " or a bias trained with bias=\"all\"); only lora_A / lora_B factors are supported");
    }

    private static String describe(TargetModules t) {
        return switch (t) {
            case TargetModules.Names(List<String> names) -> names.toString();
            case TargetModules.Regex(String pattern) -> "\"" + pattern + "\"";
            case TargetModules.AllLinear() -> "\"all-linear\"";
        };
    }

    /** The adapter directory as given to {@link #open}. */
    public Path directory() {
        return directory;
    }

    /** The adapter_config.json path. */
    public Path configFile() {
        return directory.resolve(PeftKeys.CONFIG_FILE);
    }

    /** The adapter_model.safetensors path. */
    public Path weightsFile() {
        return weights.path();
    }

    /** The validated config. */
    public LoraConfig config() {
        return config;
    }

    /** The modules in file order (first appearance of either factor). */
    public List<LoraModule> modules() {
        return modules;
    }

    /** The module of that name (relative to the base model), if present. */
    public Optional<LoraModule> find(String moduleName) {
        return Optional.ofNullable(byName.get(moduleName));
    }

    /** The module of that name; a BadInputException naming the file if absent. */
    public LoraModule module(String moduleName) {
        LoraModule m = byName.get(moduleName);
        if (m == null) {
            throw new BadInputException(weights.path() + ": no LoRA for module \"" + moduleName + "\"");
        }
        return m;
    }

    /** The safetensors {@code __metadata__} (PEFT writes {"format": "pt"}). */
    public Map<String, String> metadata() {
        return weights.metadata();
    }

    /** Number of LoRA parameters over all modules. */
    public long parameterCount() {
        long n = 0;
        for (LoraModule m : modules) {
            n += m.parameterCount();
        }
        return n;
    }

    /** Bytes of all factors in their stored dtypes. */
    public long byteSize() {
        long n = 0;
        for (LoraModule m : modules) {
            n += m.byteSize();
        }
        return n;
    }

    /** Unmaps the weights; the modules' tensors must not be used afterwards. */
    @Override
    public void close() {
        weights.close();
    }

    @Override
    public String toString() {
        return "LoraAdapter(" + directory + ", " + modules.size() + " modules, " + parameterCount() + " parameters)";
    }
}
