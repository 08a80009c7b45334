package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code magnitude}: magnitude pruning then task arithmetic on each module's dense task vectors
 * {@code T_t = w_t s_t B_t A_t}, as PEFT's {@code magnitude_prune_svd} with the scaling applied
 * once: {@code M = sum_t trim(T_t)} where trim keeps the top {@code density} fraction of T_t by
 * magnitude ({@code int(density * dOut * dIn)} entries, ties to the lower row-major index), then
 * M truncated to rank K by SVD ({@link DenseLowRank}; K = --rank or the sum of the input ranks,
 * at most min(dIn, dOut)). Default density 0.2 (as for ties). With density 1 this is the exact
 * weighted sum truncated to rank K.
 */
public final class MagnitudeMerge implements MergeMethod {
    /** Density when the user gives none. */
    public static final double DEFAULT_DENSITY = 0.2;

    private final MergeOptions options;

    public MagnitudeMerge(MergeOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return "magnitude";
    }

    @Override
    public void check(MergePlan plan) {
        DenseTaskMerge.checkDense(name(), plan);
    }

    @Override
    public int outputRank(MergePlan.Module module) {
        return DenseTaskMerge.outputRank(options.rank(), module.totalRank(), module.fullRank());
    }

    @Override
    public LowRankUpdate merge(ModuleFactors module, ObjectNode figures) {
        double density = options.density() != null ? options.density() : DEFAULT_DENSITY;
        return DenseTaskMerge.merge(module, DenseTaskMerge.Sparsify.MAGNITUDE, DenseTaskMerge.Combine.SUM,
                density, options, figures);
    }
}
