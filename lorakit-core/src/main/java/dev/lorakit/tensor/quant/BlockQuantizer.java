package dev.lorakit.tensor.quant;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Quantizes float weights to {@link DType#Q8_0} or {@link DType#Q4_0} exactly as llama.cpp's
 * reference quantizers ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}) do, so the
 * bytes match a GGUF file made by llama.cpp from the same float32 values. Per block of 32:
 * <ul>
 *   <li>Q8_0: amax = max |x|; d = amax / 127; id = 1/d (0 when d = 0), computed from the float32
 *       d; q = round(x id) rounding halves away from zero (C {@code roundf}); d stored as fp16
 *       (round to nearest even).</li>
 *   <li>Q4_0: max = the signed value of largest magnitude (the first one on ties); d = max / -8;
 *       id = 1/d from the float32 d (0 when d = 0); q = min(15, (int) (x id + 8.5)) truncating
 *       toward zero, also clamped at 0; d stored as fp16. The element equal to max lands on
 *       q = 0 (weight -8 d = max); its negation would need q = 16 and is clamped to 15.</li>
 * </ul>
 * Rows are quantized in parallel; a weight [out, in] needs in to be a multiple of 32.
 */
public final class BlockQuantizer {
    private BlockQuantizer() {
    }

    /** A heap tensor (byte[]-backed) of the target type holding the quantized {@code src}. */
    public static Tensor quantize(Tensor src, DType target) {
        checkArguments(src, target);
        Tensor out = Tensor.zeros(target, src.shape());
        fill(src, target, out.segment());
        return out;
    }

    /** As {@link #quantize(Tensor, DType)} but in native memory owned by {@code arena} (64-byte aligned). */
    public static Tensor quantize(Tensor src, DType target, Arena arena) {
        checkArguments(src, target);
        long bytes = target.bytesFor(src.size());
        MemorySegment seg = arena.allocate(Math.max(1, bytes), 64).asSlice(0, bytes);
        fill(src, target, seg);
        return Tensor.wrap(target, src.shape(), seg);
    }

    private static void checkArguments(Tensor src, DType target) {
        if (!target.isQuantized() || target.isRowInterleaved()) {
            throw new IllegalArgumentException("quantize target must be Q8_0 or Q4_0, got " + target);
        }
        if (!src.dtype().isCompute()) {
            throw new IllegalArgumentException("can only quantize F32, F16 or BF16 tensors, got " + src);
        }
        if (src.shape().rank() == 0 || src.dim(-1) % BlockFormat.BLOCK != 0) {
            throw new IllegalArgumentException("cannot quantize a tensor of shape " + src.shape() + " to " + target
                    + ": its last (input) dimension must be a multiple of " + BlockFormat.BLOCK);
        }
    }

    private static void fill(Tensor src, DType target, MemorySegment dst) {
        int cols = src.dim(-1);
        int rows = cols == 0 ? 0 : (int) (src.size() / cols);
        long srcRowBytes = (long) cols * src.dtype().byteSize();
        long dstRowBytes = target.bytesFor(cols);
        MemorySegment seg = src.segment();
        Parallel.forRange(rows, Math.max(1, (1 << 16) / Math.max(1, cols)), (r0, r1) -> {
            float[] row = new float[cols];
            for (int r = r0; r < r1; r++) {
                Convert.toF32(seg, r * srcRowBytes, src.dtype(), row, 0, cols);
                quantizeRow(row, 0, cols, target, dst, r * dstRowBytes);
            }
        });
    }

    /**
     * Quantizes x[off .. off + n) (n a multiple of 32) into n/32 blocks of {@code target} written
     * at byte {@code dstOff} of {@code dst}.
     */
    public static void quantizeRow(float[] x, int off, int n, DType target, MemorySegment dst, long dstOff) {
        if (n % BlockFormat.BLOCK != 0) {
            throw new IllegalArgumentException("row of " + n + " values is not a whole number of " + BlockFormat.BLOCK
                    + "-value blocks");
        }
        for (int b = 0; b < n / BlockFormat.BLOCK; b++) {
            int base = off + b * BlockFormat.BLOCK;
            long blockOff = dstOff + (long) b * target.blockBytes();
            switch (target) {
                case Q8_0 -> q8Block(x, base, dst, blockOff);
                case Q4_0 -> q4Block(x, base, dst, blockOff);
                default -> throw BlockFormat.notQuantized(target);
            }
        }
    }

    private static void q8Block(float[] x, int base, MemorySegment dst, long blockOff) {
        float amax = 0f;
        for (int j = 0; j < BlockFormat.BLOCK; j++) {
            float a = Math.abs(x[base + j]);
            amax = amax > a ? amax : a; // C's MAX(amax, fabsf(v))
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        BlockFormat.setScale(dst, blockOff, Float.floatToFloat16(d));
        for (int j = 0; j < BlockFormat.BLOCK; j++) {
            dst.set(ValueLayout.JAVA_BYTE, blockOff + BlockFormat.SCALE_BYTES + j, (byte) roundHalfAway(x[base + j] * id));
        }
    }

    private static void q4Block(float[] x, int base, MemorySegment dst, long blockOff) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < BlockFormat.BLOCK; j++) {
            float v = x[base + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        BlockFormat.setScale(dst, blockOff, Float.floatToFloat16(d));
        int half = BlockFormat.BLOCK / 2;
        for (int j = 0; j < half; j++) {
            int lo = nibble(x[base + j] * id);
            int hi = nibble(x[base + half + j] * id);
            dst.set(ValueLayout.JAVA_BYTE, blockOff + BlockFormat.SCALE_BYTES + j, (byte) (lo | hi << 4));
        }
    }

    /** min(15, (int) (v + 8.5)) with C's truncation toward zero, clamped at 0 (NaN gives 0). */
    private static int nibble(float v) {
        return Math.max(0, Math.min(15, (int) (v + 8.5f)));
    }

    /** C's roundf: nearest integer, halves away from zero (|v| &lt;= 127.x here, so exact in double). */
    static int roundHalfAway(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -a : a);
    }
}
