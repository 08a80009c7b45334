package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.GRAD_TOL;
import static dev.lorakit.nn.GradCheck.added;
import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.sample;
import static dev.lorakit.nn.GradCheck.pick;
import static dev.lorakit.nn.GradCheck.randn;
import static dev.lorakit.nn.GradCheck.scaled;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Cross-entropy with ignored targets: the loss against a float64 reference, the gradient against
 * finite differences of that reference, the normaliser semantics of gradient accumulation, the
 * in-place variant, and stability for large logits.
 */
class CrossEntropyTest {
    private static final int IGNORE = CrossEntropy.IGNORE;

    /** sum over counted rows of (logsumexp - logit[target]), divided by normaliser, in float64. */
    static double reference(double[] logits, int[] targets, double normaliser, int N, int V) {
        double total = 0;
        for (int n = 0; n < N; n++) {
            if (targets[n] == IGNORE) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < V; i++) {
                max = Math.max(max, logits[n * V + i]);
            }
            double sum = 0;
            for (int i = 0; i < V; i++) {
                sum += Math.exp(logits[n * V + i] - max);
            }
            total += max + Math.log(sum) - logits[n * V + targets[n]];
        }
        return total / normaliser;
    }

    static int[] targets(Random rnd, int N, int V) {
        int[] t = new int[N];
        for (int n = 0; n < N; n++) {
            t[n] = rnd.nextInt(3) == 0 ? IGNORE : rnd.nextInt(V);
        }
        t[rnd.nextInt(N)] = rnd.nextInt(V); // at least one counted row
        return t;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void lossAndGradientMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int V = 3 + rnd.nextInt(31);
        float[] logits = randn(rnd, N * V, 3.0);
        int[] targets = targets(rnd, N, V);
        int count = CrossEntropy.countTargets(targets, N);
        float[] losses = new float[N];
        double mean = CrossEntropy.forward(losses, logits, targets, N, V);
        double[] ld = d(logits);
        double ref = reference(ld, targets, count, N, V);
        assertEquals(ref, mean, 1e-6 * Math.max(1, Math.abs(ref)), "mean loss");
        for (int n = 0; n < N; n++) {
            if (targets[n] == IGNORE) {
                assertEquals(0f, losses[n], "ignored row's loss");
            } else {
                int row = n;
                int[] one = new int[N];
                Arrays.fill(one, IGNORE);
                one[row] = targets[row];
                assertEquals(reference(ld, one, 1, N, V), losses[n], 1e-5, "row loss " + n);
            }
        }

        double[] fd = numeric(ld, () -> reference(ld, targets, count, N, V));
        float[] prior = randn(rnd, N * V);
        float[] dLogits = prior.clone();
        CrossEntropy.backward(dLogits, logits, targets, count, N, V);
        assertClose("dLogits", fd, added(dLogits, prior), GRAD_TOL);
        CrossEntropy.backward(dLogits, logits, targets, count, N, V);
        assertClose("dLogits twice", scaled(2, fd), added(dLogits, prior), GRAD_TOL);
        for (int n = 0; n < N; n++) {
            if (targets[n] == IGNORE) {
                for (int i = 0; i < V; i++) {
                    assertEquals(prior[n * V + i], dLogits[n * V + i], "ignored rows get no gradient");
                }
            }
        }

        // in place: the same gradient, 0 on ignored rows
        float[] fresh = new float[N * V];
        CrossEntropy.backward(fresh, logits, targets, count, N, V);
        float[] inPlace = logits.clone();
        CrossEntropy.backwardInPlace(inPlace, targets, count, N, V);
        assertArrayEquals(fresh, inPlace);
    }

    @Test
    void microBatchesWithTheTotalCountGiveTheMeanOverTheWholeBatch() {
        Random rnd = new Random(11);
        int V = 9;
        int N = 8;
        float[] logits = randn(rnd, N * V);
        // micro-batch 1: rows 0..3 with 4 counted targets; micro-batch 2: rows 4..7 with 1
        int[] targets = {1, 2, 3, 4, IGNORE, IGNORE, 5, IGNORE};
        int total = CrossEntropy.countTargets(targets, N);
        assertEquals(5, total);
        float[] losses = new float[N];
        double whole = CrossEntropy.forward(losses, logits, targets, N, V);
        float[] wholeGrad = new float[N * V];
        CrossEntropy.backward(wholeGrad, logits, targets, total, N, V);

        float[] micro = new float[N * V];
        double sum = 0;
        for (int m = 0; m < 2; m++) {
            float[] l = Arrays.copyOfRange(logits, m * 4 * V, (m + 1) * 4 * V);
            int[] t = Arrays.copyOfRange(targets, m * 4, (m + 1) * 4);
            sum += CrossEntropy.forward(new float[4], l, t, total, 4, V);
            float[] g = new float[4 * V];
            CrossEntropy.backward(g, l, t, total, 4, V);
            System.arraycopy(g, 0, micro, m * 4 * V, 4 * V);
        }
        assertEquals(whole, sum, 1e-12 * Math.abs(whole), "sum of micro-batch losses = whole-batch mean");
        assertArrayEquals(wholeGrad, micro, "micro-batch gradients = whole-batch gradient");
        // per-micro-batch means would differ: (4 * mean1 + 1 * mean2) / 5 != (mean1 + mean2) / 2
        double mean1 = CrossEntropy.forward(new float[4], Arrays.copyOfRange(logits, 0, 4 * V), Arrays.copyOfRange(targets, 0, 4), 4, V);
        double mean2 = CrossEntropy.forward(new float[4], Arrays.copyOfRange(logits, 4 * V, 8 * V), Arrays.copyOfRange(targets, 4, 8), 4, V);
        assertEquals(whole, (4 * mean1 + mean2) / 5, 1e-9);
    }

    @Test
    void largeLogitsStayFinite() {
        Random rnd = new Random(3);
        int N = 4;
        int V = 50;
        float[] logits = randn(rnd, N * V, 3e4); // exp would overflow without the max subtraction
        int[] targets = {0, 7, IGNORE, 49};
        float[] losses = new float[N];
        double mean = CrossEntropy.forward(losses, logits, targets, N, V);
        double ref = reference(d(logits), targets, 3, N, V);
        assertEquals(ref, mean, 1e-6 * Math.abs(ref));
        float[] g = new float[N * V];
        CrossEntropy.backward(g, logits, targets, 3, N, V);
        for (float v : g) {
            assertTrue(Float.isFinite(v));
        }
        for (int n : new int[] {0, 1, 3}) {
            double rowSum = 0;
            for (int i = 0; i < V; i++) {
                rowSum += g[n * V + i];
            }
            assertEquals(0, rowSum, 1e-6, "softmax - onehot sums to 0");
        }
    }

    @Test
    void allIgnoredGivesNaNMeanAndNoGradient() {
        float[] logits = {1f, 2f, 3f, 4f};
        int[] targets = {IGNORE, IGNORE};
        assertTrue(Double.isNaN(CrossEntropy.forward(new float[2], logits, targets, 2, 2)));
        assertEquals(0.0, CrossEntropy.forward(new float[2], logits, targets, 10.0, 2, 2));
        float[] g = new float[4];
        CrossEntropy.backward(g, logits, targets, 1, 2, 2);
        assertArrayEquals(new float[4], g);
        float[] inPlace = logits.clone();
        CrossEntropy.backwardInPlace(inPlace, targets, 1, 2, 2);
        assertArrayEquals(new float[4], inPlace);
    }

    @Test
    void rejectsTargetsOutsideTheVocabularyAndBadNormalisers() {
        float[] logits = new float[4];
        assertThrows(IllegalArgumentException.class, () -> CrossEntropy.forward(new float[2], logits, new int[] {0, 2}, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> CrossEntropy.forward(new float[2], logits, new int[] {0, -1}, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> CrossEntropy.backward(new float[4], logits, new int[] {0, 1}, 0.0, 2, 2));
    }

    @Test
    void largerShapesRunInParallel() {
        Random rnd = new Random(21);
        int N = 400;
        int V = 120; // several row chunks
        float[] logits = randn(rnd, N * V, 2.0);
        int[] targets = targets(rnd, N, V);
        int count = CrossEntropy.countTargets(targets, N);
        double[] ld = d(logits);
        double mean = CrossEntropy.forward(new float[N], logits, targets, N, V);
        double ref = reference(ld, targets, count, N, V);
        assertEquals(ref, mean, 1e-6 * Math.abs(ref));
        int[] at = sample(rnd, N * V, 40);
        double[] fd = numeric(ld, at, () -> reference(ld, targets, count, N, V));
        float[] g = new float[N * V];
        CrossEntropy.backward(g, logits, targets, count, N, V);
        assertClose("dLogits", fd, pick(g, at), GRAD_TOL);
    }
}
