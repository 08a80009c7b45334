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

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** h = silu(gate) * up: forward and dGate, dUp against a float64 reference and its finite differences. */
class SwiGluTest {

    static double[] reference(double[] gate, double[] up) {
        double[] h = new double[gate.length];
        for (int i = 0; i < h.length; i++) {
            h[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
        }
        return h;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void forwardAndGradientsMatchTheFloat64Reference(int seed) {
        Random rnd = new Random(seed);
        int n = (1 + rnd.nextInt(7)) * (3 + rnd.nextInt(31));
        float[] gate = randn(rnd, n, 3.0); // reaches both tails of silu
        float[] up = randn(rnd, n);
        float[] h = new float[n];
        SwiGlu.forward(h, gate, up, n);
        double[] gd = d(gate);
        double[] ud = d(up);
        assertClose("h", reference(gd, ud), h, FORWARD_TOL);

        float[] dh = randn(rnd, n);
        double[] fdG = numeric(gd, () -> dot(dh, reference(gd, ud)));
        double[] fdU = numeric(ud, () -> dot(dh, reference(gd, ud)));
        float[] priorG = randn(rnd, n);
        float[] priorU = randn(rnd, n);
        float[] dGate = priorG.clone();
        float[] dUp = priorU.clone();
        SwiGlu.backward(dGate, dUp, dh, gate, up, n);
        assertClose("dGate", fdG, added(dGate, priorG), GRAD_TOL);
        assertClose("dUp", fdU, added(dUp, priorU), GRAD_TOL);
        SwiGlu.backward(dGate, dUp, dh, gate, up, n);
        assertClose("dGate twice", scaled(2, fdG), added(dGate, priorG), GRAD_TOL);
        assertClose("dUp twice", scaled(2, fdU), added(dUp, priorU), GRAD_TOL);
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void largerShapesRunInParallel(int seed) {
        Random rnd = new Random(seed);
        int n = 50_001; // several chunks
        float[] gate = randn(rnd, n, 3.0);
        float[] up = randn(rnd, n);
        float[] h = new float[n];
        SwiGlu.forward(h, gate, up, n);
        double[] gd = d(gate);
        double[] ud = d(up);
        assertClose("h", reference(gd, ud), h, FORWARD_TOL);
        float[] dh = randn(rnd, n);
        int[] at = sample(rnd, n, 50);
        double[] fdG = numeric(gd, at, () -> dot(dh, reference(gd, ud)));
        double[] fdU = numeric(ud, at, () -> dot(dh, reference(gd, ud)));
        float[] dGate = new float[n];
        float[] dUp = new float[n];
        SwiGlu.backward(dGate, dUp, dh, gate, up, n);
        assertClose("dGate", fdG, pick(dGate, at), GRAD_TOL);
        assertClose("dUp", fdU, pick(dUp, at), GRAD_TOL);
    }
}
