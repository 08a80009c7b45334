package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.FORWARD_TOL;
import static dev.lorakit.nn.GradCheck.GRAD_TOL;
import static dev.lorakit.nn.GradCheck.added;
import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.dot;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.randn;
import static dev.lorakit.nn.GradCheck.scaled;

import dev.lorakit.tensor.kernel.Erf;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CA-LoRA's recovery module y += s U GELU(D x): forward and dx, dD, dU against a float64
 * reference (exact GELU through the float64 erf, accurate to ~1e-16) and its finite differences.
 */
class RecoveryTest {

    static double gelu(double x) {
        return 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
    }

    static double[] reference(double[] y0, double[] x, double[] D, double[] U, double s, int N, int in, int out, int R) {
        double[] y = y0.clone();
        for (int n = 0; n < N; n++) {
            double[] g = new double[R];
            for (int r = 0; r < R; r++) {
                double h = 0;
                for (int i = 0; i < in; i++) {
                    h += D[r * in + i] * x[n * in + i];
                }
                g[r] = gelu(h);
            }
            for (int o = 0; o < out; o++) {
                double t = 0;
                for (int r = 0; r < R; r++) {
                    t += U[o * R + r] * g[r];
                }
                y[n * out + o] += s * t;
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void forwardAndGradientsMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int in = 3 + rnd.nextInt(31);
        int out = 3 + rnd.nextInt(31);
        int R = 1 + rnd.nextInt(4);
        float s = (float) (0.5 + rnd.nextDouble());
        float[] x = randn(rnd, N * in);
        float[] D = randn(rnd, R * in, 0.4); // pre-activations of order 1: GELU's curved part
        float[] U = randn(rnd, out * R, 0.5);
        float[] y0 = randn(rnd, N * out);
        float[] y = y0.clone();
        float[] h = new float[N * R];
        float[] g = new float[N * R];
        float[] work = new float[Recovery.workSize(N, R)];
        Recovery.forward(y, h, g, x, D, U, s, work, N, in, out, R);
        double[] xd = d(x);
        double[] Dd = d(D);
        double[] Ud = d(U);
        double[] y0d = d(y0);
        assertClose("y", reference(y0d, xd, Dd, Ud, s, N, in, out, R), y, FORWARD_TOL);

        float[] dy = randn(rnd, N * out);
        double[] fdX = numeric(xd, () -> dot(dy, reference(y0d, xd, Dd, Ud, s, N, in, out, R)));
        double[] fdD = numeric(Dd, () -> dot(dy, reference(y0d, xd, Dd, Ud, s, N, in, out, R)));
        double[] fdU = numeric(Ud, () -> dot(dy, reference(y0d, xd, Dd, Ud, s, N, in, out, R)));
        float[] priorX = randn(rnd, N * in);
        float[] priorD = randn(rnd, R * in);
        float[] priorU = randn(rnd, out * R);
        float[] dx = priorX.clone();
        float[] dD = priorD.clone();
        float[] dU = priorU.clone();
        Recovery.backward(dx, dD, dU, dy, h, g, x, D, U, s, work, N, in, out, R);
        assertClose("dx", fdX, added(dx, priorX), GRAD_TOL);
        assertClose("dD", fdD, added(dD, priorD), GRAD_TOL);
        assertClose("dU", fdU, added(dU, priorU), GRAD_TOL);
        Recovery.backward(dx, dD, dU, dy, h, g, x, D, U, s, work, N, in, out, R);
        assertClose("dx twice", scaled(2, fdX), added(dx, priorX), GRAD_TOL);
        assertClose("dD twice", scaled(2, fdD), added(dD, priorD), GRAD_TOL);
        assertClose("dU twice", scaled(2, fdU), added(dU, priorU), GRAD_TOL);
    }
}
