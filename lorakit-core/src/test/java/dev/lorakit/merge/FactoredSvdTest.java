package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.kernel.RowProducts;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** FactoredSvd against EJML's dense SVD of B A: singular values, the best rank-k product, degenerate inputs. */
class FactoredSvdTest {
    /** n rows of length len, N(0, 1) entries, each row scaled by 10^u, u uniform in [-spread, spread]. */
    private static double[] rows(Random rng, int n, int len, double spread) {
        double[] x = new double[n * len];
        for (int i = 0; i < n; i++) {
            double scale = Math.pow(10, spread * (2 * rng.nextDouble() - 1));
            for (int k = 0; k < len; k++) {
                x[i * len + k] = scale * rng.nextGaussian();
            }
        }
        return x;
    }

    /** n rows of length len (n <= len) with singular values log-spaced from 1 down to 1/kappa. */
    private static double[] conditioned(Random rng, int n, int len, double kappa) {
        double[] left = orthonormalColumns(rng, n, n);
        double[] right = orthonormalColumns(rng, len, n);
        double[] x = new double[n * len];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < n; c++) {
                double s = Math.pow(kappa, -(double) c / Math.max(1, n - 1));
                for (int k = 0; k < len; k++) {
                    x[i * len + k] += left[i * n + c] * s * right[k * n + c];
                }
            }
        }
        return x;
    }

    private static double[] orthonormalColumns(Random rng, int rows, int cols) {
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        for (int i = 0; i < m.data.length; i++) {
            m.data[i] = rng.nextGaussian();
        }
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(rows, cols);
        qr.decompose(m);
        return qr.getQ(null, true).data;
    }

    /**
     * Every property FactoredSvd promises, against the dense reference: singular values within
     * 1e-9 s_1, orthonormal u and v, the product equal to the best rank-k approximation (or, when
     * s_k is nearly tied with s_{k+1}, equally good), the truncation error and energy from the
     * spectrum, the balanced factors.
     */
    private static void assertMatchesDense(LowRankUpdate p, int k, int expectedRank, double tol) {
        int dIn = p.dIn();
        int dOut = p.dOut();
        double[] dense = p.dense();
        DenseSvd ref = DenseSvd.of(dense, dOut, dIn);
        double s1 = ref.value(0);
        double norm = DenseSvd.norm(dense);
        FactoredSvd f = FactoredSvd.of(p, k);
        String where = "[" + dOut + " x " + dIn + "], N " + p.rank() + ", k " + k;

        double[] values = f.singularValues();
        assertTrue(values.length <= Math.min(p.rank(), Math.min(dIn, dOut)), where);
        for (int i = 0; i < Math.min(dIn, dOut); i++) {
            double mine = i < values.length ? values[i] : 0;
            assertEquals(ref.value(i), mine, tol * s1, where + " s_" + i);
        }
        assertEquals(Math.min(k, expectedRank), f.rank(), where);

        int r = f.rank();
        double[] uu = new double[r * r];
        double[] vv = new double[r * r];
        RowProducts.gram(f.u(), r, dOut, uu);
        RowProducts.gram(f.v(), r, dIn, vv);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) {
                assertEquals(i == j ? 1 : 0, uu[i * r + j], 1e-9, where + " u orthonormal");
                assertEquals(i == j ? 1 : 0, vv[i * r + j], 1e-9, where + " v orthonormal");
            }
        }

        LowRankUpdate balanced = f.balancedFactors();
        for (int j = 0; j < r; j++) {
            double root = Math.sqrt(f.singularValue(j));
            assertEquals(root, Math.sqrt(RowProducts.dot(balanced.a(), j * dIn, balanced.a(), j * dIn, dIn)),
                    1e-9 * root);
            assertEquals(root, Math.sqrt(RowProducts.dot(balanced.bt(), j * dOut, balanced.bt(), j * dOut, dOut)),
                    1e-9 * root);
        }
        double[] mine = balanced.dense();
        double[] best = ref.bestRank(r);
        boolean tied = r > 0 && r < ref.values().length && ref.value(r) > (1 - 1e-6) * ref.value(r - 1);
        if (!tied) {
            assertEquals(0, DenseSvd.distance(mine, best), tol * norm + 1e-300, where + " rank-k product");
        }
        double residual = DenseSvd.distance(mine, dense);
        assertEquals(DenseSvd.distance(best, dense), residual, tol * norm + 1e-300, where + " residual");
        if (norm > 0) {
            assertEquals(residual / norm, f.truncationError(r), 1e-7, where + " truncation error");
        }
        double e = f.truncationError(r);
        assertEquals(1, f.keptEnergy(r) + e * e, 1e-12, where);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
    void randomShapesRanksAndKMatchTheDenseSvd(long seed) {
        Random rng = new Random(seed);
        int dIn = 1 + rng.nextInt(40);
        int dOut = 1 + rng.nextInt(40);
        int n = 1 + rng.nextInt(16);
        int k = rng.nextInt(n + 3);
        LowRankUpdate p = new LowRankUpdate(n, dIn, dOut, rows(rng, n, dIn, 1), rows(rng, n, dOut, 1));
        assertMatchesDense(p, k, Math.min(n, Math.min(dIn, dOut)), 1e-9);
    }

    @Test
    void llamaLikeShapeMatchesTheDenseSvd() {
        Random rng = new Random(21);
        LowRankUpdate p = new LowRankUpdate(48, 256, 688, rows(rng, 48, 256, 0), rows(rng, 48, 688, 0.5));
        assertMatchesDense(p, 16, 48, 1e-9);
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e2, 1e4, 1e6})
    void illConditionedFactorsStayAccurate(double kappa) {
        Random rng = new Random(Double.doubleToLongBits(kappa));
        LowRankUpdate p = new LowRankUpdate(24, 300, 200, conditioned(rng, 24, 300, kappa),
                conditioned(rng, 24, 200, kappa));
        assertMatchesDense(p, 8, 24, 1e-9);
    }

    @Test
    void duplicateInputsGiveTheExactRank() {
        // the same rank-5 adapter twice with coefficients 1 and -3, plus one more rank-2 term: rank 7, N 12
        Random rng = new Random(4);
        int dIn = 30;
        int dOut = 20;
        double[] a5 = rows(rng, 5, dIn, 0.5);
        double[] b5 = rows(rng, 5, dOut, 0.5);
        double[] a = new double[12 * dIn];
        double[] bt = new double[12 * dOut];
        System.arraycopy(a5, 0, a, 0, a5.length);
        System.arraycopy(a5, 0, a, a5.length, a5.length);
        System.arraycopy(rows(rng, 2, dIn, 0), 0, a, 2 * a5.length, 2 * dIn);
        System.arraycopy(b5, 0, bt, 0, b5.length);
        for (int i = 0; i < b5.length; i++) {
            bt[b5.length + i] = -3 * b5[i];
        }
        System.arraycopy(rows(rng, 2, dOut, 0), 0, bt, 2 * b5.length, 2 * dOut);
        LowRankUpdate p = new LowRankUpdate(12, dIn, dOut, a, bt);
        assertMatchesDense(p, 12, 7, 1e-9);
        assertMatchesDense(p, 4, 7, 1e-9);
        FactoredSvd f = FactoredSvd.of(p, 12);
        assertEquals(7, f.rank());
        assertEquals(0, DenseSvd.distance(f.balancedFactors().dense(), p.dense()), 1e-12 * DenseSvd.norm(p.dense()));
    }

    @Test
    void moreTermsThanColumnsGiveTheFullRank() {
        Random rng = new Random(5);
        LowRankUpdate p = new LowRankUpdate(40, 12, 30, rows(rng, 40, 12, 1), rows(rng, 40, 30, 1));
        assertMatchesDense(p, 40, 12, 1e-9);
        assertMatchesDense(p, 5, 12, 1e-9);
    }

    @Test
    void smallButIndependentTermsAreKept() {
        // half the terms with coefficient 1e-9: dropping them would be an error of 1e-9, we see 1e-14
        Random rng = new Random(6);
        double[] bt = rows(rng, 24, 200, 0);
        for (int i = 12 * 200; i < bt.length; i++) {
            bt[i] *= 1e-9;
        }
        LowRankUpdate p = new LowRankUpdate(24, 300, 200, rows(rng, 24, 300, 0), bt);
        FactoredSvd f = FactoredSvd.of(p, 24);
        assertEquals(24, f.rank());
        double[] dense = p.dense();
        assertTrue(DenseSvd.distance(f.balancedFactors().dense(), dense) < 1e-13 * DenseSvd.norm(dense));
        assertMatchesDense(p, 16, 24, 1e-9);
        // 4 large and 20 tiny terms, k = 8 < 24 / 2: u_j = C v_j / s_j would lose 1e-7 on the tiny
        // kept triplets, so U comes from the full core SVD (the orthonormality check would fail)
        double[] bt4 = rows(rng, 24, 200, 0);
        for (int i = 4 * 200; i < bt4.length; i++) {
            bt4[i] *= 1e-9;
        }
        assertMatchesDense(new LowRankUpdate(24, 300, 200, rows(rng, 24, 300, 0), bt4), 8, 24, 1e-9);
    }

    @Test
    void zeroFactorsGiveZeroWithoutNaN() {
        Random rng = new Random(7);
        // a fresh PEFT init: B = 0
        LowRankUpdate zeroB = new LowRankUpdate(8, 10, 6, rows(rng, 8, 10, 0), new double[8 * 6]);
        LowRankUpdate zeroA = new LowRankUpdate(8, 10, 6, new double[8 * 10], rows(rng, 8, 6, 0));
        for (LowRankUpdate p : new LowRankUpdate[] {zeroB, zeroA}) {
            FactoredSvd f = FactoredSvd.of(p, 4);
            assertEquals(0, f.rank());
            assertEquals(0, f.singularValues().length);
            assertEquals(0, f.truncationError(4));
            assertEquals(1, f.keptEnergy(4));
            LowRankUpdate b = f.balancedFactors();
            assertEquals(0, b.rank());
            assertArrayEquals(new double[6 * 10], b.padTo(4).dense());
        }
        // no terms at all
        FactoredSvd empty = FactoredSvd.of(new LowRankUpdate(0, 3, 2, new double[0], new double[0]), 2);
        assertEquals(0, empty.rank());
    }

    @Test
    void termsThatCancelGiveZero() {
        // b a^T + (-b) a^T = 0: both factors have rank 1 but the core is 0
        Random rng = new Random(8);
        double[] a1 = rows(rng, 1, 9, 0);
        double[] b1 = rows(rng, 1, 7, 0);
        double[] a = new double[18];
        double[] bt = new double[14];
        System.arraycopy(a1, 0, a, 0, 9);
        System.arraycopy(a1, 0, a, 9, 9);
        for (int i = 0; i < 7; i++) {
            bt[i] = b1[i];
            bt[7 + i] = -b1[i];
        }
        FactoredSvd f = FactoredSvd.of(new LowRankUpdate(2, 9, 7, a, bt), 2);
        assertEquals(0, f.rank());
        for (double s : f.singularValues()) {
            assertTrue(s < 1e-14, "noise singular value " + s);
        }
        assertArrayEquals(new double[0], f.balancedFactors().a());
    }

    @Test
    void givenGramsGiveTheSameBitsAndBadArgumentsAreRefused() {
        Random rng = new Random(9);
        LowRankUpdate p = new LowRankUpdate(10, 33, 17, rows(rng, 10, 33, 1), rows(rng, 10, 17, 1));
        double[] ga = new double[100];
        double[] gb = new double[100];
        RowProducts.gram(p.a(), 10, 33, ga);
        RowProducts.gram(p.bt(), 10, 17, gb);
        FactoredSvd x = FactoredSvd.of(p, 3);
        FactoredSvd y = FactoredSvd.of(p, ga, gb, 3);
        assertArrayEquals(x.singularValues(), y.singularValues());
        assertArrayEquals(x.u(), y.u());
        assertArrayEquals(x.v(), y.v());
        assertThrows(IllegalArgumentException.class, () -> FactoredSvd.of(p, -1));
        assertThrows(IllegalArgumentException.class, () -> FactoredSvd.of(p, new double[99], gb, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> x.singularValue(3));
        // k = 0: the spectrum only
        FactoredSvd values = FactoredSvd.of(p, 0);
        assertEquals(0, values.rank());
        assertArrayEquals(x.singularValues(), values.singularValues());
        assertEquals(1, values.truncationError(0), 1e-15);
    }

    @Test
    void rowSpaceBasisIsOrthonormalAndReproducesTheRows() {
        // 9 rows spanning 6 dimensions: rows 6..8 are combinations of rows 0..5, row 3 is zero
        Random rng = new Random(10);
        int len = 50;
        double[] x = rows(rng, 9, len, 2);
        java.util.Arrays.fill(x, 3 * len, 4 * len, 0);
        for (int k = 0; k < len; k++) {
            x[6 * len + k] = 2 * x[k] - x[len + k];
            x[7 * len + k] = 0.5 * x[2 * len + k];
            x[8 * len + k] = x[4 * len + k] + x[5 * len + k] + x[k];
        }
        double[] g = new double[81];
        RowProducts.gram(x, 9, len, g);
        RowSpaceBasis basis = RowSpaceBasis.of(g, 9, FactoredSvd.RANK_TOLERANCE);
        int r = basis.rank();
        assertEquals(5, r);
        double[] identity = new double[r * r];
        for (int i = 0; i < r; i++) {
            identity[i * r + i] = 1;
        }
        double[] qt = new double[r * len];
        RowProducts.combine(basis.coefficients(identity, r), r, 9, x, 0, len, qt);
        double[] qq = new double[r * r];
        RowProducts.gram(qt, r, len, qq);
        assertArrayEquals(identity, qq, 1e-12);
        double[] f = basis.f();
        for (int i = 0; i < 9; i++) {
            double rowNorm = Math.sqrt(g[i * 9 + i]);
            for (int k = 0; k < len; k++) {
                double s = 0;
                for (int c = 0; c < r; c++) {
                    s += f[i * r + c] * qt[c * len + k];
                }
                assertEquals(x[i * len + k], s, 1e-12 * (rowNorm + 1));
            }
        }
    }
}
