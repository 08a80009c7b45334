package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code dare-linear} and {@code dare-ties}: DARE, drop and rescale (Yu et al. 2023), on each
 * module's dense task vectors {@code T_t = w_t s_t B_t A_t}, as PEFT's {@code dare_linear_svd} and
 * {@code dare_ties_svd} with the scaling applied once. Every entry of every T_t is kept with
 * probability {@code density} and divided by density (dropped entries are 0); then
 * <ul>
 * <li>dare-linear: {@code M = sum_t drop(T_t)};</li>
 * <li>dare-ties: TIES' sign election (TOTAL or FREQUENCY, 0 elects +) and the mean of the
 * values with the elected sign.</li>
 * </ul>
 * M is truncated to rank K by SVD ({@link DenseLowRank}; K = --rank or the sum of the input
 * ranks, at most min(dIn, dOut)).
 *
 * <p>The masks are drawn by {@link TaskVectorRules#dareKeeps} from a seed mixed from --seed, the
 * module name and the input's command-line index, so they do not depend on thread scheduling or
 * on which other modules are merged. Default density 0.5 (PEFT's and mergekit's DARE examples;
 * the DARE paper goes as low as 0.1). With density 1 nothing is dropped: dare-linear is then the
 * exact weighted sum truncated to rank K.
 */
public final class DareMerge implements MergeMethod {
    /** Density when the user gives none. */
    public static final double DEFAULT_DENSITY = 0.5;

    private final MergeOptions options;
    private final boolean ties;

    private DareMerge(MergeOptions options, boolean ties) {
        this.options = options;
        this.ties = ties;
    }

    /** {@code dare-linear}: drop and rescale, then sum. */
    public static DareMerge linear(MergeOptions options) {
        return new DareMerge(options, false);
    }

    /** {@code dare-ties}: drop and rescale, then sign election and disjoint mean. */
    public static DareMerge ties(MergeOptions options) {
        return new DareMerge(options, true);
    }

    @Override
    public String name() {
        return ties ? "dare-ties" : "dare-linear";
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
        return DenseTaskMerge.merge(module, DenseTaskMerge.Sparsify.DARE,
                ties ? DenseTaskMerge.Combine.DISJOINT_MEAN : DenseTaskMerge.Combine.SUM, density, options, figures);
    }
}
