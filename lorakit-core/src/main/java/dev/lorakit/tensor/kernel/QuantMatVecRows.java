package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.QuantBlocks.B;
import static dev.lorakit.tensor.kernel.QuantBlocks.F;
import static dev.lorakit.tensor.kernel.QuantBlocks.I;
import static dev.lorakit.tensor.kernel.QuantBlocks.L;
import static dev.lorakit.tensor.kernel.QuantBlocks.LE;
import static dev.lorakit.tensor.kernel.QuantBlocks.Q4_BYTES;
import static dev.lorakit.tensor.kernel.QuantBlocks.Q8_BYTES;
import static dev.lorakit.tensor.kernel.QuantBlocks.d;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The row micro-kernels of {@link VectorMatVec} for Q8_0 and Q4_0 weights, decoding blocks in
 * registers as {@link QuantBlocks} describes. Rows hold K/32 blocks (K a multiple of 32, so there
 * are no tails); {@code off} is a row's byte offset.
 *
 * <p>Dot products: per block, t = sum of q x in L lanes (Q8_0: chunk by chunk; Q4_0: per byte
 * group its low-nibble then its high-nibble chunk), then acc = t d + acc, one FMA per block; the
 * lanes are summed by {@link Lanes} at the end. {@link #dot1Q8} and {@link #dot1x4Q8} (and the
 * Q4_0 pair) follow exactly this order for every (row, input) pair, so a row's result does not
 * depend on which kernel computed it: batching sequences never changes their logits. Scaled row
 * sums (the transposed product): per block the coefficient a d is rounded once, then
 * y += q (a d) chunk by chunk.
 *
 * <p>The decode is written out in every loop body, with no helper calls: a helper that C2 has
 * already compiled on its own is not inlined again ("already compiled into a big method"), and
 * then every decoded vector is boxed on the heap. For the same reason each kernel handles one
 * row: four-row bodies with four decodes exceed the inlining budget. Requires
 * {@link QuantBlocks#IN_REGISTERS}.
 */
final class QuantMatVecRows {
    private static final int BLOCK = 32;
    private static final int HALF = 16;
    private static final int SCALE = 2;

    private QuantMatVecRows() {
    }

    // ---- Q8_0 ----

    /** Dot product of the Q8_0 row at byte offset off with x[xOff .. xOff+k). */
    static float dot1Q8(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        for (int b = 0; b < k / BLOCK; b++) {
            long bo = off + (long) b * Q8_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector t = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += L) {
                FloatVector w = (FloatVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                t = w.fma(FloatVector.fromArray(F, x, xi + j), t);
            }
            s0 = t.fma(FloatVector.broadcast(F, d(seg, bo)), s0);
        }
        return Lanes.sum(s0);
    }

    /**
     * Dot products of one Q8_0 row (at byte offset off) with four inputs x[x0 + i*k ..) (i &lt; 4),
     * written to y[y0 + i*yStride]: each decoded chunk feeds four inputs.
     */
    static void dot1x4Q8(MemorySegment seg, long off, float[] x, int x0, int k, float[] y, int y0, int yStride) {
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (int b = 0; b < k / BLOCK; b++) {
            long bo = off + (long) b * Q8_BYTES;
            int xb = b * BLOCK;
            FloatVector t0 = z, t1 = z, t2 = z, t3 = z;
            for (int j = 0; j < BLOCK; j += L) {
                FloatVector w = (FloatVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                t0 = w.fma(FloatVector.fromArray(F, x, x0 + xb + j), t0);
                t1 = w.fma(FloatVector.fromArray(F, x, x1 + xb + j), t1);
                t2 = w.fma(FloatVector.fromArray(F, x, x2 + xb + j), t2);
                t3 = w.fma(FloatVector.fromArray(F, x, x3 + xb + j), t3);
            }
            FloatVector dv = FloatVector.broadcast(F, d(seg, bo));
            a0 = t0.fma(dv, a0);
            a1 = t1.fma(dv, a1);
            a2 = t2.fma(dv, a2);
            a3 = t3.fma(dv, a3);
        }
        y[y0] = Lanes.sum(a0);
        y[y0 + yStride] = Lanes.sum(a1);
        y[y0 + 2 * yStride] = Lanes.sum(a2);
        y[y0 + 3 * yStride] = Lanes.sum(a3);
    }

    /** y[yOff .. yOff+len) += a * (the Q8_0 row at byte offset off). */
    static void axpy1Q8(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
        for (int b = 0; b < len / BLOCK; b++) {
            long bo = off + (long) b * Q8_BYTES;
            FloatVector c = FloatVector.broadcast(F, a * d(seg, bo));
            for (int j = 0; j < BLOCK; j += L) {
                int yi = yOff + b * BLOCK + j;
                FloatVector w = (FloatVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                w.fma(c, FloatVector.fromArray(F, y, yi)).intoArray(y, yi);
            }
        }
    }

    // ---- Q4_0 ----

    /** Dot product of the Q4_0 row at byte offset off with x[xOff .. xOff+k). */
    static float dot1Q4(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        for (int b = 0; b < k / BLOCK; b++) {
            long bo = off + (long) b * Q4_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector t = FloatVector.zero(F);
            for (int g = 0; g < HALF; g += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + g, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector lo = (FloatVector) q.and(0x0f).sub(8).convertShape(VectorOperators.I2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8)
                        .convertShape(VectorOperators.I2F, F, 0);
                t = lo.fma(FloatVector.fromArray(F, x, xi + g), t);
                t = hi.fma(FloatVector.fromArray(F, x, xi + HALF + g), t);
            }
            s0 = t.fma(FloatVector.broadcast(F, d(seg, bo)), s0);
        }
        return Lanes.sum(s0);
    }

    /**
     * Dot products of one Q4_0 row (at byte offset off) with four inputs x[x0 + i*k ..) (i &lt; 4),
     * written to y[y0 + i*yStride]: each decoded chunk feeds four inputs.
     */
    static void dot1x4Q4(MemorySegment seg, long off, float[] x, int x0, int k, float[] y, int y0, int yStride) {
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (int b = 0; b < k / BLOCK; b++) {
            long bo = off + (long) b * Q4_BYTES;
            int xb = b * BLOCK;
            FloatVector t0 = z, t1 = z, t2 = z, t3 = z;
            for (int g = 0; g < HALF; g += L) {
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + g, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector lo = (FloatVector) q.and(0x0f).sub(8).convertShape(VectorOperators.I2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8)
                        .convertShape(VectorOperators.I2F, F, 0);
                int xl = xb + g;
                int xh = xl + HALF;
                t0 = hi.fma(FloatVector.fromArray(F, x, x0 + xh), lo.fma(FloatVector.fromArray(F, x, x0 + xl), t0));
                t1 = hi.fma(FloatVector.fromArray(F, x, x1 + xh), lo.fma(FloatVector.fromArray(F, x, x1 + xl), t1));
                t2 = hi.fma(FloatVector.fromArray(F, x, x2 + xh), lo.fma(FloatVector.fromArray(F, x, x2 + xl), t2));
                t3 = hi.fma(FloatVector.fromArray(F, x, x3 + xh), lo.fma(FloatVector.fromArray(F, x, x3 + xl), t3));
            }
            FloatVector dv = FloatVector.broadcast(F, d(seg, bo));
            a0 = t0.fma(dv, a0);
            a1 = t1.fma(dv, a1);
            a2 = t2.fma(dv, a2);
            a3 = t3.fma(dv, a3);
        }
        y[y0] = Lanes.sum(a0);
        y[y0 + yStride] = Lanes.sum(a1);
        y[y0 + 2 * yStride] = Lanes.sum(a2);
        y[y0 + 3 * yStride] = Lanes.sum(a3);
    }

    /** y[yOff .. yOff+len) += a * (the Q4_0 row at byte offset off). */
    static void axpy1Q4(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
        for (int b = 0; b < len / BLOCK; b++) {
            long bo = off + (long) b * Q4_BYTES;
            FloatVector c = FloatVector.broadcast(F, a * d(seg, bo));
            for (int g = 0; g < HALF; g += L) {
                int lo = yOff + b * BLOCK + g;
                int hi = lo + HALF;
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + g, LE)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector wl = (FloatVector) q.and(0x0f).sub(8).convertShape(VectorOperators.I2F, F, 0);
                FloatVector wh = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0f).sub(8)
                        .convertShape(VectorOperators.I2F, F, 0);
                wl.fma(c, FloatVector.fromArray(F, y, lo)).intoArray(y, lo);
                wh.fma(c, FloatVector.fromArray(F, y, hi)).intoArray(y, hi);
            }
        }
    }
}
