package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.QuantBlocks.B;
import static dev.lorakit.tensor.kernel.QuantBlocks.D16;
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
 * <p>Dot products: per block, t = sum of q x in L lanes, then acc = t d + acc, one FMA per block;
 * the lanes are summed by {@link Lanes} at the end. Q8_0: t is accumulated chunk by chunk.
 * Q4_0: per chunk of L byte lanes, u = hi x_hi + (lo x_lo + (-8 (x_lo + x_hi))) with the nibbles
 * zero-extended as they are stored (-8 (x_lo + x_hi) is computed once and shared by all rows),
 * and t is the sum of the chunks' u in order. {@link #dot1Q8}, {@link #dot4Q8}, {@link #dot8Q8} and
 * {@link #dot1x4Q8} (and the three Q4_0 kernels) follow exactly this order for every (row, input)
 * pair, so a row's result does not depend on which kernel computed it: batching sequences never
 * changes their logits. Scaled row sums (the transposed product): per block the coefficient a d
 * is rounded once, then y += q (a d) chunk by chunk.
 *
 * <p>The decode is written out in every loop body, with no helper calls: a helper that C2 has
 * already compiled on its own is not inlined again ("already compiled into a big method"), and
 * then every decoded vector is boxed on the heap. The multi-row kernels ({@link #dot8Q8},
 * {@link #dot8Q4}, ...) still inline every Vector API call, but not even a small helper such as the
 * scale read ({@link QuantBlocks#d}), which they therefore read in place (checked with
 * {@code -prof perfasm}). Requires {@link QuantBlocks#IN_REGISTERS}.
 */
final class QuantMatVecRows {
    private static final int BLOCK = 32;
    private static final int HALF = 16;
    private static final int SCALE = 2;
    /** Q4_0 weights are nibble - 8: the kernels start from -8 (x_lo + x_hi), once per chunk for all rows. */
    private static final FloatVector MINUS_8 = FloatVector.broadcast(F, -8f);

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
     * Dot products of the four Q8_0 rows at byte offsets off + i*rowStride (i &lt; 4) with
     * x[xOff .. xOff+k), written to y[yOff + i*yStride], read side by side as in {@link #dot8Q8}
     * (used for the adjacent rows left over after the eight-stream part). Each row's sum is
     * formed exactly as in {@link #dot1Q8}.
     */
    static void dot4Q8(MemorySegment seg, long off, long rowStride, float[] x, int xOff, int k,
            float[] y, int yOff, int yStride) {
        long o1 = off + rowStride, o2 = o1 + rowStride, o3 = o2 + rowStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector s0 = z, s1 = z, s2 = z, s3 = z;
        for (int b = 0; b < k / BLOCK; b++) {
            long bb = (long) b * Q8_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector t0 = z, t1 = z, t2 = z, t3 = z;
            for (int j = 0; j < BLOCK; j += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xi + j);
                long c = bb + SCALE + j;
                t0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, off + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o1 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                t2 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o2 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t2);
                t3 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o3 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t3);
            }
            s0 = t0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, off + bb))), s0);
            s1 = t1.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o1 + bb))), s1);
            s2 = t2.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o2 + bb))), s2);
            s3 = t3.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o3 + bb))), s3);
        }
        y[yOff] = Lanes.sum(s0);
        y[yOff + yStride] = Lanes.sum(s1);
        y[yOff + 2 * yStride] = Lanes.sum(s2);
        y[yOff + 3 * yStride] = Lanes.sum(s3);
    }

    /**
     * Dot products of the eight Q8_0 rows at byte offsets off + i*rowStride (i &lt; 8) with
     * x[xOff .. xOff+k), written to y[yOff + i*yStride]. The eight rows are read block by block
     * side by side, so eight memory streams are in flight and each input chunk is loaded once
     * for eight rows; with rows an eighth of a row range apart ({@link VectorMatVec#matvec}) the
     * streams stay long enough for the hardware prefetcher. One row at a time streams at half
     * the bandwidth, four rows side by side at 92 % of eight. Each row's sum is formed exactly as
     * in {@link #dot1Q8}.
     */
    static void dot8Q8(MemorySegment seg, long off, long rowStride, float[] x, int xOff, int k,
            float[] y, int yOff, int yStride) {
        long o1 = off + rowStride, o2 = o1 + rowStride, o3 = o2 + rowStride;
        long o4 = o3 + rowStride, o5 = o4 + rowStride, o6 = o5 + rowStride, o7 = o6 + rowStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
        for (int b = 0; b < k / BLOCK; b++) {
            long bb = (long) b * Q8_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector t0 = z, t1 = z, t2 = z, t3 = z, t4 = z, t5 = z, t6 = z, t7 = z;
            for (int j = 0; j < BLOCK; j += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xi + j);
                long c = bb + SCALE + j;
                t0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, off + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o1 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                t2 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o2 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t2);
                t3 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o3 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t3);
                t4 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o4 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t4);
                t5 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o5 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t5);
                t6 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o6 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t6);
                t7 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o7 + c, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(xv, t7);
            }
            s0 = t0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, off + bb))), s0);
            s1 = t1.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o1 + bb))), s1);
            s2 = t2.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o2 + bb))), s2);
            s3 = t3.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o3 + bb))), s3);
            s4 = t4.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o4 + bb))), s4);
            s5 = t5.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o5 + bb))), s5);
            s6 = t6.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o6 + bb))), s6);
            s7 = t7.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o7 + bb))), s7);
        }
        y[yOff] = Lanes.sum(s0);
        y[yOff + yStride] = Lanes.sum(s1);
        y[yOff + 2 * yStride] = Lanes.sum(s2);
        y[yOff + 3 * yStride] = Lanes.sum(s3);
        y[yOff + 4 * yStride] = Lanes.sum(s4);
        y[yOff + 5 * yStride] = Lanes.sum(s5);
        y[yOff + 6 * yStride] = Lanes.sum(s6);
        y[yOff + 7 * yStride] = Lanes.sum(s7);
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
                FloatVector xl = FloatVector.fromArray(F, x, xi + g);
                FloatVector xh = FloatVector.fromArray(F, x, xi + HALF + g);
                IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, bo + SCALE + g, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector u = ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0))
                        .fma(xl, xl.add(xh).mul(MINUS_8));
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4)
                        .convertShape(VectorOperators.I2F, F, 0)).fma(xh, u);
                t = g == 0 ? u : t.add(u);
            }
            s0 = t.fma(FloatVector.broadcast(F, d(seg, bo)), s0);
        }
        return Lanes.sum(s0);
    }

    /**
     * Dot products of the eight Q4_0 rows at byte offsets off + i*rowStride (i &lt; 8) with
     * x[xOff .. xOff+k), written to y[yOff + i*yStride], the rows read side by side as in
     * {@link #dot8Q8}; each row's sum is formed exactly as in {@link #dot1Q4}.
     */
    static void dot8Q4(MemorySegment seg, long off, long rowStride, float[] x, int xOff, int k,
            float[] y, int yOff, int yStride) {
        long o1 = off + rowStride, o2 = o1 + rowStride, o3 = o2 + rowStride;
        long o4 = o3 + rowStride, o5 = o4 + rowStride, o6 = o5 + rowStride, o7 = o6 + rowStride;
        FloatVector z = FloatVector.zero(F);
        FloatVector s0 = z, s1 = z, s2 = z, s3 = z, s4 = z, s5 = z, s6 = z, s7 = z;
        for (int b = 0; b < k / BLOCK; b++) {
            long bb = (long) b * Q4_BYTES;
            int xi = xOff + b * BLOCK;
            FloatVector t0 = z, t1 = z, t2 = z, t3 = z, t4 = z, t5 = z, t6 = z, t7 = z;
            for (int g = 0; g < HALF; g += L) {
                FloatVector xl = FloatVector.fromArray(F, x, xi + g);
                FloatVector xh = FloatVector.fromArray(F, x, xi + HALF + g);
                FloatVector m8 = xl.add(xh).mul(MINUS_8);
                long c = bb + SCALE + g;
                IntVector q;
                FloatVector u;
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, off + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t0 = g == 0 ? u : t0.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o1 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t1 = g == 0 ? u : t1.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o2 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t2 = g == 0 ? u : t2.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o3 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t3 = g == 0 ? u : t3.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o4 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t4 = g == 0 ? u : t4.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o5 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t5 = g == 0 ? u : t5.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o6 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t6 = g == 0 ? u : t6.add(u);
                q = (IntVector) ByteVector.fromMemorySegment(B, seg, o7 + c, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                u = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0)).fma(xh,
                        ((FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0)).fma(xl, m8));
                t7 = g == 0 ? u : t7.add(u);
            }
            s0 = t0.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, off + bb))), s0);
            s1 = t1.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o1 + bb))), s1);
            s2 = t2.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o2 + bb))), s2);
            s3 = t3.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o3 + bb))), s3);
            s4 = t4.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o4 + bb))), s4);
            s5 = t5.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o5 + bb))), s5);
            s6 = t6.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o6 + bb))), s6);
            s7 = t7.fma(FloatVector.broadcast(F, Float.float16ToFloat(seg.get(D16, o7 + bb))), s7);
        }
        y[yOff] = Lanes.sum(s0);
        y[yOff + yStride] = Lanes.sum(s1);
        y[yOff + 2 * yStride] = Lanes.sum(s2);
        y[yOff + 3 * yStride] = Lanes.sum(s3);
        y[yOff + 4 * yStride] = Lanes.sum(s4);
        y[yOff + 5 * yStride] = Lanes.sum(s5);
        y[yOff + 6 * yStride] = Lanes.sum(s6);
        y[yOff + 7 * yStride] = Lanes.sum(s7);
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
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector lo = (FloatVector) q.and(0x0f).convertShape(VectorOperators.I2F, F, 0);
                FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0);
                int il = xb + g;
                int ih = il + HALF;
                FloatVector xl = FloatVector.fromArray(F, x, x0 + il), xh = FloatVector.fromArray(F, x, x0 + ih);
                FloatVector u0 = hi.fma(xh, lo.fma(xl, xl.add(xh).mul(MINUS_8)));
                t0 = g == 0 ? u0 : t0.add(u0);
                xl = FloatVector.fromArray(F, x, x1 + il);
                xh = FloatVector.fromArray(F, x, x1 + ih);
                FloatVector u1 = hi.fma(xh, lo.fma(xl, xl.add(xh).mul(MINUS_8)));
                t1 = g == 0 ? u1 : t1.add(u1);
                xl = FloatVector.fromArray(F, x, x2 + il);
                xh = FloatVector.fromArray(F, x, x2 + ih);
                FloatVector u2 = hi.fma(xh, lo.fma(xl, xl.add(xh).mul(MINUS_8)));
                t2 = g == 0 ? u2 : t2.add(u2);
                xl = FloatVector.fromArray(F, x, x3 + il);
                xh = FloatVector.fromArray(F, x, x3 + ih);
                FloatVector u3 = hi.fma(xh, lo.fma(xl, xl.add(xh).mul(MINUS_8)));
                t3 = g == 0 ? u3 : t3.add(u3);
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
