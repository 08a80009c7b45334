package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code cat}: exact concatenation. The merged factors are the inputs' factors stacked, with
 * each input's weight x scaling folded into its B rows, so {@code dW = sum_t w_t s_t B_t A_t}
 * exactly and the rank is the sum of the input ranks.
 */
public final class CatMerge implements MergeMethod {
    @Override
    public String name() {
        return "cat";
    }

    @Override
    public void check(MergePlan plan) {
        // every plan can be concatenated; --rank is refused by MergeMethods
    }

    @Override
    public int outputRank(MergePlan.Module module) {
        return module.totalRank();
    }

    @Override
    public LowRankUpdate merge(ModuleFactors module, ObjectNode figures) {
        return module.exactSum();
    }
}
