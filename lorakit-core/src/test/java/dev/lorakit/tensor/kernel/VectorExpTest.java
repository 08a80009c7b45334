package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorExpTest {
    static final int L = FloatVector.SPECIES_PREFERRED.length();

    static float[] exp(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i + L <= x.length; i += L) {
            VectorExp.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, i)).intoArray(out, i);
        }
        return out;
    }

    @Test
    void withinThreeUlpOfMathExpOverTheFloatRange() {
        Random rnd = new Random(1);
        float[] x = new float[L * 20000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() * 176 - 87.3);
        }
        float[] y = exp(x);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            double ref = Math.exp(x[i]);
            double ulps = Math.abs(y[i] - ref) / Math.ulp((float) ref);
            worst = Math.max(worst, ulps);
        }
        assertTrue(worst <= 3, "worst error " + worst + " ulp");
    }

    @Test
    void edgeCases() {
        float[] x = new float[L];
        float[] special = {0f, -0f, 1f, -1f, 88.7f, 89f, -87.3f, -88f, -1000f, 1000f, Float.NaN,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e-30f, -1e-30f, 0.5f};
        System.arraycopy(special, 0, x, 0, Math.min(L, special.length));
        float[] y = exp(x);
        for (int i = 0; i < Math.min(L, special.length); i++) {
            float v = special[i];
            double ref = Math.exp(v);
            if (Float.isNaN(v)) {
                assertTrue(Float.isNaN(y[i]));
            } else if (ref > Float.MAX_VALUE) {
                assertEquals(Float.POSITIVE_INFINITY, y[i], "exp(" + v + ")");
            } else if (ref < 1.4e-45) {
                assertEquals(0f, y[i], "exp(" + v + ")");
            } else if (ref < 1.2e-38) {
                assertEquals(ref, y[i], 2 * Float.MIN_VALUE, "subnormal exp(" + v + ")");
            } else {
                assertEquals(ref, y[i], 3 * Math.ulp((float) ref), "exp(" + v + ")");
            }
        }
        assertEquals(1f, y[0]);
    }
}
