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
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Linear with a frozen weight in F32, BF16 and F16 (heap and off-heap): forward and all three
 * gradients against a float64 reference that reads the same stored weight values.
 */
class LinearTest {

    static double[] reference(double[] x, double[] W, double[] bias, int N, int in, int out) {
        double[] y = new double[N * out];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    s += x[n * in + i] * W[o * in + i];
                }
                y[n * out + o] = s;
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void forwardAndGradientsMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int in = 3 + rnd.nextInt(31);
        int out = 3 + rnd.nextInt(31);
        DType dtype = new DType[] {DType.F32, DType.BF16, DType.F16}[seed % 3];
        boolean withBias = seed % 2 == 0;
        try (Arena arena = Arena.ofConfined()) {
            Tensor W = GradCheck.weight(rnd, dtype, out, in, 0.5);
            if (seed % 4 < 2) {
                W = W.copyToNative(arena); // as memory-mapped weights are
            }
            float[] x = randn(rnd, N * in);
            float[] bias = withBias ? randn(rnd, out) : null;
            float[] y = new float[N * out];
            Linear.forward(y, x, W, bias, N);
            double[] xd = d(x);
            double[] Wd = d(W);
            double[] bd = withBias ? d(bias) : null;
            assertClose("y (" + dtype + ")", reference(xd, Wd, bd, N, in, out), y, FORWARD_TOL);

            float[] dy = randn(rnd, N * out);
            double[] fdX = numeric(xd, () -> dot(dy, reference(xd, Wd, bd, N, in, out)));
            double[] fdW = numeric(Wd, () -> dot(dy, reference(xd, Wd, bd, N, in, out)));
            float[] priorX = randn(rnd, N * in);
            float[] priorW = randn(rnd, out * in);
            float[] dx = priorX.clone();
            float[] dW = priorW.clone();
            Linear.backwardInput(dx, dy, W, N);
            Linear.backwardWeight(dW, dy, x, N, in, out);
            assertClose("dx (" + dtype + ")", fdX, added(dx, priorX), GRAD_TOL);
            assertClose("dW", fdW, added(dW, priorW), GRAD_TOL);
            Linear.backwardInput(dx, dy, W, N);
            Linear.backwardWeight(dW, dy, x, N, in, out);
            assertClose("dx twice", scaled(2, fdX), added(dx, priorX), GRAD_TOL);
            assertClose("dW twice", scaled(2, fdW), added(dW, priorW), GRAD_TOL);
            if (withBias) {
                double[] fdB = numeric(bd, () -> dot(dy, reference(xd, Wd, bd, N, in, out)));
                float[] priorB = randn(rnd, out);
                float[] db = priorB.clone();
                Linear.backwardBias(db, dy, N, out);
                assertClose("db", fdB, added(db, priorB), GRAD_TOL);
                Linear.backwardBias(db, dy, N, out);
                assertClose("db twice", scaled(2, fdB), added(db, priorB), GRAD_TOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void largerShapesRunInParallel(int seed) {
        Random rnd = new Random(seed);
        int N = 600;
        int in = 70;
        int out = 90;
        Tensor W = GradCheck.weight(rnd, DType.BF16, out, in, 0.3);
        float[] x = randn(rnd, N * in);
        float[] bias = randn(rnd, out);
        float[] y = new float[N * out];
        Linear.forward(y, x, W, bias, N);
        double[] xd = d(x);
        double[] Wd = d(W);
        double[] bd = d(bias);
        assertClose("y", reference(xd, Wd, bd, N, in, out), y, FORWARD_TOL);
        float[] dy = randn(rnd, N * out);
        int[] atX = sample(rnd, N * in, 30);
        int[] atW = sample(rnd, out * in, 30);
        double[] fdX = numeric(xd, atX, () -> dot(dy, reference(xd, Wd, bd, N, in, out)));
        double[] fdW = numeric(Wd, atW, () -> dot(dy, reference(xd, Wd, bd, N, in, out)));
        double[] fdB = numeric(bd, () -> dot(dy, reference(xd, Wd, bd, N, in, out)));
        float[] dx = new float[N * in];
        float[] dW = new float[out * in];
        float[] db = new float[out];
        Linear.backwardInput(dx, dy, W, N);
        Linear.backwardWeight(dW, dy, x, N, in, out);
        Linear.backwardBias(db, dy, N, out);
        assertClose("dx", fdX, pick(dx, atX), GRAD_TOL);
        assertClose("dW", fdW, pick(dW, atW), GRAD_TOL);
        assertClose("db", fdB, db, GRAD_TOL);
    }

    @Test
    void rejectsAliasedAndShortBuffers() {
        Tensor W = Tensor.ofFloats(new float[6], 2, 3);
        float[] buf = new float[6];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Linear.backwardInput(buf, buf, W, 2));
        org.junit.jupiter.api.Assertions.assertEquals("Linear.backwardInput: dx and dy must be different arrays", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Linear.forward(new float[3], new float[6], W, null, 2));
    }
}
