package dev.lorakit.merge;

import dev.lorakit.tensor.kernel.RowProducts;

/**
 * LoRA-LEGO's pool of one module: the N = sum_t r_t minimal semantic units (MSUs)
 * m_i = [a_i ; b_i] of the module's inputs, in input order then rank order, in float64.
 *
 * <p>Every transformation LoRA-LEGO applies to an MSU before clustering (folding the input's
 * scale in, sign canonicalisation, a/b balancing) multiplies each half by a number, so the pool
 * is held as the raw input rows plus two scales per MSU: {@code m_i = [sa_i a_i ; sb_i b_i]}
 * with a_i, b_i as read. Preprocessing only changes the scales; the Gram matrix is
 * {@code G = Sa Ga Sa + Sb Gb Sb} with Ga, Gb the Gram matrices of the raw rows and Sa, Sb the
 * diagonal scale matrices.
 *
 * <p>Layout (N rows, P = {@value #PANEL}): the raw a-halves are copied into column panels, panel
 * q holding columns [q P, min((q+1) P, dIn)) of every a_i as N contiguous rows; likewise the
 * b-halves over dOut. A panel of N = 128 rows is 512 KiB, so the Gram kernel reuses it from the
 * L2 cache instead of streaming 15 MB rows from memory for every pair of rows (measured 2x).
 */
final class MsuPool {
    /** Columns per panel. */
    static final int PANEL = 512;
    /** Rows per block of the triangular Gram computation. */
    private static final int GRAM_BLOCK = 16;

    private final int n;
    private final int dIn;
    private final int dOut;
    private final double[][] aPanels; // raw a rows, panel q: [n, width(q, dIn)]
    private final double[][] bPanels; // raw b rows, panel q: [n, width(q, dOut)]
    private final double[] aMaxAbs;   // max |entry| of raw a_i [n]
    private final double[] bMaxAbs;   // max |entry| of raw b_i [n]
    private final double[] aScale;    // sa [n]
    private final double[] bScale;    // sb [n]
    private final double[] aGram;     // Ga [n, n] of the raw a rows
    private final double[] bGram;     // Gb [n, n] of the raw b rows

    private MsuPool(ModuleFactors module) {
        n = module.totalRank();
        dIn = module.dIn();
        dOut = module.dOut();
        aPanels = panels(n, dIn);
        bPanels = panels(n, dOut);
        aMaxAbs = new double[n];
        bMaxAbs = new double[n];
        aScale = new double[n];
        bScale = new double[n];
        int row = 0;
        for (ScaledFactors t : module.terms()) {
            for (int i = 0; i < t.rank(); i++) {
                aMaxAbs[row] = copyRow(t.a(), i * dIn, aPanels, dIn, row);
                bMaxAbs[row] = copyRow(t.bt(), i * dOut, bPanels, dOut, row);
                row++;
            }
        }
        aGram = rawGram(aPanels, dIn);
        bGram = rawGram(bPanels, dOut);
    }

    private static double[][] panels(int n, int len) {
        double[][] p = new double[(len + PANEL - 1) / PANEL][];
        for (int q = 0; q < p.length; q++) {
            p[q] = new double[n * width(q, len)];
        }
        return p;
    }

    private static int width(int panel, int len) {
        return Math.min(PANEL, len - panel * PANEL);
    }

    /** Copies src[srcOff, srcOff + len) into row {@code row} of the panels; returns its max |entry|. */
    private static double copyRow(double[] src, int srcOff, double[][] panels, int len, int row) {
        double max = 0;
        for (int q = 0; q < panels.length; q++) {
            int w = width(q, len);
            double[] p = panels[q];
            int o = row * w;
            int s = srcOff + q * PANEL;
            for (int c = 0; c < w; c++) {
                double v = src[s + c];
                p[o + c] = v;
                max = Math.max(max, Math.abs(v));
            }
        }
        return max;
    }

    /**
     * The pool of {@code module} (its raw rows copied into panels and their Gram matrices
     * computed: the bulk of the work, O(N^2 (dIn + dOut) / 2)), with every MSU of input t
     * scaled so that {@code sRef} applies to the result: {@code f_t = w_t s_t / sRef}, sa_i = sqrt(|f_t|), sb_i = sign(f_t) sqrt(|f_t|).
     * Then {@code sum_i (sb_i b_i)(sa_i a_i)^T = sum_t f_t B_t A_t} exactly, also for negative
     * weights (the paper's sqrt(f_t) on both halves, with the sign going to b).
     */
    static MsuPool fold(ModuleFactors module, double sRef) {
        MsuPool pool = new MsuPool(module);
        int row = 0;
        for (ScaledFactors t : module.terms()) {
            double f = t.coefficient() / sRef;
            double sa = Math.sqrt(Math.abs(f));
            double sb = Math.signum(f) * sa;
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
            double lead = aScale[i] * largestMagnitude(aPanels, dIn, i);
            if (lead == 0) {
                lead = bScale[i] * largestMagnitude(bPanels, dOut, i);
            }
            if (lead < 0) {
                aScale[i] = -aScale[i];
                bScale[i] = -bScale[i];
            }
        }
    }

    /** The raw entry of row i with the largest magnitude (the first one on ties), with its sign. */
    private static double largestMagnitude(double[][] panels, int len, int i) {
        double best = 0;
        for (int q = 0; q < panels.length; q++) {
            int w = width(q, len);
            double[] p = panels[q];
            for (int c = i * w; c < (i + 1) * w; c++) {
                if (Math.abs(p[c]) > Math.abs(best)) {
                    best = p[c];
                }
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
     * {@code G_im = sa_i sa_m (a_i . a_m) + sb_i sb_m (b_i . b_m)}; exactly symmetric.
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

    /**
     * The Gram matrix of the raw rows held in panels: every panel's row products
     * {@code <x_i, x_m>}, m >= i, summed panel by panel in order, then mirrored, so the result is
     * exactly symmetric and the same for the same rows.
     */
    private double[] rawGram(double[][] panels, int len) {
        double[] g = new double[n * n];
        double[] block = new double[GRAM_BLOCK * n];
        for (int q = 0; q < panels.length; q++) {
            int w = width(q, len);
            double[] p = panels[q];
            for (int i0 = 0; i0 < n; i0 += GRAM_BLOCK) {
                int rows = Math.min(GRAM_BLOCK, n - i0);
                int cols = n - i0;
                RowProducts.cross(p, i0 * w, rows, p, i0 * w, cols, w, block);
                for (int r = 0; r < rows; r++) {
                    int gRow = (i0 + r) * n + i0;
                    for (int c = r; c < cols; c++) {
                        g[gRow + c] += block[r * cols + c];
                    }
                }
            }
        }
        for (int i = 0; i < n; i++) {
            for (int m = i + 1; m < n; m++) {
                g[m * n + i] = g[i * n + m];
            }
        }
        return g;
    }

    /** Per MSU, the norm of [sa_i a_i ; sb_i b_i]: max |entry| for INF, the Euclidean norm for L2. */
    double[] norms(MergeOptions.Norm norm) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = norm == MergeOptions.Norm.INF
                    ? Math.max(Math.abs(aScale[i]) * aMaxAbs[i], Math.abs(bScale[i]) * bMaxAbs[i])
                    : Math.sqrt(aScale[i] * aScale[i] * aGram[i * n + i] + bScale[i] * bScale[i] * bGram[i * n + i]);
        }
        return out;
    }

    /**
     * Linear combinations of the MSUs: row j of the result is {@code sum_i coeff[j*N + i] m_i}
     * (a-halves in {@code a}, b-halves in {@code bt}), for j < m.
     */
    LowRankUpdate combine(double[] coeff, int m) {
        double[] a = new double[m * dIn];
        double[] bt = new double[m * dOut];
        combineInto(aPanels, dIn, scaled(coeff, m, aScale), m, a);
        combineInto(bPanels, dOut, scaled(coeff, m, bScale), m, bt);
        return new LowRankUpdate(m, dIn, dOut, a, bt);
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

    private void combineInto(double[][] panels, int len, double[] coeff, int m, double[] out) {
        double[] tmp = new double[m * Math.min(PANEL, len)];
        for (int q = 0; q < panels.length; q++) {
            int w = width(q, len);
            RowProducts.combine(coeff, m, n, panels[q], 0, w, tmp);
            for (int j = 0; j < m; j++) {
                System.arraycopy(tmp, j * w, out, j * len + q * PANEL, w);
            }
        }
    }

    /** MSU i as one vector [sa_i a_i ; sb_i b_i] of length d_in + d_out (tests and small modules). */
    double[] vector(int i) {
        double[] v = new double[dIn + dOut];
        for (int q = 0; q < aPanels.length; q++) {
            int w = width(q, dIn);
            for (int c = 0; c < w; c++) {
                v[q * PANEL + c] = aScale[i] * aPanels[q][i * w + c];
            }
        }
        for (int q = 0; q < bPanels.length; q++) {
            int w = width(q, dOut);
            for (int c = 0; c < w; c++) {
                v[dIn + q * PANEL + c] = bScale[i] * bPanels[q][i * w + c];
            }
        }
        return v;
    }
}
