package dev.lorakit.compress;

import dev.lorakit.tensor.Parallel;
import java.util.Arrays;

/**
 * Element-wise pruning of a linear weight W [rows = out, cols = in] held as a row-major float
 * array: the lowest-scoring weights are set to exactly 0. The score of W[i][j] is
 * |W_ij| * s_j, with s_j = 1 (magnitude pruning) or s_j = ||X_j||_2, the L2 norm of input
 * feature j over the calibration tokens (Wanda). Scores are rounded to float32 before they are
 * compared; ties are broken by column, the lower column being kept.
 *
 * <ul>
 *   <li>{@link #pruneRows}: unstructured, compared within each output row (Wanda's default
 *       comparison group, also used here for magnitude): every row loses the same number
 *       {@link #prunedPerRow} of weights, so every row keeps exactly its top (1 - S) fraction.</li>
 *   <li>{@link #pruneNm}: semi-structured N:M, compared within each group of M consecutive
 *       columns of a row: the N best of every group stay.</li>
 * </ul>
 * Rows are processed in parallel; results do not depend on the thread count.
 */
public final class WeightPruning {
    private WeightPruning() {
    }

    /**
     * The number of weights zeroed in each row of {@code cols} weights at sparsity S:
     * floor(S cols) (as Wanda computes it; a 1e-9 guard keeps binary fractions such as
     * 0.29 x 100 = 28.999... from losing one).
     */
    public static int prunedPerRow(int cols, double sparsity) {
        return (int) Math.min(cols, Math.floor(sparsity * cols + 1e-9));
    }

    /**
     * Unstructured pruning: zeroes the {@link #prunedPerRow} lowest-scoring weights of every row.
     *
     * @param w the weight [rows, cols], changed in place
     * @param inputNorms s_j [cols] (Wanda), or null for magnitude pruning
     * @param sparsity S in (0, 1)
     * @return the number of weights zeroed (rows x prunedPerRow)
     */
    public static long pruneRows(float[] w, int rows, int cols, float[] inputNorms, double sparsity) {
        check(w, rows, cols, inputNorms);
        if (!(sparsity > 0 && sparsity < 1)) {
            throw new IllegalArgumentException("sparsity must be in (0, 1), got " + sparsity);
        }
        int k = prunedPerRow(cols, sparsity);
        if (k == 0) {
            return 0;
        }
        Parallel.forRange(rows, Math.max(1, (1 << 15) / Math.max(1, cols)), (r0, r1) -> {
            long[] keys = new long[cols];
            for (int r = r0; r < r1; r++) {
                int off = r * cols;
                for (int j = 0; j < cols; j++) {
                    // Non-negative float bits order like the floats; the low half puts the higher
                    // column first among equal scores, so it is pruned first.
                    keys[j] = (long) Float.floatToIntBits(score(w[off + j], inputNorms, j)) << 32 | (cols - 1 - j);
                }
                Arrays.sort(keys);
                for (int t = 0; t < k; t++) {
                    w[off + cols - 1 - (int) (keys[t] & 0xffffffffL)] = 0f;
                }
            }
        });
        return (long) rows * k;
    }

    /**
     * Semi-structured N:M pruning: in every group of m consecutive columns of every row, keeps
     * the n highest-scoring weights and zeroes the others.
     *
     * @param w the weight [rows, cols], changed in place; cols must be a multiple of m
     * @param inputNorms s_j [cols] (Wanda), or null for magnitude pruning
     * @return the number of weights zeroed (rows x cols x (m - n) / m)
     */
    public static long pruneNm(float[] w, int rows, int cols, float[] inputNorms, NmSparsity pattern) {
        check(w, rows, cols, inputNorms);
        int m = pattern.m();
        int n = pattern.n();
        if (cols % m != 0) {
            throw new IllegalArgumentException(cols + " columns are not a whole number of groups of " + m);
        }
        Parallel.forRange(rows, Math.max(1, (1 << 15) / Math.max(1, cols)), (r0, r1) -> {
            float[] s = new float[m];
            boolean[] keep = new boolean[m];
            for (int r = r0; r < r1; r++) {
                for (int g = r * cols; g < (r + 1) * cols; g += m) {
                    int col0 = g - r * cols;
                    for (int a = 0; a < m; a++) {
                        s[a] = score(w[g + a], inputNorms, col0 + a);
                    }
                    for (int a = 0; a < m; a++) {
                        int better = 0; // weights of the group ranked above a: higher score, or equal and earlier
                        for (int b = 0; b < m; b++) {
                            if (s[b] > s[a] || s[b] == s[a] && b < a) {
                                better++;
                            }
                        }
                        keep[a] = better < n;
                    }
                    for (int a = 0; a < m; a++) {
                        if (!keep[a]) {
                            w[g + a] = 0f;
                        }
                    }
                }
            }
        });
        return (long) rows * (cols / m) * (m - n);
    }

    /** |w| s_j as float32 (NaN scores sort above everything and are kept). */
    private static float score(float w, float[] inputNorms, int j) {
        float a = Math.abs(w);
        return inputNorms == null ? a : a * inputNorms[j];
    }

    private static void check(float[] w, int rows, int cols, float[] inputNorms) {
        if (rows < 0 || cols < 1 || (long) rows * cols != w.length) {
            throw new IllegalArgumentException("weight of " + w.length + " values is not [" + rows + ", " + cols + "]");
        }
        if (inputNorms != null && inputNorms.length != cols) {
            throw new IllegalArgumentException(inputNorms.length + " input norms for " + cols + " columns");
        }
    }
}
