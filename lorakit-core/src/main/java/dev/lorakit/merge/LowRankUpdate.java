package dev.lorakit.merge;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A merged module's update {@code dW = B A} with every scale folded in, as k rank-1 terms:
 * row j of {@code a} is a_j and row j of {@code bt} is b_j, {@code dW = sum_j b_j a_j^T}.
 * Written as a PEFT LoRA with r = lora_alpha = k (scaling 1).
 *
 * @param rank k
 * @param dIn input features
 * @param dOut output features
 * @param a A [k, dIn], row-major
 * @param bt B transposed [k, dOut], row-major
 */
public record LowRankUpdate(int rank, int dIn, int dOut, double[] a, double[] bt) {
    public LowRankUpdate {
        if (rank < 0 || dIn < 1 || dOut < 1) {
            throw new IllegalArgumentException("rank " + rank + ", dIn " + dIn + ", dOut " + dOut);
        }
        if (a.length != (long) rank * dIn || bt.length != (long) rank * dOut) {
            throw new IllegalArgumentException("factor arrays of length " + a.length + " and " + bt.length
                    + " do not match rank " + rank + " x (" + dIn + ", " + dOut + ")");
        }
    }

    /** This update padded with zero rank-1 terms to rank {@code k} (the product is unchanged). */
    public LowRankUpdate padTo(int k) {
        if (k < rank) {
            throw new IllegalArgumentException("cannot pad rank " + rank + " down to " + k);
        }
        if (k == rank) {
            return this;
        }
        double[] a2 = new double[k * dIn];
        double[] b2 = new double[k * dOut];
        System.arraycopy(a, 0, a2, 0, a.length);
        System.arraycopy(bt, 0, b2, 0, bt.length);
        return new LowRankUpdate(k, dIn, dOut, a2, b2);
    }

    /** {@code B A} as a dense [dOut, dIn] row-major matrix (small modules and tests only). */
    public double[] dense() {
        double[] w = new double[dOut * dIn];
        for (int j = 0; j < rank; j++) {
            for (int o = 0; o < dOut; o++) {
                double b = bt[j * dOut + o];
                if (b == 0) {
                    continue;
                }
                int row = o * dIn;
                int aj = j * dIn;
                for (int i = 0; i < dIn; i++) {
                    w[row + i] += b * a[aj + i];
                }
            }
        }
        return w;
    }

    /** PEFT's lora_A [k, dIn] in {@code dtype}, off-heap in {@code arena}. */
    public Tensor loraA(DType dtype, Arena arena) {
        return toTensor(a, rank, dIn, false, dtype, arena);
    }

    /** PEFT's lora_B [dOut, k] in {@code dtype}, off-heap in {@code arena}. */
    public Tensor loraB(DType dtype, Arena arena) {
        return toTensor(bt, dOut, rank, true, dtype, arena);
    }

    /** Rows x cols tensor from {@code src}; with {@code transposed} src holds it as [cols, rows]. */
    private static Tensor toTensor(double[] src, int rows, int cols, boolean transposed, DType dtype, Arena arena) {
        if (!dtype.isCompute()) {
            throw new IllegalArgumentException("merged factors are F32, F16 or BF16, not " + dtype);
        }
        MemorySegment seg = arena.allocate((long) rows * cols * dtype.byteSize(), 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (transposed ? src[c * rows + r] : src[r * cols + c]);
            }
            long base = (long) r * cols;
            switch (dtype) {
                case F32 -> MemorySegment.copy(row, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, base * 4, cols);
                case F16 -> {
                    for (int c = 0; c < cols; c++) {
                        seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + c, Float.floatToFloat16(row[c]));
                    }
                }
                default -> {
                    for (int c = 0; c < cols; c++) {
                        seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + c, Convert.f32ToBf16(row[c]));
                    }
                }
            }
        }
        return Tensor.wrap(dtype, Shape.of(rows, cols), seg);
    }
}
