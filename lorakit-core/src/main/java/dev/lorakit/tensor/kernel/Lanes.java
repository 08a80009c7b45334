package dev.lorakit.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Deterministic horizontal sums. {@code reduceLanes(ADD)} leaves the summation order
 * unspecified, and C2's intrinsic and the interpreter's fallback do differ, so the same input can
 * sum to different floats before and after JIT compilation. Training resumed in a fresh JVM must
 * reproduce the uninterrupted run bit for bit, so every kernel sums lanes here, in a fixed
 * order: a butterfly of lane-wise adds (lane i plus lane i xor w, for w = L/2 down to 1), which
 * the interpreter and C2 compute alike. It is a few instructions, small enough to be inlined
 * into the row kernels (a lane-by-lane sum was not, and cost ~7 % of a quantized matvec).
 * Species wider than 16 lanes (none on x86) are summed lane by lane, left to right.
 */
final class Lanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorShuffle<Float> XOR8 = L == 16 ? butterfly(8) : null;
    private static final VectorShuffle<Float> XOR4 = L >= 8 && L <= 16 ? butterfly(4) : null;
    private static final VectorShuffle<Float> XOR2 = L >= 4 && L <= 16 ? butterfly(2) : null;
    private static final VectorShuffle<Float> XOR1 = L >= 2 && L <= 16 ? butterfly(1) : null;

    private Lanes() {
    }

    private static VectorShuffle<Float> butterfly(int w) {
        return VectorShuffle.fromOp(F, i -> i ^ w);
    }

    /**
     * The sum of v's lanes: ((v0 + v8) + (v4 + v12)) + ((v2 + v10) + (v6 + v14)) + ... for 16
     * lanes (pairs w = 8 apart first, then 4, 2, 1), the same for every input; left to right
     * beyond 16 lanes.
     */
    static float sum(FloatVector v) {
        if (L > 16) {
            float s = v.lane(0);
            for (int i = 1; i < L; i++) {
                s += v.lane(i);
            }
            return s;
        }
        if (L >= 16) {
            v = v.add(v.rearrange(XOR8));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(XOR4));
        }
        if (L >= 4) {
            v = v.add(v.rearrange(XOR2));
        }
        if (L >= 2) {
            v = v.add(v.rearrange(XOR1));
        }
        return v.lane(0);
    }
}
