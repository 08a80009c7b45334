package dev.lorakit.merge;

import dev.lorakit.tensor.kernel.RowProducts;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * The best rank-K approximation of a dense [dOut, dIn] matrix M (row-major float64) as a
 * {@link LowRankUpdate}, for the merge methods that build a full dW and truncate it. With the
 * singular value decomposition {@code M = sum_j s_j u_j v_j^T} (s descending), the update keeps
 * the first K terms and splits each singular value evenly between the factors:
 * {@code b_j = sqrt(s_j) u_j}, {@code a_j = sqrt(s_j) v_j}.
 *
 * <p>Two paths, chosen by {@link #bestRank}:
 * <ul>
 * <li>exact, EJML's SVD, when {@code dOut dIn <= } {@value #EXACT_MAX_ENTRIES} (512 x 512 takes
 * about 0.35 s; EJML needs 3 s for 4096 x 512, where the randomized path takes 0.2 s);</li>
 * <li>randomized subspace iteration otherwise (Halko, Martinsson and Tropp 2011, algorithm 4.4):
 * a seeded Gaussian sketch {@code Omega} [dIn, l] with {@code l = K + }{@value #OVERSAMPLING}
 * rounded up to a multiple of 8 (at most min(dOut, dIn)), {@code Q = orth(M Omega)}, then
 * {@value #POWER_ITERATIONS} power iterations {@code Q = orth(M orth(M^T Q))}, then the exact SVD
 * of the small {@code Q^T M} [l, dIn] (through the eigen-decomposition of its l x l Gram matrix)
 * gives {@code M ~ (Q W) S V^T}. Every orthonormalisation is an SVQB step (eigen-decomposition
 * of the Gram matrix, columns with eigenvalue below 1e-12 of the largest dropped: rank
 * deficient sketches are fine), done twice on the final basis. Cost: {@code 2 (q + 1)} products
 * of M with l vectors, {@code 2 (q + 1) dOut dIn l} flops; for 11008 x 4096 with K = 128
 * (l = 144, q = 2) that is 6 x 6.5 G fused multiply-adds, all in
 * {@link RowProducts#combineTiled}: about 2.2 s of one core (0.9 s at 4096 x 4096) on the
 * 2-core AVX-512 build machine.</li>
 * </ul>
 *
 * <p>Accuracy of the randomized path against the exact SVD (DenseLowRankTest): on a 900 x 600
 * matrix with singular values about {@code 0.97^j} over 150 directions plus full-rank noise,
 * K = 32, the Frobenius truncation error is 1.0006 times the optimal one (0.356; with 1 power
 * iteration 1.008, with none 1.24), the leading 16 singular values are within 1.2e-5 relative
 * and the 32nd within 4.3e-3. An exactly rank-K matrix is reproduced to about 1e-12. Results
 * are deterministic for a seed (single-threaded, fixed summation order).
 *
 * <p>Memory: the randomized path holds, besides M, about 6 arrays of {@code l x max(dOut, dIn)}
 * float64 (about 75 MB at 11008 x 4096, l = 144); the exact path copies M into EJML (small
 * matrices only).
 */
public final class DenseLowRank {
    /** Matrices with at most this many entries are decomposed exactly with EJML. */
    public static final int EXACT_MAX_ENTRIES = 1 << 18;
    /** Extra sketch columns beyond K. */
    public static final int OVERSAMPLING = 10;
    /** Power (subspace) iterations of the randomized path. */
    public static final int POWER_ITERATIONS = 2;
    /** Eigenvalues of a Gram matrix below this fraction of the largest are treated as 0. */
    private static final double DROP = 1e-12;

    private DenseLowRank() {
    }

    /**
     * A rank-K approximation and what it left out.
     *
     * @param update the rank-K factors (rank = K even if M has lower rank: trailing terms are 0)
     * @param singularValues the K kept singular values, descending (estimates on the randomized path)
     * @param frobeniusNorm ||M||_F
     * @param discardedNorm ||M - B A||_F (exact path: from the discarded singular values;
     *     randomized: {@code sqrt(||M||^2 - sum kept s_j^2)}, resolution about 1e-8 relative)
     */
    public record Approximation(LowRankUpdate update, double[] singularValues, double frobeniusNorm,
                                double discardedNorm) {
        /** ||M - B A||_F / ||M||_F (0 for M = 0). */
        public double truncationError() {
            return frobeniusNorm > 0 ? discardedNorm / frobeniusNorm : 0;
        }
    }

    /**
     * The rank-{@code rank} approximation of {@code m} [dOut, dIn] (rank capped at min(dOut, dIn)):
     * exact for small matrices, randomized (sketch seeded with {@code seed}) for large ones.
     */
    public static Approximation bestRank(double[] m, int dOut, int dIn, int rank, long seed) {
        if ((long) dOut * dIn <= EXACT_MAX_ENTRIES) {
            return exact(m, dOut, dIn, rank);
        }
        return randomized(m, dOut, dIn, rank, OVERSAMPLING, POWER_ITERATIONS, seed);
    }

    /** The exact truncated SVD with EJML. */
    public static Approximation exact(double[] m, int dOut, int dIn, int rank) {
        int k = checkedRank(m, dOut, dIn, rank);
        int full = Math.min(dOut, dIn);
        DMatrixRMaj matrix = new DMatrixRMaj(dOut, dIn);
        System.arraycopy(m, 0, matrix.data, 0, m.length);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(dOut, dIn, true, true, true);
        if (!svd.decompose(matrix)) {
            throw new IllegalStateException("EJML's SVD did not converge on a " + dOut + " x " + dIn + " matrix");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj w = svd.getW(null);
        DMatrixRMaj v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(u, false, w, v, false);
        double[] a = new double[k * dIn];
        double[] bt = new double[k * dOut];
        double[] kept = new double[k];
        for (int j = 0; j < k; j++) {
            double s = w.get(j, j);
            kept[j] = s;
            double root = Math.sqrt(s);
            for (int i = 0; i < dIn; i++) {
                a[j * dIn + i] = root * v.get(i, j);
            }
            for (int o = 0; o < dOut; o++) {
                bt[j * dOut + o] = root * u.get(o, j);
            }
        }
        double discarded = 0;
        for (int j = k; j < full; j++) {
            discarded += w.get(j, j) * w.get(j, j);
        }
        return new Approximation(new LowRankUpdate(k, dIn, dOut, a, bt), kept, Math.sqrt(sumOfSquares(m)),
                Math.sqrt(discarded));
    }

    /**
     * The randomized approximation: sketch of {@code rank + oversampling} columns (rounded up to
     * a multiple of 8, capped at min(dOut, dIn)), {@code powerIterations} subspace iterations,
     * Gaussian sketch from {@code new Random(seed)}.
     */
    public static Approximation randomized(double[] m, int dOut, int dIn, int rank, int oversampling,
                                           int powerIterations, long seed) {
        int k = checkedRank(m, dOut, dIn, rank);
        if (oversampling < 0 || powerIterations < 0) {
            throw new IllegalArgumentException("oversampling " + oversampling + ", power iterations " + powerIterations);
        }
        int full = Math.min(dOut, dIn);
        int l = Math.min(full, (k + oversampling + 7) / 8 * 8);
        double frob2 = sumOfSquares(m);
        if (frob2 == 0) {
            return zero(k, dIn, dOut);
        }
        Random rng = new Random(seed);
        double[] omega = new double[dIn * l];
        for (int i = 0; i < omega.length; i++) {
            omega[i] = rng.nextGaussian();
        }
        double[] y = new double[dOut * l];
        RowProducts.combineTiled(m, 0, dOut, dIn, omega, 0, l, y, 0); // Y = M Omega [dOut, l]
        Basis q = orthonormalize(y, dOut, l, powerIterations == 0);
        for (int it = 0; it < powerIterations && q.cols > 0; it++) {
            double[] z = transpose(timesTransposed(q, m, dOut, dIn), q.cols, dIn); // M^T Q [dIn, c]
            Basis p = orthonormalize(z, dIn, q.cols, false);
            if (p.cols == 0) {
                q = p;
                break;
            }
            double[] y2 = new double[dOut * p.cols];
            RowProducts.combineTiled(m, 0, dOut, dIn, p.data, 0, p.cols, y2, 0); // M P [dOut, c]
            q = orthonormalize(y2, dOut, p.cols, it == powerIterations - 1);
        }
        if (q.cols == 0) {
            return zero(k, dIn, dOut);
        }
        int c = q.cols;
        double[] qt = transpose(q.data, dOut, c);           // Q^T [c, dOut]
        double[] b = new double[c * dIn];
        RowProducts.combineTiled(qt, 0, c, dOut, m, 0, dIn, b, 0); // B = Q^T M [c, dIn]
        double[] g = new double[c * c];
        RowProducts.combineTiled(b, 0, c, dIn, transpose(b, c, dIn), 0, c, g, 0); // B B^T
        Eigen e = symmetricEigen(g, c);
        double[] coefA = new double[k * c];
        double[] coefB = new double[k * c];
        double[] kept = new double[k];
        double keptSquares = 0;
        double top = Math.max(0, e.values[0]);
        for (int j = 0; j < Math.min(k, c); j++) {
            double lambda = e.values[j];
            if (!(lambda > DROP * top)) {
                continue;
            }
            double s = Math.sqrt(lambda);
            kept[j] = s;
            keptSquares += lambda;
            double root = Math.sqrt(s);
            for (int i = 0; i < c; i++) {
                double w = e.vectors[i * c + j];
                coefA[j * c + i] = w / root;   // a_j = B^T w_j / sqrt(s_j) = sqrt(s_j) v_j
                coefB[j * c + i] = w * root;   // b_j = sqrt(s_j) Q w_j = sqrt(s_j) u_j
            }
        }
        double[] a = new double[k * dIn];
        double[] bt = new double[k * dOut];
        RowProducts.combineTiled(coefA, 0, k, c, b, 0, dIn, a, 0);
        RowProducts.combineTiled(coefB, 0, k, c, qt, 0, dOut, bt, 0);
        return new Approximation(new LowRankUpdate(k, dIn, dOut, a, bt), kept, Math.sqrt(frob2),
                Math.sqrt(Math.max(0, frob2 - keptSquares)));
    }

    /** {@code Q^T M} [c, dIn] for the basis Q [rows = dOut, c]. */
    private static double[] timesTransposed(Basis q, double[] m, int dOut, int dIn) {
        double[] qt = transpose(q.data, dOut, q.cols);
        double[] out = new double[q.cols * dIn];
        RowProducts.combineTiled(qt, 0, q.cols, dOut, m, 0, dIn, out, 0);
        return out;
    }

    /** Orthonormal columns spanning the columns of x [rows, cols] (numerically null directions dropped). */
    private record Basis(double[] data, int cols) {
    }

    /**
     * SVQB: with {@code G = X^T X = W L W^T}, {@code Q = X W L^{-1/2}} over the eigenvalues above
     * {@link #DROP} of the largest; {@code twice} repeats it on Q for full orthogonality.
     */
    private static Basis orthonormalize(double[] x, int rows, int cols, boolean twice) {
        Basis q = svqb(x, rows, cols);
        return twice && q.cols > 0 ? svqb(q.data, rows, q.cols) : q;
    }

    private static Basis svqb(double[] x, int rows, int cols) {
        double[] g = new double[cols * cols];
        RowProducts.combineTiled(transpose(x, rows, cols), 0, cols, rows, x, 0, cols, g, 0);
        Eigen e = symmetricEigen(g, cols);
        double top = e.values[0];
        int keep = 0;
        while (keep < cols && top > 0 && e.values[keep] > DROP * top) {
            keep++;
        }
        double[] coef = new double[cols * keep]; // [cols, keep]: W_kept L^{-1/2}
        for (int j = 0; j < keep; j++) {
            double inv = 1 / Math.sqrt(e.values[j]);
            for (int i = 0; i < cols; i++) {
                coef[i * keep + j] = e.vectors[i * cols + j] * inv;
            }
        }
        double[] q = new double[rows * keep];
        if (keep > 0) {
            RowProducts.combineTiled(x, 0, rows, cols, coef, 0, keep, q, 0);
        }
        return new Basis(q, keep);
    }

    /** Eigenvalues descending and the eigenvectors as columns of a row-major [n, n] matrix. */
    private record Eigen(double[] values, double[] vectors) {
    }

    private static Eigen symmetricEigen(double[] g, int n) {
        DMatrixRMaj matrix = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                matrix.data[i * n + j] = 0.5 * (g[i * n + j] + g[j * n + i]);
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(matrix)) {
            throw new IllegalStateException("EJML's symmetric eigen-decomposition did not converge (n = " + n + ")");
        }
        Integer[] order = new Integer[n];
        double[] raw = new double[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            raw[i] = eig.getEigenvalue(i).getReal();
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(raw[y], raw[x]));
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int j = 0; j < n; j++) {
            int src = order[j];
            values[j] = raw[src];
            DMatrixRMaj v = eig.getEigenVector(src);
            for (int i = 0; i < n; i++) {
                vectors[i * n + j] = v.get(i, 0);
            }
        }
        return new Eigen(values, vectors);
    }

    /** x [rows, cols] row-major transposed to [cols, rows]. */
    static double[] transpose(double[] x, int rows, int cols) {
        double[] t = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = x[base + c];
            }
        }
        return t;
    }

    private static Approximation zero(int k, int dIn, int dOut) {
        return new Approximation(new LowRankUpdate(k, dIn, dOut, new double[k * dIn], new double[k * dOut]),
                new double[k], 0, 0);
    }

    private static double sumOfSquares(double[] m) {
        double s = 0;
        for (double v : m) {
            s += v * v;
        }
        return s;
    }

    private static int checkedRank(double[] m, int dOut, int dIn, int rank) {
        if (dOut < 1 || dIn < 1 || m.length != (long) dOut * dIn) {
            throw new IllegalArgumentException(m.length + " values for a " + dOut + " x " + dIn + " matrix");
        }
        if (rank < 1) {
            throw new IllegalArgumentException("rank must be at least 1, got " + rank);
        }
        return Math.min(rank, Math.min(dOut, dIn));
    }
}
