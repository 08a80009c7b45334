package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.safetensors.SafetensorsStreamWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a merge end to end: plan check, every module merged (in parallel across modules, one
 * module's factors in memory per thread), zero-padded to one rank, written as a standard PEFT
 * adapter with the scale folded in (r = lora_alpha = rank, no rsLoRA, no patterns).
 */
public final class LoraMerger {
    /** Called after each module is merged (from any thread). */
    @FunctionalInterface
    public interface ModuleListener {
        void merged(ModuleResult result);
    }

    private LoraMerger() {
    }

    /**
     * Merges {@code inputs} with {@code method}, writes the adapter to {@code output} (atomically;
     * an output that is or contains an input is refused before any work) and returns the
     * per-module results in plan order.
     */
    public static MergeResult merge(MergeInputs inputs, MergeMethod method, DType dtype, Path output,
                                    ModuleListener listener) throws IOException {
        Objects.requireNonNull(dtype, "dtype");
        if (!dtype.isCompute()) {
            throw new BadInputException("--dtype: merged factors are f32, f16 or bf16, not " + dtype);
        }
        MergePlan plan = inputs.plan();
        LoraAdapterWriter.requireNotAnInput(output, plan.inputs());
        method.check(plan);
        List<MergePlan.Module> modules = plan.modules();
        int rank = 0;
        for (MergePlan.Module m : modules) {
            rank = Math.max(rank, method.outputRank(m));
        }
        if (rank < 1) {
            throw new IllegalStateException(method.name() + " reported output rank " + rank);
        }
        long t0 = System.nanoTime();
        ModuleResult[] results = new ModuleResult[modules.size()];
        int outRank = rank;
        List<String> names = modules.stream().map(MergePlan.Module::name).toList();
        LoraConfig config = LoraConfig.forMerged(outRank, names, baseModel(inputs.adapters()));
        List<SafetensorsStreamWriter.Entry> entries = new ArrayList<>();
        for (MergePlan.Module m : modules) {
            entries.add(new SafetensorsStreamWriter.Entry(PeftKeys.loraA(m.name()), dtype, Shape.of(outRank, m.dIn())));
            entries.add(new SafetensorsStreamWriter.Entry(PeftKeys.loraB(m.name()), dtype, Shape.of(m.dOut(), outRank)));
        }
        // Each module's factors go straight to their place in the file: the merged adapter is
        // never held in memory whole. The directory appears only when complete (atomic rename).
        AtomicFiles.writeDirectory(output, tmp -> {
            AtomicFiles.writeString(tmp.resolve(PeftKeys.CONFIG_FILE), config.toJson());
            try (SafetensorsStreamWriter weights = SafetensorsStreamWriter.create(tmp.resolve(PeftKeys.WEIGHTS_FILE),
                    entries, Map.of(PeftKeys.FORMAT_KEY, PeftKeys.FORMAT_PT))) {
                Parallel.forRange(modules.size(), 1, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        results[i] = mergeModule(inputs, method, modules.get(i), outRank, dtype, weights);
                        if (listener != null) {
                            listener.merged(results[i]);
                        }
                    }
                });
                weights.finish();
            }
        });
        return new MergeResult(method.name(), plan, outRank, List.of(results), (System.nanoTime() - t0) / 1e9);
    }

    /** Reads, merges, checks and writes one module; returns its result. */
    private static ModuleResult mergeModule(MergeInputs inputs, MergeMethod method, MergePlan.Module m, int outRank,
                                            DType dtype, SafetensorsStreamWriter weights) {
        long s0 = System.nanoTime();
        ModuleFactors factors = inputs.load(m);
        ObjectNode figures = JsonNodeFactory.instance.objectNode();
        LowRankUpdate update = method.merge(factors, figures);
        if (update.rank() > outRank || update.dIn() != m.dIn() || update.dOut() != m.dOut()) {
            throw new IllegalStateException(method.name() + " returned a rank-" + update.rank() + " [" + update.dOut()
                    + ", " + update.dIn() + "] update for " + m.name() + ", expected rank <= " + outRank + " ["
                    + m.dOut() + ", " + m.dIn() + "]");
        }
        double error = ReconstructionError.relative(factors, update);
        LowRankUpdate padded = update.padTo(outRank);
        byte[] a;
        byte[] b;
        try {
            a = padded.loraABytes(dtype);
            b = padded.loraBBytes(dtype);
        } catch (ArithmeticException e) {
            throw new BadInputException("module " + m.name() + ": the merged factors overflow float32 ("
                    + e.getMessage() + "); inputs too large for this method?");
        }
        try {
            weights.write(PeftKeys.loraA(m.name()), ByteBuffer.wrap(a));
            weights.write(PeftKeys.loraB(m.name()), ByteBuffer.wrap(b));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ModuleResult(m.name(), m.inputs(), update.rank(), error, (System.nanoTime() - s0) / 1e9, figures);
    }

    /** The base model the inputs name (the first one that names one), or null. */
    private static String baseModel(List<LoraAdapter> adapters) {
        for (LoraAdapter a : adapters) {
            String base = a.config().baseModelNameOrPath();
            if (base != null && !base.isEmpty()) {
                return base;
            }
        }
        return null;
    }

}
