package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code ties}: TIES-Merging (Yadav et al. 2023) on each module's dense task vectors
 * {@code T_t = w_t s_t B_t A_t}, as PEFT's {@code ties_svd} but with the scaling applied once:
 * trim every T_t to its top {@code density} fraction by magnitude ({@code int(density * dOut * dIn)}
 * entries, ties to the lower row-major index), elect each entry's sign (TOTAL: sign of the sum
 * of the trimmed values; FREQUENCY: sign of the count of signs; 0 elects +), take the mean of the
 * trimmed values with the elected sign (0 where none agrees), then truncate the merged matrix to
 * rank K by SVD ({@link DenseLowRank}; K = --rank or the sum of the input ranks, at most
 * min(dIn, dOut)) and write it with the scale folded in.
 *
 * <p>Weights enter the task vectors before the sign election (PEFT elects on the unweighted
 * trimmed tensors and weights afterwards; the two agree for equal positive weights). Default
 * density 0.2 (PEFT's and the TIES paper's examples keep the top 20 %). Merging one adapter with
 * weight 1 and density 1 returns it (exactly rank r).
 */
public final class TiesMerge implements MergeMethod {
    /** Density when the user gives none. */
    public static final double DEFAULT_DENSITY = 0.2;

    private final MergeOptions options;

    public TiesMerge(MergeOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return "ties";
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
        return DenseTaskMerge.merge(module, DenseTaskMerge.Sparsify.MAGNITUDE, DenseTaskMerge.Combine.DISJOINT_MEAN,
                density, options, figures);
    }
}
