package dev.lorakit.tensor.quant;

import dev.lorakit.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The byte layout of one quantized block, shared by the quantizer, the dequantizer and the
 * kernels. Both types store {@link #BLOCK} = 32 consecutive weights of a row:
 * <ul>
 *   <li><b>Q8_0</b> (34 bytes): bytes 0-1 the scale d as IEEE fp16 (little-endian), bytes 2-33
 *       the signed int8 q[j] for j = 0..31; weight j = q[j] d.</li>
 *   <li><b>Q4_0</b> (18 bytes): bytes 0-1 the fp16 scale d, then 16 bytes of nibbles: byte
 *       2 + j holds q[j] in its low nibble and q[j + 16] in its high nibble (j = 0..15);
 *       weight j = (q[j] - 8) d with q in 0..15.</li>
 * </ul>
 */
public final class BlockFormat {
    /** Weights per block (both types). */
    public static final int BLOCK = 32;
    /** Bytes of the fp16 scale at the start of every block. */
    public static final int SCALE_BYTES = 2;
    /** Q4_0: the offset subtracted from every nibble. */
    public static final int Q4_OFFSET = 8;

    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BlockFormat() {
    }

    /** The scale d of the block at byte offset {@code blockOff}, as float32 (exact). */
    public static float scale(MemorySegment seg, long blockOff) {
        return Float.float16ToFloat(seg.get(I16_LE, blockOff));
    }

    /** Stores the fp16 bits of a block's scale. */
    static void setScale(MemorySegment seg, long blockOff, short fp16) {
        seg.set(I16_LE, blockOff, fp16);
    }

    /**
     * The integer q[j] of weight j (0..31) of the block at {@code blockOff} with the Q4_0 offset
     * already removed: q[j] for Q8_0, q[j] - 8 for Q4_0. The weight is this times the scale.
     */
    public static int quant(DType dt, MemorySegment seg, long blockOff, int j) {
        return switch (dt) {
            case Q8_0 -> seg.get(ValueLayout.JAVA_BYTE, blockOff + SCALE_BYTES + j);
            case Q4_0 -> {
                int b = seg.get(ValueLayout.JAVA_BYTE, blockOff + SCALE_BYTES + (j & 15)) & 0xff;
                yield (j < 16 ? b & 0x0f : b >>> 4) - Q4_OFFSET;
            }
            default -> throw notQuantized(dt);
        };
    }

    /** Checks that dt is a block type. */
    static IllegalArgumentException notQuantized(DType dt) {
        return new IllegalArgumentException(dt + " is not a block-quantized type (expected Q8_0 or Q4_0)");
    }
}
