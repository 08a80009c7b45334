package dev.lorakit.merge;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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

    /** PEFT's lora_A [k, dIn] in {@code dtype}: little-endian bytes, row-major. */
    public byte[] loraABytes(DType dtype) {
        return encode(a, rank, dIn, false, dtype);
    }

    /** PEFT's lora_B [dOut, k] in {@code dtype}: little-endian bytes, row-major. */
    public byte[] loraBBytes(DType dtype) {
        return encode(bt, dOut, rank, true, dtype);
    }

    /** PEFT's lora_A [k, dIn] as a heap tensor in {@code dtype}. */
    public Tensor loraA(DType dtype) {
        return Tensor.wrap(dtype, Shape.of(rank, dIn), MemorySegment.ofArray(loraABytes(dtype)));
    }

    /** PEFT's lora_B [dOut, k] as a heap tensor in {@code dtype}. */
    public Tensor loraB(DType dtype) {
        return Tensor.wrap(dtype, Shape.of(dOut, rank), MemorySegment.ofArray(loraBBytes(dtype)));
    }

    /**
     * Rows x cols values from {@code src} (which holds them as [cols, rows] when transposed) in
     * {@code dtype}; a value that is not finite in float32 is an ArithmeticException.
     */
    private static byte[] encode(double[] src, int rows, int cols, boolean transposed, DType dtype) {
        if (!dtype.isCompute()) {
            throw new IllegalArgumentException("merged factors are F32, F16 or BF16, not " + dtype);
        }
        byte[] out = new byte[Math.multiplyExact(rows * cols, dtype.byteSize())];
        ByteBuffer bytes = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[cols];
        short[] half = dtype == DType.F32 ? null : new short[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float v = (float) (transposed ? src[c * rows + r] : src[r * cols + c]);
                if (!Float.isFinite(v)) {
                    throw new ArithmeticException("value " + v + " at [" + r + ", " + c + "] is not finite in float32");
                }
                row[c] = v;
            }
            if (dtype == DType.F32) {
                bytes.asFloatBuffer().position(r * cols).put(row);
            } else {
                for (int c = 0; c < cols; c++) {
                    half[c] = dtype == DType.F16 ? Float.floatToFloat16(row[c]) : Convert.f32ToBf16(row[c]);
                }
                bytes.asShortBuffer().position(r * cols).put(half);
            }
        }
        return out;
    }
}
