package dev.lorakit.tensor.kernel;

import jdk.incubator.vector.FloatVector;

/**
 * Deterministic horizontal sums. {@code reduceLanes(ADD)} leaves the summation order
 * unspecified, and C2's intrinsic and the interpreter's fallback do differ, so the same input can
 * sum to different floats before and after JIT compilation. Training resumed in a fresh JVM must
 * reproduce the uninterrupted run bit for bit, so every kernel sums lanes here, in lane order.
 */
final class Lanes {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    private Lanes() {
    }

    /** v[0] + v[1] + ... + v[L-1], left to right. */
    static float sum(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < L; i++) {
            s += v.lane(i);
        }
        return s;
    }
}
