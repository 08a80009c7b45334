package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.FORWARD_TOL;
import static dev.lorakit.nn.GradCheck.GRAD_TOL;
import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.dot;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RoPE in place: forward against a float64 rotate_half reference; the backward (inverse rotation
 * of the gradient, in place) against finite differences; forward then backward is the identity.
 */
class RopeTest {

    /** cos/sin tables [positions, D/2] as RopeTables lays them out (theta 10000). */
    static float[][] tables(int positions, int D) {
        int half = D / 2;
        float[] cos = new float[positions * half];
        float[] sin = new float[positions * half];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(10000, -2.0 * i / D);
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }

    /** x [N, heads*D] rotated at each row's position, float64. */
    static double[] reference(double[] x, int[] pos, float[] cos, float[] sin, int N, int heads, int D) {
        double[] y = x.clone();
        int half = D / 2;
        for (int n = 0; n < N; n++) {
            for (int h = 0; h < heads; h++) {
                int lo = n * heads * D + h * D;
                for (int i = 0; i < half; i++) {
                    double c = cos[pos[n] * half + i];
                    double s = sin[pos[n] * half + i];
                    y[lo + i] = x[lo + i] * c - x[lo + half + i] * s;
                    y[lo + half + i] = x[lo + half + i] * c + x[lo + i] * s;
                }
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void forwardRotatesAndBackwardIsTheTransposedRotation(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int[][] heads = {{4, 2}, {2, 2}, {3, 1}};
        int H = heads[seed % 3][0];
        int KV = heads[seed % 3][1];
        int D = 2 * (1 + rnd.nextInt(4));
        float[][] cs = tables(64, D);
        int[] pos = new int[N];
        for (int n = 0; n < N; n++) {
            pos[n] = rnd.nextInt(64);
        }
        float[] q = randn(rnd, N * H * D);
        float[] k = randn(rnd, N * KV * D);
        double[] qd = d(q);
        double[] kd = d(k);
        float[] q0 = q.clone();
        float[] k0 = k.clone();
        Rope.forward(q, k, pos, cs[0], cs[1], N, H, KV, D);
        assertClose("q", reference(qd, pos, cs[0], cs[1], N, H, D), q, FORWARD_TOL);
        assertClose("k", reference(kd, pos, cs[0], cs[1], N, KV, D), k, FORWARD_TOL);

        float[] dq = randn(rnd, N * H * D);
        float[] dk = randn(rnd, N * KV * D);
        double[] fdQ = numeric(qd, () -> dot(dq, reference(qd, pos, cs[0], cs[1], N, H, D)));
        double[] fdK = numeric(kd, () -> dot(dk, reference(kd, pos, cs[0], cs[1], N, KV, D)));
        Rope.backward(dq, dk, pos, cs[0], cs[1], N, H, KV, D);
        assertClose("dq", fdQ, dq, GRAD_TOL);
        assertClose("dk", fdK, dk, GRAD_TOL);

        // the backward's rotation undoes the forward's
        Rope.backward(q, k, pos, cs[0], cs[1], N, H, KV, D);
        assertClose("q rotated back", d(q0), q, FORWARD_TOL);
        assertClose("k rotated back", d(k0), k, FORWARD_TOL);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 8})
    void rejectsPositionsOutsideTheTables(int position) {
        float[][] cs = tables(8, 4);
        assertThrows(IllegalArgumentException.class,
                () -> Rope.forward(new float[4], new float[4], new int[] {position}, cs[0], cs[1], 1, 1, 1, 4));
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void largerShapesRunInParallel(int seed) {
        Random rnd = new Random(seed);
        int N = 900;
        int H = 4;
        int KV = 2;
        int D = 8; // several row chunks
        float[][] cs = tables(64, D);
        int[] pos = new int[N];
        for (int n = 0; n < N; n++) {
            pos[n] = n % 64;
        }
        float[] q = randn(rnd, N * H * D);
        float[] k = randn(rnd, N * KV * D);
        double[] qd = d(q);
        double[] kd = d(k);
        Rope.forward(q, k, pos, cs[0], cs[1], N, H, KV, D);
        assertClose("q", reference(qd, pos, cs[0], cs[1], N, H, D), q, FORWARD_TOL);
        assertClose("k", reference(kd, pos, cs[0], cs[1], N, KV, D), k, FORWARD_TOL);
        Rope.backward(q, k, pos, cs[0], cs[1], N, H, KV, D);
        assertClose("q rotated back", qd, q, FORWARD_TOL);
        assertClose("k rotated back", kd, k, FORWARD_TOL);
    }
}
