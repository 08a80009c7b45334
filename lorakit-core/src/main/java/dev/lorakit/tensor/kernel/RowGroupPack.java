package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.QuantBlocks.B;
import static dev.lorakit.tensor.kernel.QuantBlocks.F;
import static dev.lorakit.tensor.kernel.QuantBlocks.I;
import static dev.lorakit.tensor.kernel.QuantBlocks.LE;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.quant.BlockFormat;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packs {@link Matmul}'s B panel straight from a group of a row-interleaved weight
 * ({@link RowGroups}; the prefill of a quantized model computes x W^T): the panel is [kc][32]
 * with column c = row c of the group, which is exactly how a group block stores its weights, so
 * each panel row is two vectors of weights times the group block's two scale vectors. The values
 * are those {@link dev.lorakit.tensor.quant.Dequantize} computes (q d, exact in float32), so
 * prefill gives the same results as with the row-major weight.
 */
final class RowGroupPack {
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final int ROWS = RowGroups.ROWS;
    private static final int SCALES = RowGroups.SCALES_BYTES;
    private static final int CHUNK = RowGroups.Q4_CHUNK_BYTES;
    private static final int F16_BITS = 0x8fffffff;
    private static final float F16_SCALE = 0x1p112f;
    /** Q4_0_R32: which weight of a block each nibble of a chunk's 16-bit halves is (bits 0, 4, 8, 12; chunk m adds 2m). */
    private static final int[] NIBBLE_WEIGHT = {0, 16, 1, 17};

    private RowGroupPack() {
    }

    /** True when the panel of {@code nr} columns starting at weight row {@code row0} is one whole group this class packs. */
    static boolean packs(Tensor w, int row0, int nr) {
        return w.dtype().isRowInterleaved() && RowGroupMatVec.SUPPORTED && Matmul.NR == ROWS && nr == ROWS
                && row0 % ROWS == 0 && row0 + ROWS <= RowGroups.groups(w.dim(0)) * ROWS;
    }

    /**
     * dst[off + k*32 + c] = W[row0 + c][k0 + k] for k &lt; kc, c &lt; 32 (k0 and kc multiples of 32,
     * row0 the first row of a group).
     */
    static void panel(Tensor w, int row0, int k0, int kc, float[] dst, int off) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int k = w.dim(1);
        int g = row0 / ROWS;
        for (int b = k0 / BlockFormat.BLOCK; b < (k0 + kc) / BlockFormat.BLOCK; b++) {
            long gb = RowGroups.groupBlockOffset(dt, k, g, b);
            FloatVector s0 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            FloatVector s1 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb + SCALES / 2, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            int rowOff = off + (b * BlockFormat.BLOCK - k0) * ROWS; // panel row of the block's weight 0
            if (dt == DType.Q8_0_R32) {
                for (int j = 0; j < BlockFormat.BLOCK; j++) {
                    long col = gb + SCALES + (long) j * ROWS;
                    int o = rowOff + j * ROWS;
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, col, LE).convertShape(VectorOperators.B2F, F, 0)).mul(s0)
                            .intoArray(dst, o);
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 16, LE).convertShape(VectorOperators.B2F, F, 0)).mul(s1)
                            .intoArray(dst, o + 16);
                }
            } else {
                for (int m = 0; m < 8; m++) {
                    IntVector v = IntVector.fromMemorySegment(I, seg, gb + SCALES + (long) m * CHUNK, LE);
                    for (int p = 0; p < 4; p++) {
                        IntVector nib = v.lanewise(VectorOperators.LSHR, 4 * p);
                        int o = rowOff + (2 * m + NIBBLE_WEIGHT[p]) * ROWS;
                        ((FloatVector) nib.and(0x0f).sub(BlockFormat.Q4_OFFSET).convertShape(VectorOperators.I2F, F, 0)).mul(s0)
                                .intoArray(dst, o);
                        ((FloatVector) nib.lanewise(VectorOperators.LSHR, 16).and(0x0f).sub(BlockFormat.Q4_OFFSET)
                                .convertShape(VectorOperators.I2F, F, 0)).mul(s1).intoArray(dst, o + 16);
                    }
                }
            }
        }
    }
}
