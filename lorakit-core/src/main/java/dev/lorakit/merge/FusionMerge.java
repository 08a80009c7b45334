package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code fusion}: element-wise weighted sum of the factors, PEFT's
 * {@code add_weighted_adapter(combination_type="linear")}, the parameter-averaging baseline
 * LoRA-LEGO compares against. With {@code c_t = w_t s_t} (user weight x the input's scaling):
 * <pre>
 *   A' = sum_t sign(c_t) sqrt(|c_t|) A_t      B' = sum_t sqrt(|c_t|) B_t      dW = B' A'
 * </pre>
 * Like PEFT this is a weighted <em>sum</em>, not a mean: two inputs with weight 1 give
 * {@code (B_1 + B_2)(A_1 + A_2)} scaled; pass weights 0.5 for a mean. PEFT takes
 * {@code sqrt(w_t s_t)} for both factors and fails on a negative weight; the sign on A extends
 * it so that each input's own term is exactly {@code c_t B_t A_t}. (LoraHub composes with its
 * learned w_t on both factors, {@code (sum w_t B_t)(sum w_t A_t)}: the same algebra with
 * {@code sqrt(|c_t|) = w_t}, i.e. LoraHub's w_t corresponds to c_t = w_t^2 here.)
 *
 * <p>The result is not the sum of the updates: {@code dW = sum_t c_t B_t A_t + sum_{t != u}
 * sqrt(|c_t c_u|) sign(c_u) B_t A_u}, and the cross terms B_t A_u pair rank-1 directions that
 * were trained independently (the rank order of a LoRA means nothing, see LoRA-LEGO's
 * permutation invariance). Since the own terms add up to the exact sum exactly, the figure
 * {@code cross_term_norm = ||dW - sum_t c_t B_t A_t||_F / ||sum_t c_t B_t A_t||_F} is the
 * relative size of the cross terms (Gram route, {@link ReconstructionError}).
 *
 * <p>Needs equal ranks r across the inputs of every module (checked up front); output rank r.
 */
public final class FusionMerge implements MergeMethod {
    @Override
    public String name() {
        return "fusion";
    }

    /** Every module must have one rank across the inputs that have it. */
    @Override
    public void check(MergePlan plan) {
        for (MergePlan.Module m : plan.modules()) {
            if (m.ranks().stream().distinct().count() > 1) {
                List<String> ranks = new ArrayList<>();
                for (int i = 0; i < m.inputs().size(); i++) {
                    ranks.add("r=" + m.ranks().get(i) + " in " + plan.inputs().get(m.inputs().get(i)));
                }
                throw new BadInputException("module " + m.name() + ": fusion adds lora_A and lora_B element-wise and"
                        + " needs equal ranks, got " + String.join(", ", ranks)
                        + "; use --method svd, lego or cat for inputs of different ranks");
            }
        }
    }

    @Override
    public int outputRank(MergePlan.Module module) {
        return module.maxRank();
    }

    /** A' and B' as in the class comment; figure {@code cross_term_norm}. */
    @Override
    public LowRankUpdate merge(ModuleFactors module, ObjectNode figures) {
        int r = module.terms().get(0).rank();
        int dIn = module.dIn();
        int dOut = module.dOut();
        double[] a = new double[r * dIn];
        double[] bt = new double[r * dOut];
        for (ScaledFactors t : module.terms()) {
            if (t.rank() != r) {
                throw new IllegalStateException(module.name() + ": fusion needs equal ranks, got " + r + " and "
                        + t.rank() + " (check() should have refused this plan)");
            }
            double c = t.coefficient();
            double root = Math.sqrt(Math.abs(c));
            double rootA = c < 0 ? -root : root;
            for (int i = 0; i < a.length; i++) {
                a[i] += rootA * t.a()[i];
            }
            for (int i = 0; i < bt.length; i++) {
                bt[i] += root * t.bt()[i];
            }
        }
        LowRankUpdate merged = new LowRankUpdate(r, dIn, dOut, a, bt);
        double cross = ReconstructionError.relative(module, merged);
        if (Double.isFinite(cross)) {
            figures.put("cross_term_norm", cross);
        } else {
            figures.putNull("cross_term_norm");
        }
        return merged;
    }
}
