package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.quant.BlockFormat;
import dev.lorakit.tensor.quant.Dequantize;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * How Q8_0 / Q4_0 blocks ({@link BlockFormat}) are decoded in vector registers by the quantized
 * matrix-vector kernels ({@link QuantMatVecRows}) and the matmul's packing ({@link #dequantize}).
 *
 * <p>Loads are L bytes for L float lanes. Q8_0 weights [j, j + L) are bytes [j, j + L) widened
 * to floats. Q4_0 bytes [g, g + L) (g a multiple of L below 16) are widened to ints once and give
 * two chunks: their low nibbles minus 8 are weights [g, g + L), their high nibbles (arithmetic
 * shift by 4, masked) minus 8 weights [16 + g, 16 + g + L). Times the block's scale these are
 * exactly the weights {@link Dequantize} computes. This needs a byte vector of exactly L lanes
 * dividing a half block, so it runs with L = 8 (AVX2) or 16 (AVX-512) float lanes
 * ({@link #IN_REGISTERS}); other shapes decode through {@link Dequantize}. (The Q4_0 dot products
 * of {@link QuantMatVecRows} zero-extend instead, and fold the minus 8 into the inputs.)
 *
 * <p>The decode is written out where it is used rather than in helper methods: see
 * {@link QuantMatVecRows} for why.
 */
final class QuantBlocks {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Byte lanes matching the float lanes one to one. */
    static final VectorSpecies<Byte> B = L == 8 || L == 16
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * L)) : null;
    /** True when blocks are decoded in registers (8 or 16 float lanes). */
    static final boolean IN_REGISTERS = B != null && I.length() == L;
    /** Q8_0 and Q4_0 block sizes in bytes. */
    static final int Q8_BYTES = 34;
    static final int Q4_BYTES = 18;
    private static final int HALF = BlockFormat.BLOCK / 2;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /**
     * A block's fp16 scale, for kernels that read it inline: with many decodes in one body, a
     * call to {@link #d} is no longer inlined and costs a quarter of the time.
     */
    static final ValueLayout.OfShort D16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private QuantBlocks() {
    }

    /** The scale d of the block at blockOff, as float32. */
    static float d(MemorySegment seg, long blockOff) {
        return BlockFormat.scale(seg, blockOff);
    }

    /**
     * Elements [first, first + n) of the quantized row at byte {@code rowOff} of {@code seg} into
     * dst[off .. off + n): whole blocks in registers, partial blocks at the ends element by
     * element. Exactly {@link Dequantize#range}'s values.
     */
    static void dequantize(DType dt, MemorySegment seg, long rowOff, int first, float[] dst, int off, int n) {
        if (!IN_REGISTERS || KernelMode.SCALAR) {
            Dequantize.range(dt, seg, rowOff, first, dst, off, n);
            return;
        }
        boolean q4 = dt == DType.Q4_0;
        int bb = dt.blockBytes();
        int end = first + n;
        int head = Math.min(end, (first + BlockFormat.BLOCK - 1) / BlockFormat.BLOCK * BlockFormat.BLOCK);
        if (head > first) {
            Dequantize.range(dt, seg, rowOff, first, dst, off, head - first);
        }
        int wholeEnd = Math.max(head, end / BlockFormat.BLOCK * BlockFormat.BLOCK);
        for (int e = head; e < wholeEnd; e += L) {
            long bo = rowOff + (long) (e / BlockFormat.BLOCK) * bb;
            int j = e & (BlockFormat.BLOCK - 1);
            FloatVector w;
            if (q4) {
                // Q4_0: bytes [j mod 16, +L) widened; low nibbles are weights below 16, high ones above
                long at = bo + BlockFormat.SCALE_BYTES + (j & (HALF - 1));
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, at, LE).convertShape(VectorOperators.B2I, I, 0);
                w = (FloatVector) q.lanewise(VectorOperators.ASHR, j < HALF ? 0 : 4).and(0x0f).sub(BlockFormat.Q4_OFFSET)
                        .convertShape(VectorOperators.I2F, F, 0);
            } else {
                w = (FloatVector) ByteVector.fromMemorySegment(B, seg, bo + BlockFormat.SCALE_BYTES + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
            }
            w.mul(d(seg, bo)).intoArray(dst, off + e - first);
        }
        if (wholeEnd < end) {
            Dequantize.range(dt, seg, rowOff, wholeEnd, dst, off + wholeEnd - first, end - wholeEnd);
        }
    }
}
