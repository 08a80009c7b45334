package dev.lorakit.io.hf;

import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.io.safetensors.SafetensorsCheckpoint;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An open Hugging Face model directory: config.json (required), generation_config.json
 * (optional), safetensors weights (single or sharded, memory-mapped) and the tokenizer files'
 * paths. Opening checks the config and every weight file's structure; {@link #validateWeights()}
 * additionally checks that every tensor the architecture needs is there with the right shape.
 * Closing unmaps the weights.
 */
public final class HfModelDirectory implements AutoCloseable {
    /** Tokenizer (vocabulary, merges, pre-tokenizer) file name. */
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** Tokenizer settings (special tokens, chat_template) file name. */
    public static final String TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

    private static final Pattern LAYER_TENSOR = Pattern.compile("model\\.layers\\.(\\d{1,9})\\..*");

    private final Path dir;
    private final ModelConfig config;
    private final GenerationConfig generationConfig;
    private final TensorSource weights;

    private HfModelDirectory(Path dir, ModelConfig config, GenerationConfig generationConfig, TensorSource weights) {
        this.dir = dir;
        this.config = config;
        this.generationConfig = generationConfig;
        this.weights = weights;
    }

    /** Opens a model directory: reads the configs and opens (maps) the weights. */
    public static HfModelDirectory open(Path dir) {
        if (!Files.exists(dir)) {
            throw new BadInputException(dir + ": no such directory (expected a Hugging Face model directory)");
        }
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a directory (expected a Hugging Face model directory with config.json)");
        }
        Path configFile = dir.resolve(ModelConfig.FILE_NAME);
        if (!Files.isRegularFile(configFile)) {
            String hint = Files.exists(dir.resolve("adapter_config.json"))
                    ? "; it holds adapter_config.json, so it looks like a PEFT adapter, not a base model" : "";
            throw new BadInputException(dir + ": no config.json (expected a Hugging Face model directory" + hint + ")");
        }
        ModelConfig config = ModelConfig.read(configFile);
        Path genFile = dir.resolve(GenerationConfig.FILE_NAME);
        GenerationConfig gen = Files.exists(genFile) ? GenerationConfig.read(genFile) : null;
        TensorSource weights = SafetensorsCheckpoint.open(dir);
        return new HfModelDirectory(dir, config, gen, weights);
    }

    /** The directory. */
    public Path directory() {
        return dir;
    }

    /** The validated config.json. */
    public ModelConfig config() {
        return config;
    }

    /** generation_config.json, if the directory has one. */
    public Optional<GenerationConfig> generationConfig() {
        return Optional.ofNullable(generationConfig);
    }

    /** All weights, by Hugging Face name. */
    public TensorSource weights() {
        return weights;
    }

    /** One weight by Hugging Face name; a clear error naming the tensor and directory if absent. */
    public Tensor weight(String hfName) {
        if (!weights.contains(hfName)) {
            throw new BadInputException(dir + ": the weights (" + weights.description() + ") have no tensor \"" + hfName + "\"");
        }
        return weights.get(hfName);
    }

    /** tokenizer.json, if present. */
    public Optional<Path> tokenizerJson() {
        return existing(TOKENIZER_FILE);
    }

    /** tokenizer_config.json, if present. */
    public Optional<Path> tokenizerConfigJson() {
        return existing(TOKENIZER_CONFIG_FILE);
    }

    private Optional<Path> existing(String name) {
        Path p = dir.resolve(name);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /** Number of stored parameters (elements of every tensor in the weights). */
    public long parameterCount() {
        long n = 0;
        for (String name : weights.names()) {
            n += weights.info(name).shape().size();
        }
        return n;
    }

    /**
     * Checks that every tensor the architecture needs ({@link WeightLayout#expected}) exists with
     * the expected shape and a float dtype (F32, F16, BF16; the linear weights, q/k/v/o/gate/up/down
     * and an untied lm_head, may also be block-quantized Q8_0 or Q4_0); that no projection carries a bias the
     * config does not declare (the forward pass would silently ignore it); and that no tensor
     * belongs to a layer beyond num_hidden_layers. Other extra tensors are ignored.
     *
     * @throws BadInputException naming the directory, the first problem (tensor, its shape and the
     *     expected shape) and how many more there are
     */
    public void validateWeights() {
        List<String> problems = new ArrayList<>();
        Set<String> expectedNames = new HashSet<>();
        Set<String> linearWeights = new HashSet<>();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            for (Projection p : Projection.values()) {
                linearWeights.add(p.weightName(l));
            }
        }
        if (!config.tieWordEmbeddings()) {
            linearWeights.add(WeightLayout.LM_HEAD);
        }
        for (WeightLayout.Entry e : WeightLayout.expected(config)) {
            expectedNames.add(e.name());
            if (!weights.contains(e.name())) {
                problems.add("tensor \"" + e.name() + "\" is missing (expected shape " + e.shape() + " " + e.meaning() + ")");
                continue;
            }
            TensorInfo info = weights.info(e.name());
            if (!info.shape().equals(e.shape())) {
                problems.add("tensor \"" + e.name() + "\" has shape " + info.shape() + ", expected " + e.shape() + " "
                        + e.meaning());
            } else if (info.dtype().isQuantized() && !linearWeights.contains(e.name())) {
                problems.add("tensor \"" + e.name() + "\" has dtype " + info.dtype() + ", expected F32, F16 or BF16 (only the "
                        + "linear projection weights may be block-quantized)");
            } else if (!info.dtype().isCompute() && !info.dtype().isQuantized()) {
                problems.add("tensor \"" + e.name() + "\" has dtype " + info.dtype() + ", expected F32, F16 or BF16");
            }
        }
        for (String name : weights.names()) {
            if (expectedNames.contains(name)) {
                continue;
            }
            Matcher m = LAYER_TENSOR.matcher(name);
            if (m.matches() && Long.parseLong(m.group(1)) >= config.numHiddenLayers()) {
                problems.add("tensor \"" + name + "\" belongs to layer " + m.group(1) + ", but num_hidden_layers is "
                        + config.numHiddenLayers());
                continue;
            }
            if (name.endsWith(".bias")) {
                Optional<ProjectionModule> module = ProjectionModule.parse(name.substring(0, name.length() - ".bias".length()));
                if (module.isPresent() && name.startsWith("model.")) {
                    problems.add("tensor \"" + name + "\" is a bias that " + config.architecture().className()
                            + (config.architecture() == ModelArchitecture.LLAMA ? " with attention_bias="
                            + config.attentionBias() : "") + " does not have (the config does not match the weights)");
                }
            }
        }
        if (!problems.isEmpty()) {
            String more = problems.size() > 1 ? " (and " + (problems.size() - 1) + " more problem"
                    + (problems.size() > 2 ? "s" : "") + ")" : "";
            throw new BadInputException(dir + ": " + problems.getFirst() + more);
        }
    }

    @Override
    public void close() {
        weights.close();
    }
}
