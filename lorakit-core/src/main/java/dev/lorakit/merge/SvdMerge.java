package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code svd}: the exact weighted sum {@code S = sum_t w_t s_t B_t A_t} truncated to its best
 * rank-K approximation (Eckart-Young, Frobenius and spectral norm), computed from the factors by
 * {@link FactoredSvd} without a dense dW. K = {@code --rank}, by default the largest input rank
 * of the module. With {@code S = sum_j s_j u_j v_j^T} the merged LoRA is
 * {@code b_j = sqrt(s_j) u_j}, {@code a_j = sqrt(s_j) v_j} for j < K: the singular values are
 * split evenly, so neither factor is tiny.
 *
 * <p>Differences from PEFT's {@code add_weighted_adapter(combination_type="svd")}: each input's
 * weight x scaling is applied once (PEFT multiplies the already scaled delta weight by
 * weight x scaling again), and the factors are balanced (PEFT puts s_j into B alone).
 *
 * <p>K at least the total input rank N returns the exact sum (like {@code cat}); K above the
 * rank S can have (min(dIn, dOut), or fewer nonzero singular values) returns that many terms.
 * Figures: {@code singular_values} (the top min(count, 2K)), {@code truncation_error}
 * ({@code sqrt(sum_{i>=K} s_i^2 / sum_i s_i^2)}, exact, from the spectrum) and
 * {@code kept_energy} ({@code sum_{i<K} s_i^2 / sum_i s_i^2}).
 */
public final class SvdMerge implements MergeMethod {
    private final Integer rank;

    /** Truncates to {@code rank}, or to each module's largest input rank when null. */
    public SvdMerge(Integer rank) {
        if (rank != null && rank < 1) {
            throw new IllegalArgumentException("rank must be positive, got " + rank);
        }
        this.rank = rank;
    }

    @Override
    public String name() {
        return "svd";
    }

    /** K for a module whose largest input rank is {@code maxRank}. */
    private int target(int maxRank) {
        return rank != null ? rank : maxRank;
    }

    @Override
    public int outputRank(MergePlan.Module module) {
        int k = target(module.maxRank());
        return k >= module.totalRank() ? module.totalRank() : Math.min(k, module.fullRank());
    }

    /** The rank-K truncation of the module's exact sum, with the figures described on the class. */
    @Override
    public LowRankUpdate merge(ModuleFactors module, ObjectNode figures) {
        int n = module.totalRank();
        int k = target(module.maxRank());
        LowRankUpdate exact = module.exactSum();
        boolean exactIsShorter = k >= n;
        FactoredSvd svd = FactoredSvd.of(exact, module.gramA(), module.gramB(), exactIsShorter ? 0 : k);
        double[] values = svd.singularValues();
        ArrayNode list = figures.putArray("singular_values");
        for (int i = 0; i < Math.min(values.length, 2 * k); i++) {
            list.add(values[i]);
        }
        figures.put("truncation_error", exactIsShorter ? 0 : svd.truncationError(k));
        figures.put("kept_energy", exactIsShorter ? 1 : svd.keptEnergy(k));
        return exactIsShorter ? exact : svd.balancedFactors();
    }
}
