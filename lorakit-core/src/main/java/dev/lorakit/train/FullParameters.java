package dev.lorakit.train;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.hf.GenerationConfig;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.safetensors.SafetensorsCheckpoint;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The trainable side of full-parameter training: every tensor of a Llama-family model
 * ({@link WeightLayout#expected}: embeddings, each layer's norms, projection weights and biases,
 * the final norm and the LM head) as a heap float32 copy with a gradient buffer of the same
 * size, named as in the model's safetensors. With tied embeddings the LM head is not a tensor
 * of its own: {@code model.embed_tokens.weight} is both, and its gradient sums both uses.
 *
 * <p>Weight decay applies to the matrices (embeddings, projections, LM head) and not to RMSNorm
 * weights or biases (1-D tensors), as in nanoGPT/llm.c and the Hugging Face Trainer.
 *
 * <p>Memory: 8 bytes per parameter here (values + gradients), plus 8 for AdamW's moments.
 */
public final class FullParameters implements TrainableParameters {
    /** Tokenizer, template and generation files copied from the base model when present. */
    static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "chat_template.jinja", "chat_template.json", "tokenizer.model", GenerationConfig.FILE_NAME);

    private final ModelConfig config;
    private final Map<String, Tensor> tensors;  // name -> F32 view [shape] of the trained values
    private final Map<String, float[]> grads;   // name -> gradient
    private final List<NamedParameter> params;

    private FullParameters(ModelConfig config, Map<String, float[]> values) {
        this.config = config;
        Map<String, Tensor> t = new LinkedHashMap<>();
        Map<String, float[]> g = new LinkedHashMap<>();
        List<NamedParameter> p = new ArrayList<>();
        for (WeightLayout.Entry e : WeightLayout.expected(config)) {
            float[] v = values.get(e.name());
            if (v == null || v.length != e.shape().size()) {
                throw new IllegalArgumentException("tensor " + e.name() + ": expected " + e.shape().size() + " values, got "
                        + (v == null ? "none" : v.length));
            }
            float[] grad = new float[v.length];
            t.put(e.name(), Tensor.ofFloats(v, e.shape().dims()));
            g.put(e.name(), grad);
            p.add(NamedParameter.of(e.name(), v, grad, e.shape().rank() >= 2));
        }
        this.tensors = Collections.unmodifiableMap(t);
        this.grads = Collections.unmodifiableMap(g);
        this.params = List.copyOf(p);
    }

    /**
     * Float32 copies of every weight of an open model directory (checked with
     * {@link HfModelDirectory#validateWeights()} first).
     */
    public static FullParameters copyOf(HfModelDirectory dir) {
        dir.validateWeights();
        ModelConfig c = dir.config();
        Map<String, float[]> values = new LinkedHashMap<>();
        for (WeightLayout.Entry e : WeightLayout.expected(c)) {
            values.put(e.name(), dir.weight(e.name()).toFloatArray());
        }
        return new FullParameters(c, values);
    }

    /** Float32 copies of every weight of the model directory {@code modelDir}. */
    public static FullParameters load(Path modelDir) {
        try (HfModelDirectory dir = HfModelDirectory.open(modelDir)) {
            return copyOf(dir);
        }
    }

    /** The model's config (as read; its torch_dtype is that of the input weights). */
    public ModelConfig config() {
        return config;
    }

    /** True if the model has a tensor of this name (lm_head.weight is absent when tied). */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** A tensor as an F32 view of its trained values (no copy; see {@link WeightLayout} for names). */
    public Tensor weight(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no trainable tensor " + name);
        }
        return t;
    }

    /** The values of a tensor (trained in place), row-major. */
    public float[] values(String name) {
        return weight(name).floatArray();
    }

    /** The gradient of a tensor, accumulated by backward passes. */
    public float[] grad(String name) {
        float[] g = grads.get(name);
        if (g == null) {
            throw new IllegalArgumentException("no trainable tensor " + name);
        }
        return g;
    }

    @Override
    public List<NamedParameter> parameters() {
        return params;
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The shape of every tensor, by name, in checkpoint order. */
    public Map<String, Shape> shapes() {
        Map<String, Shape> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> out.put(name, t.shape()));
        return out;
    }

    /** Writes the trained model into {@code out} in the configured --save-dtype (see {@link #writeModel}). */
    @Override
    public void writeOutput(Path out, Path modelDir, TrainConfig cfg) throws IOException {
        writeModel(out, modelDir, cfg.saveDtype());
    }

    /**
     * Writes a complete Hugging Face model directory into {@code out}: config.json (the base
     * model's, with torch_dtype = {@code dtype}), model.safetensors (every tensor under its input
     * name, rounded to {@code dtype} to nearest even) and the base model's tokenizer, template and
     * generation files when present. Each file is replaced atomically; other files in {@code out}
     * (the training log, the checkpoint directory) stay.
     *
     * @param dtype F32, BF16 or F16
     */
    public void writeModel(Path out, Path modelDir, DType dtype) throws IOException {
        if (dtype == null || !dtype.isCompute()) {
            throw new IllegalArgumentException("save dtype must be F32, BF16 or F16, got " + dtype);
        }
        Map<String, Tensor> stored = new LinkedHashMap<>();
        tensors.forEach((name, t) -> stored.put(name, dtype == DType.F32 ? t : t.to(dtype)));
        Files.createDirectories(out);
        Path tmp = Files.createTempDirectory(out.toAbsolutePath().getParent(), "." + out.getFileName() + ".model.");
        try {
            List<String> files = new ArrayList<>();
            SafetensorsWriter.write(tmp.resolve(SafetensorsCheckpoint.SINGLE_FILE), stored, Map.of("format", "pt"));
            files.add(SafetensorsCheckpoint.SINGLE_FILE);
            for (String f : SIDE_FILES) {
                Path src = modelDir.resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, tmp.resolve(f));
                    files.add(f);
                }
            }
            config.withTorchDtype(dtype).write(tmp.resolve(ModelConfig.FILE_NAME));
            files.add(ModelConfig.FILE_NAME); // moved last, after the weights it describes
            for (String f : files) {
                Files.move(tmp.resolve(f), out.resolve(f), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            AtomicFiles.deleteRecursively(tmp);
        }
    }
}
