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
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The LoRA branch y += s B(A(x * mask)) with and without a (fixed) dropout mask: forward and
 * dx, dA, dB against a float64 reference and its central finite differences.
 */
class LoraTest {

    /** y0 + s * ((x * mask) A^T) B^T in float64; mask null means no dropout. */
    static double[] reference(double[] y0, double[] x, float[] mask, double[] A, double[] B, double s, int N, int in, int out, int R) {
        double[] y = y0.clone();
        for (int n = 0; n < N; n++) {
            double[] u = new double[R];
            for (int r = 0; r < R; r++) {
                for (int i = 0; i < in; i++) {
                    double xi = x[n * in + i] * (mask == null ? 1.0 : mask[n * in + i]);
                    u[r] += A[r * in + i] * xi;
                }
            }
            for (int o = 0; o < out; o++) {
                double t = 0;
                for (int r = 0; r < R; r++) {
                    t += B[o * R + r] * u[r];
                }
                y[n * out + o] += s * t;
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    void forwardAndGradientsMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int in = 3 + rnd.nextInt(31);
        int out = 3 + rnd.nextInt(31);
        int R = 1 + rnd.nextInt(4);
        float s = (float) (0.5 + 2 * rnd.nextDouble());
        boolean dropout = seed % 2 == 0;
        float[] mask = null;
        if (dropout) {
            mask = new float[N * in];
            Dropout.sampleMask(mask, 0.25f, seed, N * in);
        }
        float[] x = randn(rnd, N * in);
        float[] A = randn(rnd, R * in, 0.3);
        float[] B = randn(rnd, out * R, 0.3);
        float[] y0 = randn(rnd, N * out);
        float[] y = y0.clone();
        float[] xDrop = dropout ? new float[N * in] : null;
        float[] u = new float[N * R];
        float[] work = new float[Lora.workSize(N, in, R, dropout)];
        Lora.forward(y, xDrop, u, x, mask, A, B, s, work, N, in, out, R);
        double[] xd = d(x);
        double[] Ad = d(A);
        double[] Bd = d(B);
        double[] y0d = d(y0);
        float[] m = mask;
        assertClose("y", reference(y0d, xd, m, Ad, Bd, s, N, in, out, R), y, FORWARD_TOL);

        float[] dy = randn(rnd, N * out);
        double[] fdX = numeric(xd, () -> dot(dy, reference(y0d, xd, m, Ad, Bd, s, N, in, out, R)));
        double[] fdA = numeric(Ad, () -> dot(dy, reference(y0d, xd, m, Ad, Bd, s, N, in, out, R)));
        double[] fdB = numeric(Bd, () -> dot(dy, reference(y0d, xd, m, Ad, Bd, s, N, in, out, R)));
        float[] priorX = randn(rnd, N * in);
        float[] priorA = randn(rnd, R * in);
        float[] priorB = randn(rnd, out * R);
        float[] dx = priorX.clone();
        float[] dA = priorA.clone();
        float[] dB = priorB.clone();
        float[] saved = dropout ? xDrop : x;
        Lora.backward(dx, dA, dB, dy, saved, u, mask, A, B, s, work, N, in, out, R);
        assertClose("dx", fdX, added(dx, priorX), GRAD_TOL);
        assertClose("dA", fdA, added(dA, priorA), GRAD_TOL);
        assertClose("dB", fdB, added(dB, priorB), GRAD_TOL);
        Lora.backward(dx, dA, dB, dy, saved, u, mask, A, B, s, work, N, in, out, R);
        assertClose("dx twice", scaled(2, fdX), added(dx, priorX), GRAD_TOL);
        assertClose("dA twice", scaled(2, fdA), added(dA, priorA), GRAD_TOL);
        assertClose("dB twice", scaled(2, fdB), added(dB, priorB), GRAD_TOL);

        // dx null skips only the input gradient
        float[] dA2 = priorA.clone();
        float[] dB2 = priorB.clone();
        Lora.backward(null, dA2, dB2, dy, saved, u, mask, A, B, s, work, N, in, out, R);
        assertClose("dA with dx null", fdA, added(dA2, priorA), GRAD_TOL);
        assertClose("dB with dx null", fdB, added(dB2, priorB), GRAD_TOL);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void largerShapesThroughThePackedKernels(int seed) {
        Random rnd = new Random(100 + seed);
        int N = 45;
        int in = 130;
        int out = 77;
        int R = 8;
        float s = 2f;
        float[] mask = new float[N * in];
        Dropout.sampleMask(mask, 0.1f, seed, N * in);
        float[] x = randn(rnd, N * in);
        float[] A = randn(rnd, R * in, 0.1);
        float[] B = randn(rnd, out * R, 0.1);
        float[] y = new float[N * out];
        float[] xDrop = new float[N * in];
        float[] u = new float[N * R];
        float[] work = new float[Lora.workSize(N, in, R, true)];
        Lora.forward(y, xDrop, u, x, mask, A, B, s, work, N, in, out, R);
        double[] y0 = new double[N * out];
        double[] xd = d(x);
        double[] Ad = d(A);
        double[] Bd = d(B);
        assertClose("y", reference(y0, xd, mask, Ad, Bd, s, N, in, out, R), y, FORWARD_TOL);
        float[] dy = randn(rnd, N * out);
        int[] atX = sample(rnd, N * in, 40);
        int[] atA = sample(rnd, R * in, 40);
        int[] atB = sample(rnd, out * R, 40);
        double[] fdX = numeric(xd, atX, () -> dot(dy, reference(y0, xd, mask, Ad, Bd, s, N, in, out, R)));
        double[] fdA = numeric(Ad, atA, () -> dot(dy, reference(y0, xd, mask, Ad, Bd, s, N, in, out, R)));
        double[] fdB = numeric(Bd, atB, () -> dot(dy, reference(y0, xd, mask, Ad, Bd, s, N, in, out, R)));
        float[] dx = new float[N * in];
        float[] dA = new float[R * in];
        float[] dB = new float[out * R];
        Lora.backward(dx, dA, dB, dy, xDrop, u, mask, A, B, s, work, N, in, out, R);
        assertClose("dx", fdX, pick(dx, atX), GRAD_TOL);
        assertClose("dA", fdA, pick(dA, atA), GRAD_TOL);
        assertClose("dB", fdB, pick(dB, atB), GRAD_TOL);
    }

    @Test
    void withoutDropoutTheForwardReadsXAndLeavesXDropAlone() {
        Random rnd = new Random(1);
        int N = 3;
        int in = 5;
        int out = 4;
        int R = 2;
        float[] x = randn(rnd, N * in);
        float[] A = randn(rnd, R * in);
        float[] B = randn(rnd, out * R);
        float[] y = new float[N * out];
        float[] xDrop = new float[N * in];
        float[] u = new float[N * R];
        Lora.forward(y, xDrop, u, x, null, A, B, 1f, new float[Lora.workSize(N, in, R, false)], N, in, out, R);
        assertArrayEquals(new float[N * in], xDrop);
        float[] y2 = new float[N * out];
        Lora.forward(y2, null, u, x, null, A, B, 1f, new float[Lora.workSize(N, in, R, false)], N, in, out, R);
        assertArrayEquals(y, y2);
    }
}
