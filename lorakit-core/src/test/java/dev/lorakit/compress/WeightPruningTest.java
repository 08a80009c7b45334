package dev.lorakit.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Unstructured (per output row) and N:M pruning by magnitude and by Wanda score, on hand-made and seeded matrices. */
class WeightPruningTest {
    @Test
    void magnitudeKeepsTheTopFractionOfEachRow() {
        // 2 rows x 8 columns; row 0 ascending magnitudes with mixed signs, row 1 in another order.
        float[] w = {
            0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, -0.8f,
            -8f, 1f, -3f, 2f, 7f, -5f, 4f, 6f};
        long zeroed = WeightPruning.pruneRows(w, 2, 8, null, 0.5);
        assertEquals(8, zeroed);
        assertArrayEquals(new float[] {
            0f, 0f, 0f, 0f, 0.5f, -0.6f, 0.7f, -0.8f,
            -8f, 0f, 0f, 0f, 7f, -5f, 0f, 6f}, w);
    }

    @Test
    void magnitudeKeepsExactlyTheRightOnesAtAnOddFraction() {
        float[] w = {3f, -1f, 4f, -1.5f, 5f, -9f, 2f, 6f, -5.5f, 3.5f};
        // S = 0.3 of 10 columns: floor(3) weights go: |1|, |1.5|, |2|.
        WeightPruning.pruneRows(w, 1, 10, null, 0.3);
        assertArrayEquals(new float[] {3f, 0f, 4f, 0f, 5f, -9f, 0f, 6f, -5.5f, 3.5f}, w);
        // 0.29 x 100 = 28.999999999999996 in binary: still 29 weights pruned per row.
        assertEquals(29, WeightPruning.prunedPerRow(100, 0.29));
        assertEquals(3, WeightPruning.prunedPerRow(10, 0.3));
        assertEquals(3, WeightPruning.prunedPerRow(7, 0.5));
    }

    @Test
    void tiesKeepTheLowerColumn() {
        float[] w = {1f, -1f, 1f, -1f};
        WeightPruning.pruneRows(w, 1, 4, null, 0.5);
        assertArrayEquals(new float[] {1f, -1f, 0f, 0f}, w);
        float[] g = {2f, -2f, 2f, -2f, 1f, 1f, 1f, 1f};
        WeightPruning.pruneNm(g, 1, 8, null, new NmSparsity(2, 4));
        assertArrayEquals(new float[] {2f, -2f, 0f, 0f, 1f, 1f, 0f, 0f}, g);
    }

    @Test
    void wandaWeighsEachColumnByItsInputNorm() {
        float[] w = {
            1f, -2f, 3f, 0.5f,
            -1f, 0.25f, -40f, 0.1f};
        float[] norms = {4f, 1f, 0.1f, 10f};
        // scores row 0: 4, 2, 0.3, 5 -> the two lowest (cols 2, 1) go; magnitude would drop cols 3 and 0.
        // scores row 1: 4, 0.25, 4, 1 -> cols 1 and 3 go.
        float[] wanda = w.clone();
        WeightPruning.pruneRows(wanda, 2, 4, norms, 0.5);
        assertArrayEquals(new float[] {1f, 0f, 0f, 0.5f, -1f, 0f, -40f, 0f}, wanda);
        float[] magnitude = w.clone();
        WeightPruning.pruneRows(magnitude, 2, 4, null, 0.5);
        assertArrayEquals(new float[] {0f, -2f, 3f, 0f, -1f, 0f, -40f, 0f}, magnitude);
        // 2:4 with the same scores is the same choice here (one group per row).
        float[] nm = w.clone();
        WeightPruning.pruneNm(nm, 2, 4, norms, new NmSparsity(2, 4));
        assertArrayEquals(wanda, nm);
    }

    @Test
    void twoFourKeepsTheTwoLargestOfEveryGroup() {
        float[] w = {
            0.1f, -0.9f, 0.5f, 0.2f, /* | */ 7f, 6f, -8f, 5f,
            -1f, 2f, -3f, 4f, /* | */ 0.3f, 0.1f, 0.2f, -0.4f};
        long zeroed = WeightPruning.pruneNm(w, 2, 8, null, NmSparsity.parse("2:4"));
        assertEquals(8, zeroed);
        assertArrayEquals(new float[] {
            0f, -0.9f, 0.5f, 0f, 7f, 0f, -8f, 0f,
            0f, 0f, -3f, 4f, 0.3f, 0f, 0f, -0.4f}, w);
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 0.25, 0.5, 0.7, 0.99})
    void seededMatricesKeepExactlyTheTopScoresPerRow(double sparsity) {
        Random rnd = new Random(Double.hashCode(sparsity));
        int rows = 37;
        int cols = 96;
        float[] w = new float[rows * cols];
        float[] norms = new float[cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        for (int j = 0; j < cols; j++) {
            norms[j] = (float) (0.1 + 3 * rnd.nextDouble());
        }
        for (float[] s : new float[][] {null, norms}) {
            float[] p = w.clone();
            WeightPruning.pruneRows(p, rows, cols, s, sparsity);
            int k = WeightPruning.prunedPerRow(cols, sparsity);
            for (int r = 0; r < rows; r++) {
                int zeros = 0;
                float maxPruned = 0;
                float minKept = Float.MAX_VALUE;
                for (int j = 0; j < cols; j++) {
                    float score = Math.abs(w[r * cols + j]) * (s == null ? 1 : s[j]);
                    if (p[r * cols + j] == 0f) {
                        zeros++;
                        maxPruned = Math.max(maxPruned, score);
                    } else {
                        assertEquals(w[r * cols + j], p[r * cols + j], "kept weights are unchanged");
                        minKept = Math.min(minKept, score);
                    }
                }
                assertEquals(k, zeros, "row " + r);
                assertEquals(cols - k, cols - zeros);
                assertTrue(maxPruned <= minKept, "row " + r + ": a pruned score " + maxPruned + " beats a kept " + minKept);
            }
        }
    }

    @Test
    void seededNmKeepsExactlyNPerGroupAndTheBestOnes() {
        Random rnd = new Random(24);
        int rows = 11;
        int cols = 64;
        NmSparsity pattern = new NmSparsity(2, 4);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        float[] p = w.clone();
        WeightPruning.pruneNm(p, rows, cols, null, pattern);
        for (int g = 0; g < w.length; g += 4) {
            int kept = 0;
            float minKept = Float.MAX_VALUE;
            float maxPruned = 0;
            for (int a = 0; a < 4; a++) {
                if (p[g + a] != 0f) {
                    kept++;
                    minKept = Math.min(minKept, Math.abs(w[g + a]));
                } else {
                    maxPruned = Math.max(maxPruned, Math.abs(w[g + a]));
                }
            }
            assertEquals(2, kept, "group at " + g);
            assertTrue(maxPruned <= minKept);
        }
    }

    @Test
    void badArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> WeightPruning.pruneNm(new float[6], 1, 6, null, new NmSparsity(2, 4)));
        assertThrows(IllegalArgumentException.class, () -> WeightPruning.pruneRows(new float[6], 1, 6, null, 1.0));
        assertThrows(IllegalArgumentException.class, () -> WeightPruning.pruneRows(new float[6], 1, 6, new float[5], 0.5));
        assertThrows(IllegalArgumentException.class, () -> WeightPruning.pruneRows(new float[6], 2, 6, null, 0.5));
    }
}
