package dev.lorakit.merge;

import dev.lorakit.BadInputException;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The input adapters of a merge, opened (memory-mapped) and checked against each other: every
 * module's shape agrees across the inputs that have it, weights are finite, nothing unsupported
 * (fan_in_fan_out) is silently mixed in. Reads one module's factors at a time into float64.
 */
public final class MergeInputs implements AutoCloseable {
    private static final int CHUNK = 1 << 16;

    private final List<LoraAdapter> adapters;
    private final MergePlan plan;

    private MergeInputs(List<LoraAdapter> adapters, MergePlan plan) {
        this.adapters = adapters;
        this.plan = plan;
    }

    /**
     * Opens the adapters in {@code dirs} with user weights {@code weights} (null: all 1). Bad
     * input (no adapters, wrong weight count, a module whose shape differs between inputs)
     * is a BadInputException naming the module and files.
     */
    public static MergeInputs open(List<Path> dirs, List<Double> weights) {
        if (dirs.isEmpty()) {
            throw new BadInputException("no input adapters: give one or more PEFT adapter directories to merge");
        }
        List<Double> w = weights == null ? java.util.Collections.nCopies(dirs.size(), 1.0) : weights;
        if (w.size() != dirs.size()) {
            throw new BadInputException("--weights: " + w.size() + " weight(s) for " + dirs.size()
                    + " input adapter(s); give one weight per adapter, in the same order");
        }
        for (int i = 0; i < w.size(); i++) {
            if (!Double.isFinite(w.get(i))) {
                throw new BadInputException("--weights: weight " + (i + 1) + " must be a finite number, got " + w.get(i));
            }
        }
        List<LoraAdapter> opened = new ArrayList<>();
        try {
            for (Path dir : dirs) {
                LoraAdapter adapter = LoraAdapter.open(dir);
                opened.add(adapter);
                if (adapter.config().fanInFanOut()) {
                    throw new BadInputException(adapter.configFile() + ": field \"fan_in_fan_out\" is true; merging"
                            + " fan-in-fan-out (Conv1D) adapters is not supported");
                }
            }
            return new MergeInputs(opened, buildPlan(dirs, w, opened));
        } catch (RuntimeException | Error e) {
            opened.forEach(LoraAdapter::close);
            throw e;
        }
    }

    private static MergePlan buildPlan(List<Path> dirs, List<Double> weights, List<LoraAdapter> adapters) {
        Map<String, List<int[]>> seen = new LinkedHashMap<>(); // module -> {input, rank, dIn, dOut}
        for (int t = 0; t < adapters.size(); t++) {
            for (LoraModule m : adapters.get(t).modules()) {
                seen.computeIfAbsent(m.name(), k -> new ArrayList<>())
                        .add(new int[] {t, m.rank(), m.inFeatures(), m.outFeatures()});
            }
        }
        List<MergePlan.Module> modules = new ArrayList<>(seen.size());
        for (Map.Entry<String, List<int[]>> e : seen.entrySet()) {
            List<int[]> rows = e.getValue();
            int[] first = rows.get(0);
            List<Integer> inputs = new ArrayList<>();
            List<Integer> ranks = new ArrayList<>();
            for (int[] row : rows) {
                if (row[2] != first[2] || row[3] != first[3]) {
                    throw new BadInputException("module " + e.getKey() + ": shape conflict, [" + first[3] + ", " + first[2]
                            + "] in " + dirs.get(first[0]) + " but [" + row[3] + ", " + row[2] + "] in "
                            + dirs.get(row[0]) + " (adapters for different base models?)");
                }
                inputs.add(row[0]);
                ranks.add(row[1]);
            }
            modules.add(new MergePlan.Module(e.getKey(), first[2], first[3], inputs, ranks));
        }
        return new MergePlan(dirs, weights, modules);
    }

    /** The plan: inputs, weights, modules with their shapes and input ranks. */
    public MergePlan plan() {
        return plan;
    }

    /** The opened adapters in command-line order. */
    public List<LoraAdapter> adapters() {
        return adapters;
    }

    /** Reads one module's factors from every input that has it (float64, thread-safe). */
    public ModuleFactors load(MergePlan.Module module) {
        List<ScaledFactors> terms = new ArrayList<>(module.inputs().size());
        for (int t : module.inputs()) {
            LoraModule m = adapters.get(t).module(module.name());
            Path file = adapters.get(t).weightsFile();
            double[] a = readRows(m.a(), false, file + ": tensor " + PeftKeys.loraA(m.name()));
            double[] bt = readRows(m.b(), true, file + ": tensor " + PeftKeys.loraB(m.name()));
            terms.add(new ScaledFactors(t, plan.weights().get(t), m.scaling(), m.rank(), m.inFeatures(),
                    m.outFeatures(), a, bt));
        }
        return new ModuleFactors(module.name(), module.dIn(), module.dOut(), terms);
    }

    /**
     * A [rows, cols] tensor as float64 row-major, or transposed ([cols, rows]); NaN/Inf is bad
     * input. The stored values are converted in large contiguous chunks (a B factor's rows hold
     * only r values each), then placed.
     */
    private static double[] readRows(Tensor t, boolean transpose, String where) {
        int rows = t.dim(0);
        int cols = t.dim(1);
        long total = (long) rows * cols;
        double[] out = new double[Math.toIntExact(total)];
        int chunk = (int) Math.min(total, Math.max(CHUNK, cols));
        float[] buf = new float[chunk];
        int es = t.dtype().byteSize();
        for (long start = 0; start < total; start += chunk) {
            int len = (int) Math.min(chunk, total - start);
            Convert.toF32(t.segment(), start * es, t.dtype(), buf, 0, len);
            for (int c = 0; c < len; c++) {
                float v = buf[c];
                if (!Float.isFinite(v)) {
                    long flat = start + c;
                    throw new BadInputException(where + " holds " + v + " at [" + flat / cols + ", " + flat % cols
                            + "]; merge inputs must be finite");
                }
            }
            if (!transpose) {
                for (int c = 0; c < len; c++) {
                    out[(int) start + c] = buf[c];
                }
            } else {
                int r = (int) (start / cols);
                int col = (int) (start % cols);
                for (int c = 0; c < len; c++) {
                    out[col * rows + r] = buf[c];
                    if (++col == cols) {
                        col = 0;
                        r++;
                    }
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        adapters.forEach(LoraAdapter::close);
    }
}
