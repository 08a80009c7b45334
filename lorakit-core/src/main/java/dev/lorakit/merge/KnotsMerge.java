package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.tensor.kernel.RowProducts;

/**
 * {@code knots}: KnOTS (Stoica et al., "Model merging with SVD to tie the KnOTS", 2024):
 * align the inputs in one shared basis, then merge them there. The horizontally stacked
 * updates have one SVD
 * {@code [dW_1 ... dW_n] = U S [V_1^T ... V_n^T]}, so {@code dW_t = U S V_t^T} with a common
 * U and S; the per-input parts V_t (each [K', dIn], K' the rank of the stack) are merged
 * element-wise, by TIES (trim each V_t to {@code --density}, elect signs, disjoint mean) or by
 * their mean, and the result is {@code U S V_merged^T}, written as
 * {@code b_j = sqrt(s_j) u_j}, {@code a_j = sqrt(s_j) v_merged_j} for the top {@code --rank}
 * triplets (default: all).
 *
 * <p>No dense matrix: with {@code dW_t = (c_t B_t) A_t}, the stack is
 * {@code [c_1 B_1 ... c_n B_n] blockdiag(A_1, ..., A_n)}: its SVD comes from the Gram of the
 * stacked B's and the block-diagonal Gram of the A's ({@link FactoredSvd#core}), and each V_t
 * is a combination of input t's own A rows.
 *
 * <p>Each triplet's sign is fixed (largest |u_j| entry positive) before merging, since
 * frequency sign election is not invariant to the SVD's arbitrary signs.
 *
 * <p>Defaults: density 1 (no trimming; opt in with {@code --density}), majority sign
 * {@code --majority-sign}. With one input (weight 1) V_merged = V_1 and the input comes back.
 * The {@code mean} rule gives exactly (1/n) x the weighted sum: the alignment is linear, so a
 * linear merge in the shared basis is a linear merge of the updates (KnOTS pays off only with a
 * non-linear rule such as TIES). Figures: {@code singular_values} (of the stack, top 2K),
 * {@code aligned_rank} K', {@code density}, {@code rule}, {@code sign_agreement}.
 */
public final class KnotsMerge implements MergeMethod {
    private final MergeOptions options;

    /** KnOTS with the rule, density, majority sign and rank in {@code options}. */
    public KnotsMerge(MergeOptions options) {
        this.options = options;
    }

    @Override
    public String name() {
        return "knots";
    }

    private double density() {
        return options.density() != null ? options.density() : 1.0;
    }

    @Override
    public int outputRank(MergePlan.Module module) {
        int bound = Math.min(module.totalRank(), module.dOut());
        return options.rank() != null ? Math.min(options.rank(), bound) : bound;
    }

    @Override
    public LowRankUpdate merge(ModuleFactors module, ObjectNode figures) {
        LowRankUpdate exact = module.exactSum();
        int n = exact.rank();
        int dIn = module.dIn();
        int dOut = module.dOut();
        int inputs = module.terms().size();
        int[] start = new int[inputs + 1]; // rows of input t: [start[t], start[t+1])
        for (int t = 0; t < inputs; t++) {
            start[t + 1] = start[t] + module.terms().get(t).rank();
        }
        // A's Gram restricted to the diagonal blocks: the stack's right factor is block-diagonal.
        double[] gramA = module.gramA().clone();
        for (int t = 0; t < inputs; t++) {
            for (int i = start[t]; i < start[t + 1]; i++) {
                for (int j = 0; j < n; j++) {
                    if (j < start[t] || j >= start[t + 1]) {
                        gramA[i * n + j] = 0;
                    }
                }
            }
        }
        FactoredSvd.Core core = FactoredSvd.core(gramA, module.gramB(), n, n);
        int kept = core.kept();
        double[] values = core.singularValues();
        ArrayNode sv = figures.putArray("singular_values");
        int k = Math.min(kept, options.rank() != null ? options.rank() : kept);
        for (int j = 0; j < Math.min(values.length, Math.max(1, 2 * k)); j++) {
            sv.add(values[j]);
        }
        figures.put("aligned_rank", kept);
        figures.put("rule", options.knotsMerge().name().toLowerCase(java.util.Locale.ROOT));
        figures.put("density", density());
        if (k == 0) {
            figures.put("sign_agreement", 1.0);
            return new LowRankUpdate(0, dIn, dOut, new double[0], new double[0]);
        }
        // u_j = sum_i uCoef[j][i] b_i ; V_t[j] = sum_{i in t} vCoef[j][i] a_i
        double[] u = new double[kept * dOut];
        RowProducts.combine(core.uCoefficients(), kept, n, exact.bt(), 0, dOut, u);
        double[][] vt = new double[inputs][];
        for (int t = 0; t < inputs; t++) {
            int rt = start[t + 1] - start[t];
            double[] coef = new double[kept * rt];
            for (int j = 0; j < kept; j++) {
                System.arraycopy(core.vCoefficients(), j * n + start[t], coef, j * rt, rt);
            }
            vt[t] = new double[kept * dIn];
            RowProducts.combine(coef, kept, rt, exact.a(), start[t] * dIn, dIn, vt[t]);
        }
        canonicalSigns(u, vt, kept, dOut);
        double[] merged = mergeAligned(vt, figures);
        double[] a = new double[k * dIn];
        double[] bt = new double[k * dOut];
        for (int j = 0; j < k; j++) {
            double root = Math.sqrt(values[j]);
            for (int i = 0; i < dIn; i++) {
                a[j * dIn + i] = root * merged[j * dIn + i];
            }
            for (int o = 0; o < dOut; o++) {
                bt[j * dOut + o] = root * u[j * dOut + o];
            }
        }
        return new LowRankUpdate(k, dIn, dOut, a, bt);
    }

    /**
     * Fixes the sign of every singular triplet (u_j, v_j) -> (-u_j, -v_j), which the SVD leaves
     * open: the largest-magnitude entry of u_j (first one on ties) is made positive. TIES with
     * frequency sign election is not sign-equivariant (a tied count elects +), so without this
     * the result would depend on the SVD routine.
     */
    private static void canonicalSigns(double[] u, double[][] vt, int kept, int dOut) {
        for (int j = 0; j < kept; j++) {
            int arg = 0;
            for (int o = 1; o < dOut; o++) {
                if (Math.abs(u[j * dOut + o]) > Math.abs(u[j * dOut + arg])) {
                    arg = o;
                }
            }
            if (u[j * dOut + arg] < 0) {
                for (int o = 0; o < dOut; o++) {
                    u[j * dOut + o] = -u[j * dOut + o];
                }
                for (double[] v : vt) {
                    int len = v.length / kept;
                    for (int i = j * len; i < (j + 1) * len; i++) {
                        v[i] = -v[i];
                    }
                }
            }
        }
    }

    /** The element-wise merge of the aligned blocks: TIES or the mean. */
    private double[] mergeAligned(double[][] vt, ObjectNode figures) {
        int len = vt[0].length;
        int n = vt.length;
        double[] column = new double[n];
        long agree = 0;
        long nonzero = 0;
        double[][] tasks = vt;
        if (options.knotsMerge() == MergeOptions.KnotsMerge.TIES && density() < 1) {
            tasks = new double[n][];
            for (int t = 0; t < n; t++) {
                tasks[t] = TaskVectorRules.trim(vt[t], density());
            }
        }
        double[] out = new double[len];
        for (int i = 0; i < len; i++) {
            boolean any = false;
            for (int t = 0; t < n; t++) {
                column[t] = tasks[t][i];
                any |= column[t] != 0;
            }
            if (any) {
                nonzero++;
                if (TaskVectorRules.signsAgree(column, n)) {
                    agree++;
                }
            }
            if (options.knotsMerge() == MergeOptions.KnotsMerge.MEAN) {
                double s = 0;
                for (int t = 0; t < n; t++) {
                    s += column[t];
                }
                out[i] = s / n;
            } else {
                out[i] = TaskVectorRules.disjointMean(column, n,
                        TaskVectorRules.electSign(column, n, options.majoritySign()));
            }
        }
        figures.put("sign_agreement", nonzero == 0 ? 1.0 : (double) agree / nonzero);
        return out;
    }
}
