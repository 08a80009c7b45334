package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.FORWARD_TOL;
import static dev.lorakit.nn.GradCheck.GRAD_TOL;
import static dev.lorakit.nn.GradCheck.added;
import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.dot;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.sample;
import static dev.lorakit.nn.GradCheck.pick;
import static dev.lorakit.nn.GradCheck.randn;
import static dev.lorakit.nn.GradCheck.scaled;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** RMSNorm forward against a float64 reference; dx and dw against central finite differences. */
class RmsNormTest {

    static double[] reference(double[] x, double[] w, double eps, int N, int C) {
        double[] out = new double[N * C];
        for (int n = 0; n < N; n++) {
            double ss = 0;
            for (int c = 0; c < C; c++) {
                ss += x[n * C + c] * x[n * C + c];
            }
            double r = 1 / Math.sqrt(ss / C + eps);
            for (int c = 0; c < C; c++) {
                out[n * C + c] = x[n * C + c] * r * w[c];
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void forwardAndGradientsMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int C = 3 + rnd.nextInt(31);
        float eps = seed % 2 == 0 ? 1e-5f : 1e-6f;
        float[] x = randn(rnd, N * C, 0.5 + rnd.nextDouble() * 2);
        float[] w = randn(rnd, C);
        float[] out = new float[N * C];
        float[] rstd = new float[N];
        RmsNorm.forward(out, rstd, x, w, eps, N, C);
        double[] xd = d(x);
        double[] wd = d(w);
        assertClose("out", reference(xd, wd, eps, N, C), out, FORWARD_TOL);

        float[] dOut = randn(rnd, N * C);
        double[] fdX = numeric(xd, () -> dot(dOut, reference(xd, wd, eps, N, C)));
        double[] fdW = numeric(wd, () -> dot(dOut, reference(xd, wd, eps, N, C)));
        float[] priorX = randn(rnd, N * C);
        float[] priorW = randn(rnd, C);
        float[] dx = priorX.clone();
        float[] dw = priorW.clone();
        RmsNorm.backward(dx, dw, dOut, x, w, rstd, N, C);
        assertClose("dx", fdX, added(dx, priorX), GRAD_TOL);
        assertClose("dw", fdW, added(dw, priorW), GRAD_TOL);
        RmsNorm.backward(dx, dw, dOut, x, w, rstd, N, C);
        assertClose("dx twice", scaled(2, fdX), added(dx, priorX), GRAD_TOL);
        assertClose("dw twice", scaled(2, fdW), added(dw, priorW), GRAD_TOL);

        // a frozen weight (dw null) gives the same dx
        float[] dxOnly = priorX.clone();
        RmsNorm.backward(dxOnly, null, dOut, x, w, rstd, N, C);
        assertClose("dx with dw null", fdX, added(dxOnly, priorX), GRAD_TOL);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void inPlaceForwardGivesTheSameOutput(int seed) {
        Random rnd = new Random(seed);
        int N = 5;
        int C = 17;
        float[] x = randn(rnd, N * C);
        float[] w = randn(rnd, C);
        float[] out = new float[N * C];
        float[] rstd = new float[N];
        RmsNorm.forward(out, rstd, x, w, 1e-5f, N, C);
        RmsNorm.forward(x, rstd, x, w, 1e-5f, N, C);
        assertArrayEquals(out, x);
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void largerShapesRunInParallel(int seed) {
        Random rnd = new Random(seed);
        int N = 700;
        int C = 64; // several row chunks and column chunks
        float[] x = randn(rnd, N * C);
        float[] w = randn(rnd, C);
        float[] out = new float[N * C];
        float[] rstd = new float[N];
        RmsNorm.forward(out, rstd, x, w, 1e-5f, N, C);
        double[] xd = d(x);
        double[] wd = d(w);
        assertClose("out", reference(xd, wd, 1e-5f, N, C), out, FORWARD_TOL);
        float[] dOut = randn(rnd, N * C);
        int[] atX = sample(rnd, N * C, 40);
        double[] fdX = numeric(xd, atX, () -> dot(dOut, reference(xd, wd, 1e-5f, N, C)));
        double[] fdW = numeric(wd, () -> dot(dOut, reference(xd, wd, 1e-5f, N, C)));
        float[] dx = new float[N * C];
        float[] dw = new float[C];
        RmsNorm.backward(dx, dw, dOut, x, w, rstd, N, C);
        assertClose("dx", fdX, pick(dx, atX), GRAD_TOL);
        assertClose("dw", fdW, dw, GRAD_TOL);
    }
}
