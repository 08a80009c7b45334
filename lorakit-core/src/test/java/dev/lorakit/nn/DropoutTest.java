package dev.lorakit.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The dropout mask: values, drop rate, determinism; forward and backward as products with it. */
class DropoutTest {

    @Test
    void maskHoldsZeroOrTheKeepScaleAtTheRequestedRate() {
        int n = 200_000;
        float p = 0.3f;
        float[] mask = new float[n];
        Dropout.sampleMask(mask, p, 1234L, n);
        float keep = (float) (1.0 / (1.0 - p));
        int dropped = 0;
        for (float m : mask) {
            assertTrue(m == 0f || m == keep, "mask value " + m);
            if (m == 0f) {
                dropped++;
            }
        }
        double sigma = Math.sqrt(n * p * (1 - p));
        assertEquals(n * p, dropped, 5 * sigma, "dropped count");
    }

    @Test
    void maskDependsOnlyOnSeedAndIndex() {
        float[] big = new float[100_000];
        float[] small = new float[1000];
        Dropout.sampleMask(big, 0.1f, 7L, big.length);   // split over threads
        Dropout.sampleMask(small, 0.1f, 7L, small.length); // one chunk
        assertArrayEquals(small, Arrays.copyOf(big, small.length));
        float[] again = new float[big.length];
        Dropout.sampleMask(again, 0.1f, 7L, again.length);
        assertArrayEquals(big, again);
        float[] other = new float[big.length];
        Dropout.sampleMask(other, 0.1f, 8L, other.length);
        assertFalse(Arrays.equals(big, other));
    }

    @Test
    void zeroProbabilityKeepsEverything() {
        float[] mask = new float[100];
        Dropout.sampleMask(mask, 0f, 1L, mask.length);
        for (float m : mask) {
            assertEquals(1f, m);
        }
        assertThrows(IllegalArgumentException.class, () -> Dropout.sampleMask(mask, 1f, 1L, 10));
        assertThrows(IllegalArgumentException.class, () -> Dropout.sampleMask(mask, -0.1f, 1L, 10));
    }

    @Test
    void forwardAndBackwardMultiplyByTheMask() {
        float[] mask = {0f, 2f, 2f, 0f};
        float[] x = {1f, 2f, 3f, 4f};
        float[] out = new float[4];
        Dropout.forward(out, x, mask, 4);
        assertArrayEquals(new float[] {0f, 4f, 6f, 0f}, out);
        float[] dx = {1f, 1f, 1f, 1f};
        Dropout.backward(dx, new float[] {5f, 5f, 5f, 5f}, mask, 4);
        assertArrayEquals(new float[] {1f, 11f, 11f, 1f}, dx);
    }
}
