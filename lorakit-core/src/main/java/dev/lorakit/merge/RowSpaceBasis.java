package dev.lorakit.merge;

/**
 * An orthonormal basis of the span of n rows x_1..x_n known only through their Gram matrix
 * {@code G = X X^T} ([n, n]): the rows factor as {@code X = F Q^T} with Q^T ([r, len]) orthonormal
 * rows and F [n, r], and Q^T is a combination of the rows, {@code Q^T = W X}. Nothing of length
 * len is touched here; a caller maps a small result back with {@link #coefficients}.
 *
 * <p>Method: pivoted (rank-revealing) Cholesky of the equilibrated Gram
 * {@code C = D^-1 G D^-1}, D = diag(||x_i||): {@code P^T C P = L L^T} stopped when the largest
 * remaining diagonal of the Schur complement falls to {@code tolerance}. Then
 * {@code F = D P L} and, with the r pivot rows X_p, {@code Q^T = F_p^-1 X_p} (F_p lower
 * triangular). Zero rows (a freshly initialised PEFT B) are dropped up front; a row whose part
 * outside the span of the pivots is below sqrt(tolerance) of its own norm counts as dependent and
 * that part is dropped. Equilibration makes the test relative to each row, so a tiny but
 * independent row (an input with a small weight) is kept.
 *
 * <p>This is CholeskyQR with pivoting: Q^T's rows are orthonormal up to about
 * eps * kappa^2, kappa the condition number of the kept, row-normalised rows.
 */
final class RowSpaceBasis {
    private final int n;
    private final int rank;
    private final int[] pivots; // [rank]: original index of the s-th pivot row
    private final double[] f;   // [n, rank]: x_i = sum_c f[i][c] q_c

    private RowSpaceBasis(int n, int rank, int[] pivots, double[] f) {
        this.n = n;
        this.rank = rank;
        this.pivots = pivots;
        this.f = f;
    }

    /** The basis of the rows whose Gram matrix is {@code gram} ([n, n], symmetric; not modified). */
    static RowSpaceBasis of(double[] gram, int n, double tolerance) {
        double[] norm = new double[n];
        for (int i = 0; i < n; i++) {
            double g = gram[i * n + i];
            norm[i] = g > 0 && Double.isFinite(g) ? Math.sqrt(g) : 0; // a zero row is never a pivot
        }
        // w: the equilibrated Gram, rows and columns permuted as pivots are chosen; after step s
        // its column s below the diagonal holds L, its trailing block the Schur complement
        double[] w = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                w[i * n + j] = norm[i] > 0 && norm[j] > 0 ? gram[i * n + j] / (norm[i] * norm[j]) : 0;
            }
            w[i * n + i] = norm[i] > 0 ? 1 : 0;
        }
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        double[] column = new double[n];
        int rank = 0;
        for (int s = 0; s < n; s++) {
            int p = -1;
            double max = tolerance;
            for (int i = s; i < n; i++) {
                if (w[i * n + i] > max) {
                    max = w[i * n + i];
                    p = i;
                }
            }
            if (p < 0) {
                break;
            }
            swap(w, n, s, p);
            int t = perm[s];
            perm[s] = perm[p];
            perm[p] = t;
            double d = Math.sqrt(max);
            w[s * n + s] = d;
            for (int i = s + 1; i < n; i++) {
                column[i] = w[i * n + s] / d;
                w[i * n + s] = column[i];
            }
            for (int i = s + 1; i < n; i++) {
                double li = column[i];
                int row = i * n;
                for (int j = s + 1; j < n; j++) {
                    w[row + j] -= li * column[j];
                }
            }
            rank++;
        }
        double[] f = new double[n * rank];
        for (int i = 0; i < n; i++) {
            int row = perm[i];
            for (int c = 0; c < Math.min(i + 1, rank); c++) {
                f[row * rank + c] = norm[row] * w[i * n + c];
            }
        }
        return new RowSpaceBasis(n, rank, java.util.Arrays.copyOf(perm, rank), f);
    }

    /** Swaps rows and columns s and p of the symmetric [n, n] matrix w. */
    private static void swap(double[] w, int n, int s, int p) {
        if (s == p) {
            return;
        }
        for (int j = 0; j < n; j++) {
            double t = w[s * n + j];
            w[s * n + j] = w[p * n + j];
            w[p * n + j] = t;
        }
        for (int i = 0; i < n; i++) {
            double t = w[i * n + s];
            w[i * n + s] = w[i * n + p];
            w[i * n + p] = t;
        }
    }

    /** r: the dimension of the span (numerical rank of the rows). */
    int rank() {
        return rank;
    }

    /** F [n, rank] row-major: row i of X is sum_c F[i][c] q_c. */
    double[] f() {
        return f;
    }

    /**
     * Coefficients over the original rows of m combinations of the basis vectors: for z [m, rank]
     * returns c [m, n] with {@code z Q^T = c X} (zero at the non-pivot rows). Solves
     * {@code y F_p = z} by back substitution, F_p = the pivot rows of F (lower triangular).
     */
    double[] coefficients(double[] z, int m) {
        double[] c = new double[m * n];
        double[] y = new double[rank];
        for (int j = 0; j < m; j++) {
            for (int s = rank - 1; s >= 0; s--) {
                double t = z[j * rank + s];
                for (int q = s + 1; q < rank; q++) {
                    t -= y[q] * f[pivots[q] * rank + s];
                }
                y[s] = t / f[pivots[s] * rank + s];
            }
            for (int s = 0; s < rank; s++) {
                c[j * n + pivots[s]] = y[s];
            }
        }
        return c;
    }
}
