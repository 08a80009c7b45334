package dev.lorakit.merge;

import dev.lorakit.tensor.kernel.RowProducts;

/**
 * LoRA-LEGO's pool of one module: the N = sum_t r_t minimal semantic units (MSUs)
 * m_i = [a_i ; b_i] of the module's inputs, in input order then rank order, in float64.
 *
 * <p>Every transformation LoRA-LEGO applies to an MSU before clustering (folding the input's
 * scale in, sign canonicalisation, a/b balancing) multiplies each half by a number, so the pool
 * is held as the rows of the module's exact sum ({@link ModuleFactors#exactSum()}: a_i as read,
 * e_i = c_t b_i with the input's coefficient folded in) plus two scales per MSU:
 * {@code m_i = [sa_i a_i ; sb_i e_i]}. Preprocessing only changes the scales; the Gram matrix is
 * {@code G = Sa Ga Sa + Sb Ge Sb} with Ga, Ge the module's cached Gram matrices
 * ({@link ModuleFactors#gramA()}, {@link ModuleFactors#gramB()}), which the reconstruction error
 * reuses: the O(N^2 (dIn + dOut)) work is done once per module.
 */
final class MsuPool {
    private final int n;
    private final int dIn;
    private final int dOut;
    private final double[] a;         // a rows [n, dIn]
    private final double[] e;         // exact-sum b rows [n, dOut]
    private final double[] aMaxAbs;   // max |entry| of a_i [n]
    private final double[] eMaxAbs;   // max |entry| of e_i [n]
    private final double[] aScale;    // sa [n]
    private final double[] bScale;    // sb [n], applied to e_i
    private final double[] aGram;     // Ga [n, n]
    private final double[] bGram;     // Ge [n, n]

    private MsuPool(ModuleFactors module) {
        LowRankUpdate exact = module.exactSum();
        n = exact.rank();
        dIn = module.dIn();
        dOut = module.dOut();
        a = exact.a();
        e = exact.bt();
        aMaxAbs = maxAbs(a, n, dIn);
        eMaxAbs = maxAbs(e, n, dOut);
        aScale = new double[n];
        bScale = new double[n];
        aGram = module.gramA();
        bGram = module.gramB();
    }

    private static double[] maxAbs(double[] rows, int n, int len) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double max = 0;
            for (int c = i * len; c < (i + 1) * len; c++) {
                max = Math.max(max, Math.abs(rows[c]));
            }
            out[i] = max;
        }
        return out;
    }

    /**
     * The pool of {@code module} with every MSU of input t scaled so that {@code sRef} applies to
     * the result: {@code f_t = w_t s_t / sRef}, MSU = [sqrt(|f_t|) a_i ; sign(f_t) sqrt(|f_t|) b_i]
     * (the paper's sqrt(f_t) on both halves, with the sign going to b), so that
     * {@code sum_i (b-half)(a-half)^T = sum_t f_t B_t A_t} exactly, also for negative weights.
     * In terms of e_i = w_t s_t b_i the b scale is {@code 1 / (sqrt(|f_t|) sRef)} (0 when f_t = 0,
     * where the MSU is zero).
     */
    static MsuPool fold(ModuleFactors module, double sRef) {
        MsuPool pool = new MsuPool(module);
        int row = 0;
        for (ScaledFactors t : module.terms()) {
            double f = t.coefficient() / sRef;
            double sa = Math.sqrt(Math.abs(f));
            double sb = f == 0 ? 0 : 1 / (sa * sRef);
            for (int i = 0; i < t.rank(); i++) {
                pool.aScale[row] = sa;
                pool.bScale[row] = sb;
                row++;
            }
        }
        return pool;
    }

    /** N: the number of MSUs. */
    int size() {
        return n;
    }

    /** d_in + d_out: the length of an MSU vector. */
    int dimension() {
        return dIn + dOut;
    }

    /**
     * Sign canonicalisation: negates MSU i (both halves; b_i a_i^T is unchanged) when the entry
     * of its a-half with the largest magnitude (the first such) is negative; an MSU whose a-half
     * is zero is decided by its b-half the same way.
     */
    void canonicaliseSigns() {
        for (int i = 0; i < n; i++) {
            double lead = aScale[i] * largestMagnitude(a, dIn, i);
            if (lead == 0) {
                lead = bScale[i] * largestMagnitude(e, dOut, i);
            }
            if (lead < 0) {
                aScale[i] = -aScale[i];
                bScale[i] = -bScale[i];
            }
        }
    }

    /** The entry of row i with the largest magnitude (the first one on ties), with its sign. */
    private static double largestMagnitude(double[] rows, int len, int i) {
        double best = 0;
        for (int c = i * len; c < (i + 1) * len; c++) {
            if (Math.abs(rows[c]) > Math.abs(best)) {
                best = rows[c];
            }
        }
        return best;
    }

    /**
     * a/b balancing: rescales MSU i to {@code (t a, b / t)} with {@code t = sqrt(||b|| / ||a||)}
     * (norms of the halves as they stand), so that ||a|| = ||b|| and the rank-1 term b a^T is
     * unchanged. MSUs with a zero half are left as they are.
     */
    void balance() {
        for (int i = 0; i < n; i++) {
            double na = Math.abs(aScale[i]) * Math.sqrt(aGram[i * n + i]);
            double nb = Math.abs(bScale[i]) * Math.sqrt(bGram[i * n + i]);
            if (na > 0 && nb > 0) {
                double t = Math.sqrt(nb / na);
                aScale[i] *= t;
                bScale[i] /= t;
            }
        }
    }

    /**
     * The Gram matrix [N, N] of the MSU vectors,
     * {@code G_im = sa_i sa_m (a_i . a_m) + sb_i sb_m (e_i . e_m)}; exactly symmetric.
     */
    double[] gram() {
        double[] g = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int m = 0; m < n; m++) {
                int x = i * n + m;
                g[x] = aScale[i] * aScale[m] * aGram[x] + bScale[i] * bScale[m] * bGram[x];
            }
        }
        return g;
    }

    /** Per MSU, the norm of [sa_i a_i ; sb_i b_i]: max |entry| for INF, the Euclidean norm for L2. */
    double[] norms(MergeOptions.Norm norm) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = norm == MergeOptions.Norm.INF
                    ? Math.max(Math.abs(aScale[i]) * aMaxAbs[i], Math.abs(bScale[i]) * eMaxAbs[i])
                    : Math.sqrt(aScale[i] * aScale[i] * aGram[i * n + i] + bScale[i] * bScale[i] * bGram[i * n + i]);
        }
        return out;
    }

    /**
     * Linear combinations of the MSUs: row j of the result is {@code sum_i coeff[j*N + i] m_i}
     * (a-halves in {@code a}, b-halves in {@code bt}), for j < m.
     */
    LowRankUpdate combine(double[] coeff, int m) {
        double[] ca = new double[m * dIn];
        double[] cb = new double[m * dOut];
        RowProducts.combine(scaled(coeff, m, aScale), m, n, a, 0, dIn, ca);
        RowProducts.combine(scaled(coeff, m, bScale), m, n, e, 0, dOut, cb);
        return new LowRankUpdate(m, dIn, dOut, ca, cb);
    }

    /** coeff [m, n] with column i multiplied by scale_i: combinations of the raw rows. */
    private double[] scaled(double[] coeff, int m, double[] scale) {
        double[] c = new double[m * n];
        for (int j = 0; j < m; j++) {
            for (int i = 0; i < n; i++) {
                c[j * n + i] = coeff[j * n + i] * scale[i];
            }
        }
        return c;
    }

    /** MSU i as one vector [sa_i a_i ; sb_i e_i] of length d_in + d_out (tests and small modules). */
    double[] vector(int i) {
        double[] v = new double[dIn + dOut];
        for (int c = 0; c < dIn; c++) {
            v[c] = aScale[i] * a[i * dIn + c];
        }
        for (int c = 0; c < dOut; c++) {
            v[dIn + c] = bScale[i] * e[i * dOut + c];
        }
        return v;
    }
}
