package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OptimizerTest {
    /** Two AdamW steps worked out by hand (lr 0.1, wd 0.01, betas 0.9/0.999, eps 1e-8). */
    @Test
    void adamWFirstStepsByHand() {
        float[] p = {0.5f};
        float[] g = {0.2f};
        AdamW opt = new AdamW(List.of(NamedParameter.of("w", p, g)), 0.9, 0.999, 1e-8, 0.01);
        opt.step(0.1);
        // decay: 0.5 * (1 - 0.1 * 0.01) = 0.4995; m = 0.1 * 0.2 = 0.02, v = 0.001 * 0.04 = 4e-5;
        // mhat = 0.02 / 0.1 = 0.2, vhat = 4e-5 / 0.001 = 0.04: the first step moves by lr * g / |g| = 0.1.
        assertEquals(0.4995 - 0.1 * 0.2 / (0.2 + 1e-8), p[0], 1e-7);
        OptimizerState s1 = opt.exportState();
        assertEquals(0.02f, s1.buffers().get("w.exp_avg")[0], 0.02 * 1e-6);
        assertEquals(4e-5f, s1.buffers().get("w.exp_avg_sq")[0], 4e-5 * 1e-6);
        g[0] = -0.1f;
        double p1 = p[0];
        opt.step(0.1);
        // m = 0.9 * 0.02 + 0.1 * -0.1 = 0.008; v = 0.999 * 4e-5 + 0.001 * 0.01 = 4.996e-5;
        // bias corrections 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999.
        double expected = p1 * 0.999 - 0.1 / 0.19 * 0.008 / (Math.sqrt(4.996e-5) / Math.sqrt(0.001999) + 1e-8);
        assertEquals(expected, p[0], 2e-7);
        assertEquals(0.3724669, p[0], 1e-6);
        assertEquals(2, opt.stepCount());
    }

    /** torch.optim.AdamW's update written out in float64, for 3 steps of changing gradients. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4})
    void adamWMatchesTorchFormulasInFloat64(long seed) {
        Random r = new Random(seed);
        int n = 1 + r.nextInt(300);
        double lr = 1e-3 * (1 + r.nextInt(100));
        double b1 = 0.8 + 0.19 * r.nextDouble();
        double b2 = 0.9 + 0.0999 * r.nextDouble();
        double eps = r.nextBoolean() ? 1e-8 : 1e-3;
        double wd = r.nextBoolean() ? 0 : 0.1 * r.nextDouble();
        float[] p = new float[n];
        float[] g = new float[n];
        double[] pRef = new double[n];
        double[] m = new double[n];
        double[] v = new double[n];
        double[] gAbs = new double[n];  // sum of |g| over steps: the scale of m's float32 rounding
        double[] gSq = new double[n];   // sum of g^2 over steps: the scale of v's
        for (int i = 0; i < n; i++) {
            p[i] = (float) r.nextGaussian();
            pRef[i] = p[i];
        }
        AdamW opt = new AdamW(List.of(NamedParameter.of("w", p, g)), b1, b2, eps, wd);
        for (int t = 1; t <= 3; t++) {
            for (int i = 0; i < n; i++) {
                g[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(5) - 3));
            }
            opt.step(lr);
            for (int i = 0; i < n; i++) {
                gAbs[i] += Math.abs(g[i]);
                gSq[i] += g[i] * (double) g[i];
                pRef[i] *= 1 - lr * wd;                                   // param.mul_(1 - lr * weight_decay)
                m[i] = b1 * m[i] + (1 - b1) * g[i];                       // exp_avg.lerp_(grad, 1 - beta1)
                v[i] = b2 * v[i] + (1 - b2) * g[i] * (double) g[i];       // exp_avg_sq.mul_(beta2).addcmul_(...)
                double mhat = m[i] / (1 - Math.pow(b1, t));
                double vhat = v[i] / (1 - Math.pow(b2, t));
                pRef[i] -= lr * mhat / (Math.sqrt(vhat) + eps);
            }
            OptimizerState s = opt.exportState();
            for (int i = 0; i < n; i++) {
                assertEquals(pRef[i], p[i], 1e-6 * (1 + Math.abs(pRef[i])), "step " + t + ", element " + i);
                // m and v are stored in float32: errors of a few ulps of their terms (which may cancel in m)
                assertEquals(m[i], s.buffers().get("w.exp_avg")[i], 3e-7 * gAbs[i] + 1e-30);
                assertEquals(v[i], s.buffers().get("w.exp_avg_sq")[i], 3e-7 * gSq[i] + 1e-30);
            }
        }
    }

    /** Parameters inside shared buffers (at offsets) update exactly as standalone arrays do. */
    @Test
    void offsetsInSharedBuffersBehaveLikeStandaloneArrays() {
        Random r = new Random(11);
        float[] values = new float[50];
        float[] grads = new float[50];
        for (int i = 0; i < 50; i++) {
            values[i] = (float) r.nextGaussian();
            grads[i] = (float) r.nextGaussian();
        }
        float[] a = java.util.Arrays.copyOfRange(values, 3, 23);
        float[] ga = java.util.Arrays.copyOfRange(grads, 5, 25);
        float[] b = java.util.Arrays.copyOfRange(values, 30, 40);
        float[] gb = java.util.Arrays.copyOfRange(grads, 40, 50);
        float[] before = values.clone();
        AdamW shared = new AdamW(List.of(new NamedParameter("a", values, 3, grads, 5, 20),
                new NamedParameter("b", values, 30, grads, 40, 10)), 0.9, 0.99, 1e-8, 0.05);
        AdamW alone = new AdamW(List.of(NamedParameter.of("a", a, ga), NamedParameter.of("b", b, gb)), 0.9, 0.99, 1e-8, 0.05);
        for (int s = 0; s < 4; s++) {
            shared.step(0.01);
            alone.step(0.01);
        }
        assertArrayEquals(a, java.util.Arrays.copyOfRange(values, 3, 23));
        assertArrayEquals(b, java.util.Arrays.copyOfRange(values, 30, 40));
        assertEquals(alone.exportState(), shared.exportState());
        for (int i = 0; i < 50; i++) {
            if (i < 3 || (i >= 23 && i < 30) || i >= 40) {
                assertEquals(before[i], values[i], "element " + i + " belongs to no parameter");
            }
        }
        shared.zeroGrad();
        assertEquals(0f, grads[5]);
        assertEquals(0f, grads[49]);
    }

    /** Export after k steps, import into a fresh optimizer: the continuation is bit-identical. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 5})
    void exportedStateContinuesBitExactly(int cut) {
        int steps = 6;
        Random r = new Random(cut);
        float[][] grads = new float[steps][40];
        for (float[] g : grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) r.nextGaussian();
            }
        }
        float[] p = new float[40];
        float[] g = new float[40];
        AdamW full = new AdamW(List.of(NamedParameter.of("w", p, g)), 0.9, 0.999, 1e-8, 0.01);
        float[] q = new float[40];
        float[] h = new float[40];
        AdamW first = new AdamW(List.of(NamedParameter.of("w", q, h)), 0.9, 0.999, 1e-8, 0.01);
        for (int s = 0; s < steps; s++) {
            System.arraycopy(grads[s], 0, g, 0, 40);
            full.step(0.01 * (s + 1));
            if (s < cut) {
                System.arraycopy(grads[s], 0, h, 0, 40);
                first.step(0.01 * (s + 1));
            }
        }
        OptimizerState saved = first.exportState();
        float[] q2 = q.clone();
        float[] h2 = new float[40];
        AdamW second = new AdamW(List.of(NamedParameter.of("w", q2, h2)), 0.9, 0.999, 1e-8, 0.01);
        second.importState(saved);
        assertEquals(cut, second.stepCount());
        for (int s = cut; s < steps; s++) {
            System.arraycopy(grads[s], 0, h2, 0, 40);
            second.step(0.01 * (s + 1));
        }
        assertArrayEquals(p, q2);
        assertEquals(full.exportState(), second.exportState());
    }

    @Test
    void importRefusesStatesThatDoNotFit() {
        AdamW opt = new AdamW(List.of(NamedParameter.of("w", new float[3], new float[3])), 0.9, 0.999, 1e-8, 0);
        assertImportError(opt, new OptimizerState("sgd", 1, Map.of()), "saved by optimizer \"sgd\", but this run uses \"adamw\"");
        assertImportError(opt, new OptimizerState("adamw", 1, Map.of("w.exp_avg", new float[3])),
                "no buffer \"w.exp_avg_sq\" for trainable parameter w");
        assertImportError(opt, new OptimizerState("adamw", 1, Map.of("w.exp_avg", new float[3], "w.exp_avg_sq", new float[4])),
                "buffer \"w.exp_avg_sq\" has 4 elements but parameter w has 3");
        assertImportError(opt, new OptimizerState("adamw", 1, Map.of("w.exp_avg", new float[3], "w.exp_avg_sq", new float[3],
                "x.exp_avg", new float[1])), "buffer \"x.exp_avg\" belongs to no trainable parameter");
        Sgd sgd = new Sgd(List.of(NamedParameter.of("w", new float[3], new float[3])), 0);
        assertImportError(sgd, opt.exportState(), "saved by optimizer \"adamw\", but this run uses \"sgd\"");
        assertImportError(sgd, new OptimizerState("sgd", 1, Map.of("w.exp_avg", new float[3])), "SGD keeps no buffers");
        assertEquals(0, opt.stepCount());  // nothing was imported
        assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(NamedParameter.of("w", new float[1], new float[1]),
                NamedParameter.of("w", new float[1], new float[1])), 0.9, 0.999, 1e-8, 0));
    }

    private static void assertImportError(Optimizer opt, OptimizerState state, String expected) {
        BadInputException e = assertThrows(BadInputException.class, () -> opt.importState(state));
        assertTrue(e.getMessage().startsWith("optimizer state: ") && e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void sgdIsPlainGradientDescentWithL2WeightDecay() {
        float[] p = {1f, -2f};
        float[] g = {0.5f, 0.25f};
        Sgd sgd = new Sgd(List.of(NamedParameter.of("w", p, g)), 0.1);
        sgd.step(0.1);
        assertEquals(1 - 0.1 * (0.5 + 0.1 * 1), p[0], 1e-7);    // 0.94
        assertEquals(-2 - 0.1 * (0.25 + 0.1 * -2), p[1], 3e-7); // -2.005
        Sgd plain = new Sgd(List.of(NamedParameter.of("w", p, g)), 0);
        float before = p[0];
        plain.step(0.2);
        assertEquals(before - 0.2f * 0.5f, p[0], 1e-7);
        Sgd resumed = new Sgd(List.of(NamedParameter.of("w", p, g)), 0);
        resumed.importState(sgd.exportState());
        assertEquals(1, resumed.stepCount());
    }

    @Test
    void badArgumentsAreRefused() {
        List<NamedParameter> ps = List.of(NamedParameter.of("w", new float[1], new float[1]));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, 1.0, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, 0.9, 0.999, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, 0.9, 0.999, 1e-8, -1));
        assertThrows(IllegalArgumentException.class, () -> new AdamW(ps, 0.9, 0.999, 1e-8, 0).step(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new NamedParameter("w", new float[4], 2, new float[4], 0, 3));
        float[] shared = new float[4];
        assertThrows(IllegalArgumentException.class, () -> new NamedParameter("w", shared, 0, shared, 1, 2));
    }
}
