package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;

/**
 * The pipeline shared by the task-vector merges (ties, dare-linear, dare-ties, magnitude) on one
 * module: sparsify each task vector {@code T_t = w_t s_t B_t A_t} (magnitude trim or DARE drop and
 * rescale), combine them entry by entry (sum, or TIES' sign election and disjoint mean) into a
 * dense merged M [dOut, dIn], and truncate M to rank K with {@link DenseLowRank} (the scale
 * folded in).
 *
 * <p>Memory per module: M itself (8 dOut dIn bytes: 360 MB at 11008 x 4096, 134 MB at
 * 4096 x 4096), n task blocks of 128 KiB (at least 4 rows), the magnitude selection's 1 MiB of
 * counts and its candidates per task, and the randomized SVD's sketches (about 75 MB at
 * 11008 x 4096): one 11008 x 4096 module with 8 rank-16 inputs merges within a 600 MB heap. No
 * dense task vector is ever held: the task vectors are regenerated block by block (2 passes for
 * the magnitude cuts, 1 for the merge). Everything runs on the calling thread in index order, so
 * results depend only on the inputs, options and module name.
 *
 * <p>Time (8 rank-16 inputs, K = 128, one core of the 2-core build machine): about 1.2 to 1.6 s
 * per 4096 x 4096 module and 3.1 to 4.4 s per 11008 x 4096 or 4096 x 11008 module, half of it
 * the randomized SVD.
 */
final class DenseTaskMerge {
    /** How each task vector is sparsified. */
    enum Sparsify {
        /** Keep the top density fraction by magnitude (TIES trim, magnitude pruning). */
        MAGNITUDE,
        /** Keep each entry with probability density and divide by density (DARE). */
        DARE
    }

    /** How the sparsified task vectors are combined per entry. */
    enum Combine {
        /** {@code sum_t T_t} (task arithmetic). */
        SUM,
        /** TIES: elect a sign, then the mean of the values with that sign. */
        DISJOINT_MEAN
    }

    private DenseTaskMerge() {
    }

    /** Refuses modules too large for one float64 array (2^31 - 1 entries). */
    static void checkDense(String method, MergePlan plan) {
        for (MergePlan.Module m : plan.modules()) {
            long size = (long) m.dIn() * m.dOut();
            if (size > Integer.MAX_VALUE - 16) {
                throw new BadInputException("module " + m.name() + ": [" + m.dOut() + ", " + m.dIn() + "] has " + size
                        + " entries; " + method + " builds the dense update and supports at most 2^31 - 16");
            }
        }
    }

    /** K: the user's rank, or the sum of the input ranks; at most min(dIn, dOut). */
    static int outputRank(Integer rank, int totalRank, int fullRank) {
        return Math.min(rank != null ? rank : totalRank, fullRank);
    }

    /**
     * Merges one module; key figures go into {@code figures}: density, kept_fraction (per input,
     * entries kept / entries), sign_agreement (entries whose nonzero sparsified values all share a
     * sign / entries with at least one nonzero value; 1 if there are none), rank and
     * truncation_error (||M - M_K||_F / ||M||_F).
     */
    static LowRankUpdate merge(ModuleFactors module, Sparsify sparsify, Combine combine, double density,
                               MergeOptions options, ObjectNode figures) {
        int dIn = module.dIn();
        int dOut = module.dOut();
        int size = Math.toIntExact((long) dIn * dOut);
        TaskBlocks blocks = new TaskBlocks(module);
        int n = blocks.count();

        TaskVectorRules.MagnitudeCut[] cuts = null;
        long[] maskSeeds = null;
        if (sparsify == Sparsify.MAGNITUDE) {
            cuts = MagnitudeSelection.find(blocks, dOut, dIn, TaskVectorRules.keepCount(size, density));
        } else {
            maskSeeds = new long[n];
            for (int t = 0; t < n; t++) {
                maskSeeds[t] = TaskVectorRules.dareMaskSeed(options.seed(), module.name(), module.terms().get(t).input());
            }
        }

        double[] merged = new double[size];
        int rowsPerBlock = blocks.blockRows();
        double[][] taskBlock = new double[n][rowsPerBlock * dIn];
        long[] kept = new long[n];
        long nonzero = 0;  // entries with a nonzero sparsified value
        long agreeing = 0; // ... whose nonzero values share a sign
        for (int row0 = 0; row0 < dOut; row0 += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, dOut - row0);
            int base = row0 * dIn;
            int len = rows * dIn;
            for (int t = 0; t < n; t++) {
                blocks.generate(t, row0, rows, taskBlock[t]);
                kept[t] += sparsify == Sparsify.MAGNITUDE
                        ? TaskVectorKernels.trim(taskBlock[t], base, len, cuts[t])
                        : TaskVectorKernels.dropAndRescale(taskBlock[t], base, len, maskSeeds[t], density);
            }
            long[] signs = TaskVectorKernels.combine(taskBlock, n, len, combine == Combine.DISJOINT_MEAN,
                    options.majoritySign(), merged, base);
            nonzero += signs[0];
            agreeing += signs[1];
        }
        taskBlock = null; // the blocks are not needed by the truncation

        int k = outputRank(options.rank(), module.totalRank(), Math.min(dIn, dOut));
        long svdSeed = TaskVectorRules.mix64(TaskVectorRules.dareMaskSeed(options.seed(), module.name(), -1));
        DenseLowRank.Approximation approx = DenseLowRank.bestRank(merged, dOut, dIn, k, svdSeed);

        figures.put("density", density);
        ArrayNode fractions = figures.putArray("kept_fraction");
        for (long c : kept) {
            fractions.add((double) c / size);
        }
        figures.put("sign_agreement", nonzero == 0 ? 1.0 : (double) agreeing / nonzero);
        figures.put("rank", k);
        figures.put("truncation_error", approx.truncationError());
        return approx.update();
    }
}
