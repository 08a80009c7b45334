package dev.lorakit.compress;

import dev.lorakit.tensor.Tensor;

/**
 * Keeps a subset of the rows or columns of a 2-D tensor, as structured pruning does to weights
 * (gate/up rows and down columns of the kept FFN channels) and as CA-LoRA's knowledge
 * inheritance must do to the LoRA factors of a pruned module (B's rows where W lost rows, A's
 * columns where W lost columns). The result is a new heap F32 tensor, in the order of
 * {@code keep}; values are copied exactly (F16/BF16 widen to F32 without rounding).
 */
public final class ChannelSlicing {
    private ChannelSlicing() {
    }

    /** t [rows, cols] restricted to rows {@code keep} (each in [0, rows)): [keep.length, cols]. */
    public static Tensor rows(Tensor t, int[] keep) {
        require2d(t);
        int rows = t.dim(0);
        int cols = t.dim(1);
        checkIndices(keep, rows, "row");
        float[] src = t.toFloatArray();
        float[] out = new float[keep.length * cols];
        for (int i = 0; i < keep.length; i++) {
            System.arraycopy(src, keep[i] * cols, out, i * cols, cols);
        }
        return Tensor.ofFloats(out, keep.length, cols);
    }

    /** t [rows, cols] restricted to columns {@code keep} (each in [0, cols)): [rows, keep.length]. */
    public static Tensor columns(Tensor t, int[] keep) {
        require2d(t);
        int rows = t.dim(0);
        int cols = t.dim(1);
        checkIndices(keep, cols, "column");
        float[] src = t.toFloatArray();
        float[] out = new float[rows * keep.length];
        for (int r = 0; r < rows; r++) {
            int so = r * cols;
            int d = r * keep.length;
            for (int i = 0; i < keep.length; i++) {
                out[d + i] = src[so + keep[i]];
            }
        }
        return Tensor.ofFloats(out, rows, keep.length);
    }

    private static void require2d(Tensor t) {
        if (t.shape().rank() != 2) {
            throw new IllegalArgumentException("expected a 2-D tensor, got " + t.shape());
        }
    }

    private static void checkIndices(int[] keep, int n, String what) {
        for (int k : keep) {
            if (k < 0 || k >= n) {
                throw new IllegalArgumentException(what + " index " + k + " outside [0, " + n + ")");
            }
        }
    }
}
