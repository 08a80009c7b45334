package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.FORWARD_TOL;
import static dev.lorakit.nn.GradCheck.GRAD_TOL;
import static dev.lorakit.nn.GradCheck.added;
import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.dot;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.pick;
import static dev.lorakit.nn.GradCheck.randn;
import static dev.lorakit.nn.GradCheck.sample;
import static dev.lorakit.nn.GradCheck.scaled;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Causal grouped-query attention: output and saved probabilities against a float64 reference
 * (probabilities exactly 0 above the diagonal); dq, dk, dv against finite differences for the
 * head groupings H/KV = 4/2, 2/2 and 3/1.
 */
class AttentionTest {

    /** out [N, H*D] and, when att != null, the probabilities [B, H, T, T] in float64. */
    static double[] reference(double[] q, double[] k, double[] v, double[] att, int B, int T, int H, int KV, int D) {
        int group = H / KV;
        double[] out = new double[B * T * H * D];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int kvh = h / group;
                for (int t = 0; t < T; t++) {
                    double[] p = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        double s = 0;
                        for (int i = 0; i < D; i++) {
                            s += q[(b * T + t) * H * D + h * D + i] * k[(b * T + t2) * KV * D + kvh * D + i];
                        }
                        p[t2] = s / Math.sqrt(D);
                        max = Math.max(max, p[t2]);
                    }
                    double sum = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] = Math.exp(p[t2] - max);
                        sum += p[t2];
                    }
                    for (int t2 = 0; t2 <= t; t2++) {
                        p[t2] /= sum;
                        if (att != null) {
                            att[((b * H + h) * T + t) * T + t2] = p[t2];
                        }
                        for (int i = 0; i < D; i++) {
                            out[(b * T + t) * H * D + h * D + i] += p[t2] * v[(b * T + t2) * KV * D + kvh * D + i];
                        }
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9})
    void forwardAndGradientsMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int B = 1 + rnd.nextInt(3);
        int T = 1 + rnd.nextInt(5);
        int[][] heads = {{4, 2}, {2, 2}, {3, 1}};
        int H = heads[seed % 3][0];
        int KV = heads[seed % 3][1];
        int D = 2 * (1 + rnd.nextInt(4));
        check(rnd, B, T, H, KV, D, Integer.MAX_VALUE);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void largerShapesRunInParallel(int seed) {
        Random rnd = new Random(50 + seed);
        check(rnd, 3, 24, seed == 1 ? 4 : 6, 2, 16, 60); // B*KV = 6 tasks; gradients at 60 sampled entries
    }

    @org.junit.jupiter.api.Test
    void severalCausalBlocksWithAPartialLastOne() {
        Random rnd = new Random(77);
        check(rnd, 2, 2 * Attention.BLOCK + 22, 2, 1, 8, 40); // blocks of 64, 64 and 22 query rows
    }

    private static void check(Random rnd, int B, int T, int H, int KV, int D, int samples) {
        int N = B * T;
        float[] q = randn(rnd, N * H * D);
        float[] k = randn(rnd, N * KV * D);
        float[] v = randn(rnd, N * KV * D);
        float[] out = new float[N * H * D];
        float[] att = new float[B * H * T * T];
        java.util.Arrays.fill(att, 7f); // the forward must overwrite every entry, zeros above the diagonal
        Attention.forward(out, att, q, k, v, B, T, H, KV, D);
        double[] qd = d(q);
        double[] kd = d(k);
        double[] vd = d(v);
        double[] attRef = new double[att.length];
        assertClose("out", reference(qd, kd, vd, attRef, B, T, H, KV, D), out, FORWARD_TOL);
        assertClose("att", attRef, att, FORWARD_TOL);
        for (int r = 0; r < B * H; r++) {
            for (int t = 0; t < T; t++) {
                for (int t2 = t + 1; t2 < T; t2++) {
                    assertEquals(0f, att[(r * T + t) * T + t2], "above the diagonal");
                }
            }
        }

        float[] dOut = randn(rnd, N * H * D);
        int[] atQ = sample(rnd, q.length, samples);
        int[] atK = sample(rnd, k.length, samples);
        int[] atV = sample(rnd, v.length, samples);
        double[] fdQ = numeric(qd, atQ, () -> dot(dOut, reference(qd, kd, vd, null, B, T, H, KV, D)));
        double[] fdK = numeric(kd, atK, () -> dot(dOut, reference(qd, kd, vd, null, B, T, H, KV, D)));
        double[] fdV = numeric(vd, atV, () -> dot(dOut, reference(qd, kd, vd, null, B, T, H, KV, D)));
        float[] priorQ = randn(rnd, q.length);
        float[] priorK = randn(rnd, k.length);
        float[] priorV = randn(rnd, v.length);
        float[] dq = priorQ.clone();
        float[] dk = priorK.clone();
        float[] dv = priorV.clone();
        Attention.backward(dq, dk, dv, dOut, att, q, k, v, B, T, H, KV, D);
        String shape = " (B=" + B + " T=" + T + " H=" + H + " KV=" + KV + " D=" + D + ")";
        assertClose("dq" + shape, fdQ, pick(added(dq, priorQ), atQ), GRAD_TOL);
        assertClose("dk" + shape, fdK, pick(added(dk, priorK), atK), GRAD_TOL);
        assertClose("dv" + shape, fdV, pick(added(dv, priorV), atV), GRAD_TOL);
        Attention.backward(dq, dk, dv, dOut, att, q, k, v, B, T, H, KV, D);
        assertClose("dq twice", scaled(2, fdQ), pick(added(dq, priorQ), atQ), GRAD_TOL);
        assertClose("dk twice", scaled(2, fdK), pick(added(dk, priorK), atK), GRAD_TOL);
        assertClose("dv twice", scaled(2, fdV), pick(added(dv, priorV), atV), GRAD_TOL);
    }
}
