package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {
    private static double[] lrs(LearningRateSchedule.Kind kind, int warmup, int total, int steps) {
        LearningRateSchedule s = new LearningRateSchedule(kind, 10.0, warmup, total);
        double[] out = new double[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = s.lr(i);
        }
        return out;
    }

    /** The expected learning rates of transformers' tests/optimization/test_optimization.py (lr 10, 10 steps). */
    @Test
    void matchesTransformersScheduleTests() {
        assertClose(new double[] {0.0, 2.5, 5.0, 7.5, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0},
                lrs(LearningRateSchedule.Kind.CONSTANT, 4, 10, 10), 1e-2);
        assertClose(new double[] {0.0, 5.0, 10.0, 8.75, 7.5, 6.25, 5.0, 3.75, 2.5, 1.25},
                lrs(LearningRateSchedule.Kind.LINEAR, 2, 10, 10), 1e-2);
        assertClose(new double[] {0.0, 5.0, 10.0, 9.61, 8.53, 6.91, 5.0, 3.08, 1.46, 0.38},
                lrs(LearningRateSchedule.Kind.COSINE, 2, 10, 10), 1e-2);
    }

    /** The lr_lambda formulas, exactly. */
    @Test
    void exactFormulaValues() {
        LearningRateSchedule cos = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1.0, 10, 100);
        assertEquals(0.0, cos.multiplier(0));
        assertEquals(0.5, cos.multiplier(5));
        assertEquals(1.0, cos.multiplier(10));
        assertEquals(0.5 * (1 + Math.cos(Math.PI / 3)), cos.multiplier(40), 0);   // progress 1/3: 0.75
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 45 / 90)), cos.multiplier(55), 0);
        assertEquals(0.0, cos.multiplier(100));
        // past the end the cosine rises again, exactly as transformers' formula does (a run never gets there)
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 140 / 90)), cos.multiplier(150), 0);
        LearningRateSchedule lin = new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 2e-4, 10, 100);
        assertEquals(2e-4 * (45.0 / 90.0), lin.lr(55), 0);
        assertEquals(0.0, lin.lr(100));
        assertEquals(0.0, lin.lr(120));  // max(0, .)
        LearningRateSchedule noWarmup = new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1.0, 0, 4);
        assertEquals(1.0, noWarmup.multiplier(0));  // no warmup: the first step has the full rate
        assertEquals(0.25, noWarmup.multiplier(3));
        LearningRateSchedule constant = new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 3.0, 0, 1);
        assertEquals(3.0, constant.lr(0));
        assertEquals(3.0, constant.lr(1000));
        LearningRateSchedule allWarmup = new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 1.0, 10, 10);
        assertEquals(0.9, allWarmup.multiplier(9), 1e-15);
        assertEquals(1.0, allWarmup.multiplier(10));  // max(1, total - warmup) avoids dividing by zero
    }

    @Test
    void optionNamesAndValidation() {
        assertEquals(LearningRateSchedule.Kind.COSINE, LearningRateSchedule.Kind.fromOptionName("cosine"));
        assertEquals("linear", LearningRateSchedule.Kind.LINEAR.optionName());
        assertEquals(null, LearningRateSchedule.Kind.fromOptionName("Cosine"));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1, -1, 10));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(LearningRateSchedule.Kind.LINEAR, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(null, 1, 0, 10));
    }

    private static void assertClose(double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol, "step " + i);
        }
    }
}
