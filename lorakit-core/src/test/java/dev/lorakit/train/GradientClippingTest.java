package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GradientClippingTest {
    private static List<NamedParameter> params(float[]... grads) {
        List<NamedParameter> out = new ArrayList<>();
        for (int i = 0; i < grads.length; i++) {
            out.add(NamedParameter.of("p" + i, new float[grads[i].length], grads[i]));
        }
        return out;
    }

    @Test
    void clipsByTheGlobalNormLikeTorch() {
        float[] a = {3f, 4f};
        float[] b = {12f};
        List<NamedParameter> ps = params(a, b);
        assertEquals(13.0, GradientClipping.globalNorm(ps));
        assertEquals(13.0, GradientClipping.clip(ps, 1.0));
        double coef = 1.0 / (13.0 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * coef), (float) (4 * coef)}, a);
        assertArrayEquals(new float[] {(float) (12 * coef)}, b);
        assertEquals(1.0, GradientClipping.globalNorm(ps), 1e-6);
    }

    @Test
    void leavesSmallGradientsAlone() {
        float[] a = {3f, 4f};
        assertEquals(5.0, GradientClipping.clip(params(a), 5.5));
        assertArrayEquals(new float[] {3f, 4f}, a);
        assertEquals(5.0, GradientClipping.clip(params(a), 0));  // 0: clipping off
        assertArrayEquals(new float[] {3f, 4f}, a);
        float[] z = {0f, 0f};
        assertEquals(0.0, GradientClipping.clip(params(z), 1.0));
        assertArrayEquals(new float[] {0f, 0f}, z);
    }

    @Test
    void nonFiniteNormLeavesGradientsUnchanged() {
        float[] a = {1f, Float.NaN};
        assertTrue(Double.isNaN(GradientClipping.clip(params(a), 1.0)));
        assertEquals(1f, a[0]);
        float[] b = {Float.POSITIVE_INFINITY, 2f};
        assertEquals(Double.POSITIVE_INFINITY, GradientClipping.clip(params(b), 1.0));
        assertEquals(2f, b[1]);
    }

    /** Random gradients at offsets in a shared buffer: the norm is float64-exact, the clipped norm is max_norm. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void randomGradientsInASharedBuffer(long seed) {
        Random r = new Random(seed);
        float[] grads = new float[1000];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = (float) (r.nextGaussian() * 10);
        }
        List<NamedParameter> ps = List.of(new NamedParameter("a", new float[1000], 0, grads, 0, 300),
                new NamedParameter("b", new float[1000], 0, grads, 500, 500));
        double sum = 0;
        for (int i = 0; i < 1000; i++) {
            if (i < 300 || i >= 500) {
                sum += (double) grads[i] * grads[i];
            }
        }
        float outside = grads[400];
        double norm = GradientClipping.clip(ps, 2.0);
        assertEquals(Math.sqrt(sum), norm, 1e-9 * norm);
        assertEquals(2.0, GradientClipping.globalNorm(ps), 1e-5);
        assertEquals(outside, grads[400]);  // not a parameter's gradient: untouched
    }
}
