package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.Test;

class DenseLowRankTest {
    /** Gaussian dOut x dIn matrix. */
    private static double[] gaussian(Random rng, int dOut, int dIn) {
        double[] m = new double[dOut * dIn];
        for (int i = 0; i < m.length; i++) {
            m[i] = rng.nextGaussian();
        }
        return m;
    }

    /**
     * {@code sum_j decay^j u_j v_j^T} over {@code terms} random (nearly orthogonal) unit-ish
     * directions, plus {@code noise} times a Gaussian matrix scaled by 1/sqrt(max(dOut, dIn)).
     */
    static double[] decaying(Random rng, int dOut, int dIn, int terms, double decay, double noise) {
        double[] m = new double[dOut * dIn];
        double[] u = new double[dOut];
        double[] v = new double[dIn];
        for (int j = 0; j < terms; j++) {
            double s = Math.pow(decay, j);
            for (int o = 0; o < dOut; o++) {
                u[o] = rng.nextGaussian() / Math.sqrt(dOut);
            }
            for (int i = 0; i < dIn; i++) {
                v[i] = rng.nextGaussian() / Math.sqrt(dIn);
            }
            for (int o = 0; o < dOut; o++) {
                for (int i = 0; i < dIn; i++) {
                    m[o * dIn + i] += s * u[o] * v[i];
                }
            }
        }
        double scale = noise / Math.sqrt(Math.max(dOut, dIn));
        for (int i = 0; i < m.length; i++) {
            m[i] += scale * rng.nextGaussian();
        }
        return m;
    }

    private static double frobenius(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    private static double relativeError(double[] m, LowRankUpdate u) {
        double[] d = u.dense();
        double s = 0;
        for (int i = 0; i < m.length; i++) {
            s += (m[i] - d[i]) * (m[i] - d[i]);
        }
        return Math.sqrt(s) / frobenius(m);
    }

    @Test
    void exactPathEqualsEjmlsTruncatedSvd() {
        Random rng = new Random(1);
        int dOut = 30;
        int dIn = 20;
        int k = 5;
        double[] m = gaussian(rng, dOut, dIn);
        DenseLowRank.Approximation approx = DenseLowRank.exact(m, dOut, dIn, k);

        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(dOut, dIn, true, true, true);
        assertTrue(svd.decompose(new DMatrixRMaj(dOut, dIn, true, m.clone())));
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj w = svd.getW(null);
        DMatrixRMaj v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(u, false, w, v, false);
        double[] expected = new double[dOut * dIn];
        double discarded = 0;
        for (int j = 0; j < dIn; j++) {
            double s = w.get(j, j);
            if (j >= k) {
                discarded += s * s;
                continue;
            }
            assertEquals(s, approx.singularValues()[j], 1e-12 * w.get(0, 0));
            for (int o = 0; o < dOut; o++) {
                for (int i = 0; i < dIn; i++) {
                    expected[o * dIn + i] += s * u.get(o, j) * v.get(i, j);
                }
            }
        }
        assertTrue(TaskVectorFixtures.maxDiff(expected, approx.update().dense()) < 1e-12);
        // singular values split evenly: |a_j| = |b_j| = sqrt(s_j)
        LowRankUpdate up = approx.update();
        for (int j = 0; j < k; j++) {
            double s = approx.singularValues()[j];
            assertEquals(Math.sqrt(s), Math.sqrt(dot(up.a(), j * dIn, up.a(), j * dIn, dIn)), 1e-12);
            assertEquals(Math.sqrt(s), Math.sqrt(dot(up.bt(), j * dOut, up.bt(), j * dOut, dOut)), 1e-12);
        }
        assertEquals(Math.sqrt(discarded) / frobenius(m), approx.truncationError(), 1e-12);
        assertEquals(relativeError(m, up), approx.truncationError(), 1e-12);
    }

    private static double dot(double[] x, int xo, double[] y, int yo, int len) {
        double s = 0;
        for (int i = 0; i < len; i++) {
            s += x[xo + i] * y[yo + i];
        }
        return s;
    }

    @Test
    void randomizedPathIsNearOptimalOnADecayingSpectrum() {
        // 900 x 600 (> EXACT_MAX_ENTRIES: bestRank takes the randomized path), singular values
        // about 0.97^j over 150 directions plus full-rank noise, K = 32. Measured: truncation
        // error 1.0006 x the optimal one (0.356), the leading 16 singular values within 1.2e-5
        // relative, all 32 within 4.3e-3.
        Random rng = new Random(2);
        int dOut = 900;
        int dIn = 600;
        int k = 32;
        double[] m = decaying(rng, dOut, dIn, 150, 0.97, 1e-3);
        DenseLowRank.Approximation exact = DenseLowRank.exact(m, dOut, dIn, k);
        DenseLowRank.Approximation fast = DenseLowRank.bestRank(m, dOut, dIn, k, 99);
        double actual = relativeError(m, fast.update());
        assertEquals(actual, fast.truncationError(), 1e-6);
        assertTrue(actual <= 1.002 * exact.truncationError(),
                "randomized " + actual + " vs optimal " + exact.truncationError());
        for (int j = 0; j < k; j++) {
            double rel = Math.abs(fast.singularValues()[j] - exact.singularValues()[j]) / exact.singularValues()[j];
            assertTrue(rel < (j < 16 ? 1e-4 : 1e-2), "singular value " + j + " off by " + rel);
        }
        // deterministic for a seed
        DenseLowRank.Approximation again = DenseLowRank.bestRank(m, dOut, dIn, k, 99);
        assertArrayEquals(fast.update().a(), again.update().a());
        assertArrayEquals(fast.update().bt(), again.update().bt());
    }

    @Test
    void randomizedPathReproducesAnExactlyLowRankMatrix() {
        Random rng = new Random(3);
        int dOut = 700;
        int dIn = 600;
        int r = 8;
        double[] m = decaying(rng, dOut, dIn, r, 0.8, 0);
        DenseLowRank.Approximation approx = DenseLowRank.randomized(m, dOut, dIn, r, 10, 2, 5);
        assertTrue(relativeError(m, approx.update()) < 1e-10, "error " + relativeError(m, approx.update()));
        // a larger K than the rank: trailing terms are (numerically) zero and the product is unchanged
        DenseLowRank.Approximation wide = DenseLowRank.randomized(m, dOut, dIn, 20, 10, 1, 5);
        assertEquals(20, wide.update().rank());
        assertTrue(relativeError(m, wide.update()) < 1e-10);
        // no power iteration and no oversampling still span an exactly rank-r matrix
        assertTrue(relativeError(m, DenseLowRank.randomized(m, dOut, dIn, r, 0, 0, 6).update()) < 1e-10);
    }

    @Test
    void zeroMatrixAndRankCap() {
        DenseLowRank.Approximation zero = DenseLowRank.randomized(new double[600 * 520], 600, 520, 4, 10, 2, 1);
        assertEquals(4, zero.update().rank());
        assertArrayEquals(new double[4 * 520], zero.update().a());
        assertEquals(0, zero.truncationError());
        Random rng = new Random(4);
        double[] m = gaussian(rng, 6, 4);
        DenseLowRank.Approximation capped = DenseLowRank.bestRank(m, 6, 4, 10, 1);
        assertEquals(4, capped.update().rank());
        assertTrue(relativeError(m, capped.update()) < 1e-13);
        assertThrows(IllegalArgumentException.class, () -> DenseLowRank.exact(m, 6, 4, 0));
        assertThrows(IllegalArgumentException.class, () -> DenseLowRank.exact(m, 5, 4, 2));
    }
}
