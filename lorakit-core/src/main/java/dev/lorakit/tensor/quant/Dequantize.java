package dev.lorakit.tensor.quant;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Block-quantized weights back to float32, one element at a time (the reference the kernels are
 * tested against, and the fallback for code that needs a dense copy, such as merging a LoRA into
 * a quantized weight). Each weight is q d (Q8_0) or (q - 8) d (Q4_0) with the fp16 scale d
 * widened to float32, as ggml's {@code dequantize_row_q8_0} / {@code dequantize_row_q4_0}
 * compute it; the product is exact in float32. Row-interleaved tensors ({@link RowGroups}) are
 * read through their layout by {@link #row}, {@link #toFloatArray} and {@link #toF32}.
 */
public final class Dequantize {
    private Dequantize() {
    }

    /**
     * Element {@code index} (flat, row-major) of a quantized tensor whose data starts at byte 0 of
     * {@code seg}.
     */
    public static float element(DType dt, MemorySegment seg, long index) {
        requireRowMajor(dt);
        long blockOff = index / BlockFormat.BLOCK * dt.blockBytes();
        return BlockFormat.quant(dt, seg, blockOff, (int) (index % BlockFormat.BLOCK)) * BlockFormat.scale(seg, blockOff);
    }

    /**
     * Elements [first, first + n) of the quantized row starting at byte {@code rowOff} of
     * {@code seg} (first need not start a block), into {@code dst[off .. off + n)}.
     */
    public static void range(DType dt, MemorySegment seg, long rowOff, int first, float[] dst, int off, int n) {
        requireRowMajor(dt);
        int i = 0;
        while (i < n) {
            int e = first + i;
            long blockOff = rowOff + (long) (e / BlockFormat.BLOCK) * dt.blockBytes();
            float d = BlockFormat.scale(seg, blockOff);
            int j = e % BlockFormat.BLOCK;
            for (; j < BlockFormat.BLOCK && i < n; j++, i++) {
                dst[off + i] = BlockFormat.quant(dt, seg, blockOff, j) * d;
            }
        }
    }

    /** Row r of a quantized matrix [rows, cols] into dst[off .. off + cols). */
    public static void row(Tensor w, int r, float[] dst, int off) {
        int cols = w.dim(-1);
        if (w.dtype().isRowInterleaved()) {
            RowGroups.dequantizeRow(w, r, 0, dst, off, cols);
            return;
        }
        range(w.dtype(), w.segment(), r * w.dtype().bytesFor(cols), 0, dst, off, cols);
    }

    /** All elements of a quantized tensor as a new float[] (for tests and small tensors). */
    public static float[] toFloatArray(Tensor q) {
        requireQuantized(q.dtype());
        if (q.size() > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("tensor " + q.shape() + " is too large for a float[]");
        }
        float[] out = new float[(int) q.size()];
        if (q.dtype().isRowInterleaved()) {
            int k = q.dim(1);
            for (int r = 0; r < q.dim(0); r++) {
                RowGroups.dequantizeRow(q, r, 0, out, r * k, k);
            }
            return out;
        }
        range(q.dtype(), q.segment(), 0, 0, out, 0, out.length);
        return out;
    }

    /** A heap F32 tensor of the same shape holding the dequantized weights. */
    public static Tensor toF32(Tensor q) {
        return Tensor.ofFloats(toFloatArray(q), q.shape().dims());
    }

    private static void requireQuantized(DType dt) {
        if (!dt.isQuantized()) {
            throw BlockFormat.notQuantized(dt);
        }
    }

    /** Byte-offset access needs the row-major layout (row-interleaved tensors go through {@link RowGroups}). */
    private static void requireRowMajor(DType dt) {
        requireQuantized(dt);
        if (dt.isRowInterleaved()) {
            throw new IllegalArgumentException(dt + " rows are interleaved: read its elements through RowGroups");
        }
    }
}
