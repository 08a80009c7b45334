package dev.lorakit.lora;

import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.TensorSource;
import dev.lorakit.io.hf.GenerationConfig;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.safetensors.ShardedSafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Writes a Hugging Face model directory with adapters merged in: every adapted projection
 * becomes W + sum of (user scale x alpha/r) B A, computed in float32 and rounded once to the
 * output dtype; other tensors are copied (converted if another dtype is asked for). Config,
 * generation config and tokenizer files come along; the result loads like any model.
 */
public final class MergedModelWriter {
    /** Tokenizer and template files copied verbatim when present. */
    static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "chat_template.jinja", "chat_template.json", "tokenizer.model");
    /** Shard size of the written checkpoint. */
    public static final long MAX_SHARD_BYTES = 4L << 30;

    private MergedModelWriter() {
    }

    /**
     * Merges {@code adapters} into the model at {@code modelDir} and writes the result to
     * {@code out} (atomically; never onto an input).
     *
     * @param dtype output dtype of the weights, or null to keep each tensor's stored dtype
     * @return the number of weight tensors that changed
     */
    public static int write(Path modelDir, List<AdapterRef> adapters, Path out, DType dtype) throws IOException {
        if (dtype != null && !dtype.isCompute()) {
            throw new BadInputException("--dtype: expected f32, f16 or bf16, got " + dtype);
        }
        List<Path> inputs = new ArrayList<>();
        inputs.add(modelDir);
        adapters.forEach(a -> inputs.add(a.dir()));
        AtomicFiles.requireNotAnInput(out, inputs, "the merged model");
        try (HfModelDirectory model = HfModelDirectory.open(modelDir)) {
            model.validateWeights();
            ModelConfig config = model.config();
            try (AdapterSet set = AdapterSet.open(adapters, config)) {
                if (!set.recoveryModules().isEmpty()) {
                    throw new BadInputException("an adapter holds CA-LoRA recovery modules (recovery_config.json), which cannot "
                            + "be merged into weights (they are non-linear); apply it unmerged with --adapter instead");
                }
                TensorSource weights = model.weights();
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                int changed = 0;
                for (String name : weights.names()) {
                    Tensor t = weights.get(name);
                    DType target = dtype == null || !t.dtype().isCompute() ? t.dtype() : dtype;
                    Optional<ProjectionModule> pm = name.endsWith(".weight")
                            ? ProjectionModule.parse(name.substring(0, name.length() - ".weight".length())) : Optional.empty();
                    List<LoraBranch> branches = pm.map(p -> set.branches(p.path())).orElse(List.of());
                    if (!branches.isEmpty()) {
                        Tensor merged = t.to(DType.F32);
                        for (LoraBranch b : branches) {
                            b.addDeltaTo(merged);
                        }
                        checkFinite(merged, name);
                        tensors.put(name, target == DType.F32 ? merged : merged.to(target));
                        changed++;
                    } else {
                        tensors.put(name, target == t.dtype() ? t : t.to(target));
                    }
                }
                ModelConfig outConfig = dtype == null ? config : config.withTorchDtype(dtype);
                Optional<GenerationConfig> gen = model.generationConfig();
                AtomicFiles.writeDirectory(out, tmp -> {
                    outConfig.write(tmp.resolve(ModelConfig.FILE_NAME));
                    if (gen.isPresent()) {
                        gen.get().write(tmp.resolve(GenerationConfig.FILE_NAME));
                    }
                    for (String f : SIDE_FILES) {
                        Path src = modelDir.resolve(f);
                        if (Files.isRegularFile(src)) {
                            Files.copy(src, tmp.resolve(f));
                        }
                    }
                    ShardedSafetensorsWriter.writeInto(tmp, tensors, Map.of("format", "pt"), MAX_SHARD_BYTES);
                });
                return changed;
            }
        }
    }

    private static void checkFinite(Tensor t, String name) {
        float[] v = t.floatArray();
        for (float x : v) {
            if (!Float.isFinite(x)) {
                throw new BadInputException(name + ": merging the adapters produced a non-finite weight (inf/NaN in an adapter?)");
            }
        }
    }
}
