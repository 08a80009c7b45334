package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.provider.Arguments;

/** Seeded inputs, awkward sizes and tolerance assertions shared by the kernel tests. */
final class KernelTestData {
    /** float32 unit roundoff, 2^-24. */
    static final double U = 0x1p-24;

    /** Sizes around the vector length (16 lanes on AVX-512, 8 on AVX2) and its multiples. */
    static final int[] SIZES = {0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 255, 257, 1000, 4099};

    /** Element offsets into the arrays, zero and not. */
    static final int[] OFFSETS = {0, 3, 17};

    private KernelTestData() {
    }

    static List<Arguments> sizesAndOffsets() {
        List<Arguments> out = new ArrayList<>();
        for (int n : SIZES) {
            for (int off : OFFSETS) {
                out.add(Arguments.of(n, off));
            }
        }
        return out;
    }

    /** An array of off + n + 5 Gaussian values times scale (guard elements around the range). */
    static float[] gaussian(Random rnd, int off, int n, double scale) {
        float[] a = new float[off + n + 5];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (rnd.nextGaussian() * scale);
        }
        return a;
    }

    /** An array of uniform values in [lo, hi). */
    static float[] uniform(Random rnd, int len, double lo, double hi) {
        float[] a = new float[len];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return a;
    }

    /** Fails unless |actual - expected| &lt;= tol, with a message naming the case. */
    static void close(double expected, double actual, double tol, String what) {
        if (!(Math.abs(actual - expected) <= tol)) {
            fail(what + ": expected " + expected + " but got " + actual + " (difference "
                    + Math.abs(actual - expected) + " > tolerance " + tol + ")");
        }
    }

    /** Fails unless the two floats have the same bits, or are both NaN. */
    static void same(float expected, float actual, String what) {
        if (Float.floatToIntBits(expected) != Float.floatToIntBits(actual)) {
            fail(what + ": expected " + expected + " but got " + actual);
        }
    }

    /** Fails unless the arrays are equal outside [off, off + n) (guard elements untouched). */
    static void untouchedOutside(float[] before, float[] after, int off, int n, String what) {
        for (int i = 0; i < before.length; i++) {
            if ((i < off || i >= off + n) && Float.floatToIntBits(before[i]) != Float.floatToIntBits(after[i])) {
                fail(what + ": element " + i + " outside [" + off + ", " + (off + n) + ") was changed");
            }
        }
    }
}
