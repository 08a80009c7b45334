package dev.lorakit.merge;

import static dev.lorakit.merge.LegoFixtures.module;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link MsuPool}: the pool vectors, their Gram matrix, norms and combinations against plain
 * loops over the explicit vectors, at sizes below, at and across the Gram kernel's chunk width (512), with
 * and without the preprocessing options.
 */
class LegoMsuPoolTest {

    @ParameterizedTest
    @CsvSource({"7, 5, false, false", "512, 513, false, false", "1100, 530, true, false", "600, 1030, false, true",
            "40, 33, true, true"})
    void gramNormsAndCombinationsMatchTheExplicitVectors(int dIn, int dOut, boolean signs, boolean balance) {
        ModuleFactors m = module(dIn + dOut, dIn, dOut, new int[] {3, 2, 4}, new double[] {1, -0.5, 2},
                new double[] {2, 1, 0.25});
        MsuPool pool = MsuPool.fold(m, 2);
        if (signs) {
            pool.canonicaliseSigns();
        }
        if (balance) {
            pool.balance();
        }
        int n = pool.size();
        assertEquals(9, n);
        assertEquals(dIn + dOut, pool.dimension());
        double[][] v = new double[n][];
        for (int i = 0; i < n; i++) {
            v[i] = pool.vector(i);
        }

        // folding and preprocessing leave every rank-1 term sum_t f_t b a^T unchanged: sum b_i a_i^T = exact / s_ref
        double[] exact = m.denseSum();
        double maxAbs = 0;
        double maxDiff = 0;
        for (int o = 0; o < dOut; o += Math.max(1, dOut / 7)) {
            for (int c = 0; c < dIn; c += Math.max(1, dIn / 7)) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += v[i][dIn + o] * v[i][c];
                }
                maxDiff = Math.max(maxDiff, Math.abs(2 * s - exact[o * dIn + c]));
                maxAbs = Math.max(maxAbs, Math.abs(exact[o * dIn + c]));
            }
        }
        assertTrue(maxDiff <= 1e-12 * maxAbs, "pool reproduces the exact sum: " + maxDiff);

        double[] g = pool.gram();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < v[i].length; c++) {
                    s += v[i][c] * v[j][c];
                }
                assertEquals(s, g[i * n + j], 1e-12 * (1 + Math.abs(g[i * n + i]) + Math.abs(g[j * n + j])), "G " + i + "," + j);
                assertEquals(g[i * n + j], g[j * n + i], 0.0, "symmetric");
            }
        }

        double[] inf = pool.norms(MergeOptions.Norm.INF);
        double[] l2 = pool.norms(MergeOptions.Norm.L2);
        for (int i = 0; i < n; i++) {
            assertEquals(LegoFixtures.norm(v[i], MergeOptions.Norm.INF), inf[i], 0.0, "inf norm " + i);
            assertEquals(LegoFixtures.norm(v[i], MergeOptions.Norm.L2), l2[i], 1e-13 * l2[i], "L2 norm " + i);
            if (signs) {
                double lead = 0;
                for (int c = 0; c < dIn; c++) {
                    if (Math.abs(v[i][c]) > Math.abs(lead)) {
                        lead = v[i][c];
                    }
                }
                assertTrue(lead > 0, "largest a entry positive after sign canonicalisation");
            }
            if (balance) {
                double na = 0;
                double nb = 0;
                for (int c = 0; c < dIn; c++) {
                    na += v[i][c] * v[i][c];
                }
                for (int c = dIn; c < dIn + dOut; c++) {
                    nb += v[i][c] * v[i][c];
                }
                assertEquals(Math.sqrt(na), Math.sqrt(nb), 1e-12 * Math.sqrt(na), "balanced " + i);
            }
        }

        Random rng = new Random(7);
        int k = 3;
        double[] coeff = new double[k * n];
        for (int x = 0; x < coeff.length; x++) {
            coeff[x] = rng.nextInt(3) == 0 ? 0 : rng.nextGaussian();
        }
        LowRankUpdate comb = pool.combine(coeff, k);
        for (int j = 0; j < k; j++) {
            for (int c = 0; c < dIn + dOut; c++) {
                double s = 0;
                double scale = 0;
                for (int i = 0; i < n; i++) {
                    s += coeff[j * n + i] * v[i][c];
                    scale += Math.abs(coeff[j * n + i] * v[i][c]);
                }
                double got = c < dIn ? comb.a()[j * dIn + c] : comb.bt()[j * dOut + c - dIn];
                assertEquals(s, got, 1e-13 * (1 + scale), "combination " + j + " at " + c);
            }
        }
    }
}
