package dev.lorakit.tensor.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The row micro-kernels behind {@link VectorMatVec}: dot products and scaled row sums over one or
 * four weight rows at a time, read from a float[] (heap F32 weights, or F16 rows already converted
 * to float32), from an F32 segment or from a BF16 segment (converted in registers by
 * {@link Convert#loadBf16}).
 *
 * <p>Each loop body holds at most four weight loads: more would push C2 past its inlining node
 * budget, leaving Vector API calls un-inlined (and allocating) in the hot loop. Tails shorter
 * than a vector are finished in scalar code.
 */
final class MatVecRows {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private MatVecRows() {
    }

    // ---- float[] (heap F32 weights, and F16 rows converted to float32) ----

    /** Dot product of the row w[off ..) with x[xOff .. xOff+k) (for leftover rows). */
    static float dot1Array(float[] w, int off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= k - L; i += L) {
            s0 = FloatVector.fromArray(F, w, off + i).fma(FloatVector.fromArray(F, x, xOff + i), s0);
        }
        float s = Lanes.sum(s0);
        for (; i < k; i++) {
            s += w[off + i] * x[xOff + i];
        }
        return s;
    }

    /**
     * Dot products of four rows w[off + j*rowStride ..) (j &lt; 4) with
     * x[xOff .. xOff+k), written to y[yOff .. yOff+4): one x load feeds four rows, whose four
     * accumulators are independent FMA chains.
     */
    static void dot4RowsArray(float[] w, int off, int rowStride, float[] x, int xOff, int k, float[] y, int yOff) {
        int o0 = off, o1 = o0 + rowStride, o2 = o1 + rowStride, o3 = o2 + rowStride;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            s0 = FloatVector.fromArray(F, w, o0 + i).fma(xv, s0);
            s1 = FloatVector.fromArray(F, w, o1 + i).fma(xv, s1);
            s2 = FloatVector.fromArray(F, w, o2 + i).fma(xv, s2);
            s3 = FloatVector.fromArray(F, w, o3 + i).fma(xv, s3);
        }
        float r0 = Lanes.sum(s0);
        float r1 = Lanes.sum(s1);
        float r2 = Lanes.sum(s2);
        float r3 = Lanes.sum(s3);
        for (; i < k; i++) {
            float xi = x[xOff + i];
            r0 += w[o0 + i] * xi;
            r1 += w[o1 + i] * xi;
            r2 += w[o2 + i] * xi;
            r3 += w[o3 + i] * xi;
        }
        y[yOff] = r0;
        y[yOff + 1] = r1;
        y[yOff + 2] = r2;
        y[yOff + 3] = r3;
    }

    /**
     * Dot products of four rows w[off + j*rowStride ..) (j &lt; 4) with four
     * inputs x[x0 + i*k ..) (i &lt; 4), written to y[y0 + i*yStride + j] for row j: a 4x4 block of
     * sixteen accumulators, so each weight vector feeds four inputs and each input vector four rows.
     */
    static void dot4x4Array(float[] w, int off, int rowStride, float[] x, int x0, int k,
            float[] y, int y0, int yStride) {
        int o0 = off, o1 = o0 + rowStride, o2 = o1 + rowStride, o3 = o2 + rowStride;
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z, a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, w, o0 + i);
            FloatVector w1 = FloatVector.fromArray(F, w, o1 + i);
            FloatVector w2 = FloatVector.fromArray(F, w, o2 + i);
            FloatVector w3 = FloatVector.fromArray(F, w, o3 + i);
            FloatVector xv;
            xv = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(xv, a00);
            a10 = w1.fma(xv, a10);
            a20 = w2.fma(xv, a20);
            a30 = w3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(xv, a01);
            a11 = w1.fma(xv, a11);
            a21 = w2.fma(xv, a21);
            a31 = w3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(xv, a02);
            a12 = w1.fma(xv, a12);
            a22 = w2.fma(xv, a22);
            a32 = w3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(xv, a03);
            a13 = w1.fma(xv, a13);
            a23 = w2.fma(xv, a23);
            a33 = w3.fma(xv, a33);
        }
        float r00 = Lanes.sum(a00);
        float r01 = Lanes.sum(a01);
        float r02 = Lanes.sum(a02);
        float r03 = Lanes.sum(a03);
        float r10 = Lanes.sum(a10);
        float r11 = Lanes.sum(a11);
        float r12 = Lanes.sum(a12);
        float r13 = Lanes.sum(a13);
        float r20 = Lanes.sum(a20);
        float r21 = Lanes.sum(a21);
        float r22 = Lanes.sum(a22);
        float r23 = Lanes.sum(a23);
        float r30 = Lanes.sum(a30);
        float r31 = Lanes.sum(a31);
        float r32 = Lanes.sum(a32);
        float r33 = Lanes.sum(a33);
        for (; i < k; i++) {
            float t0 = w[o0 + i];
            float t1 = w[o1 + i];
            float t2 = w[o2 + i];
            float t3 = w[o3 + i];
            r00 += t0 * x[x0 + i];
            r10 += t1 * x[x0 + i];
            r20 += t2 * x[x0 + i];
            r30 += t3 * x[x0 + i];
            r01 += t0 * x[x1 + i];
            r11 += t1 * x[x1 + i];
            r21 += t2 * x[x1 + i];
            r31 += t3 * x[x1 + i];
            r02 += t0 * x[x2 + i];
            r12 += t1 * x[x2 + i];
            r22 += t2 * x[x2 + i];
            r32 += t3 * x[x2 + i];
            r03 += t0 * x[x3 + i];
            r13 += t1 * x[x3 + i];
            r23 += t2 * x[x3 + i];
            r33 += t3 * x[x3 + i];
        }
        int y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        y[y0 + 0] = r00;
        y[y0 + 1] = r10;
        y[y0 + 2] = r20;
        y[y0 + 3] = r30;
        y[y1 + 0] = r01;
        y[y1 + 1] = r11;
        y[y1 + 2] = r21;
        y[y1 + 3] = r31;
        y[y2 + 0] = r02;
        y[y2 + 1] = r12;
        y[y2 + 2] = r22;
        y[y2 + 3] = r32;
        y[y3 + 0] = r03;
        y[y3 + 1] = r13;
        y[y3 + 2] = r23;
        y[y3 + 3] = r33;
    }

    /** y[yOff .. yOff+len) += a * w[off .. off+len). */
    static void axpy1Array(float[] w, int off, float a, float[] y, int yOff, int len) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector.fromArray(F, w, off + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a * w[off + i];
        }
    }

    /**
     * y[yOff .. yOff+len) += a0 * row0 + a1 * row1 + a2 * row2 + a3 * row3, where row j is
     * w[off + j*rowStride ..): y is loaded and stored once for four rows.
     */
    static void axpy4Array(float[] w, int off, int rowStride, float a0, float a1, float a2, float a3,
            float[] y, int yOff, int len) {
        FloatVector v0 = FloatVector.broadcast(F, a0), v1 = FloatVector.broadcast(F, a1);
        FloatVector v2 = FloatVector.broadcast(F, a2), v3 = FloatVector.broadcast(F, a3);
        int off1 = off + rowStride, off2 = off1 + rowStride, off3 = off2 + rowStride;
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector acc = FloatVector.fromArray(F, y, yOff + i);
            acc = FloatVector.fromArray(F, w, off + i).fma(v0, acc);
            acc = FloatVector.fromArray(F, w, off1 + i).fma(v1, acc);
            acc = FloatVector.fromArray(F, w, off2 + i).fma(v2, acc);
            acc = FloatVector.fromArray(F, w, off3 + i).fma(v3, acc);
            acc.intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a0 * w[off + i] + a1 * w[off1 + i]
                    + a2 * w[off2 + i] + a3 * w[off3 + i];
        }
    }


    // ---- F32 ----

    /** Dot product of the F32 row at byte offset off with x[xOff .. xOff+k) (for leftover rows). */
    static float dot1F32(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= k - L; i += L) {
            s0 = FloatVector.fromMemorySegment(F, seg, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), s0);
        }
        float s = Lanes.sum(s0);
        for (; i < k; i++) {
            s += seg.get(F32_LE, off + 4L * i) * x[xOff + i];
        }
        return s;
    }

    /**
     * Dot products of four consecutive F32 rows (the first at byte offset off) with
     * x[xOff .. xOff+k), written to y[yOff .. yOff+4): one x load feeds four rows, whose four
     * accumulators are independent FMA chains.
     */
    static void dot4RowsF32(MemorySegment seg, long off, long rowBytes, float[] x, int xOff, int k, float[] y, int yOff) {
        long o0 = off, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            s0 = FloatVector.fromMemorySegment(F, seg, o0 + 4L * i, LE).fma(xv, s0);
            s1 = FloatVector.fromMemorySegment(F, seg, o1 + 4L * i, LE).fma(xv, s1);
            s2 = FloatVector.fromMemorySegment(F, seg, o2 + 4L * i, LE).fma(xv, s2);
            s3 = FloatVector.fromMemorySegment(F, seg, o3 + 4L * i, LE).fma(xv, s3);
        }
        float r0 = Lanes.sum(s0);
        float r1 = Lanes.sum(s1);
        float r2 = Lanes.sum(s2);
        float r3 = Lanes.sum(s3);
        for (; i < k; i++) {
            float xi = x[xOff + i];
            r0 += seg.get(F32_LE, o0 + 4L * i) * xi;
            r1 += seg.get(F32_LE, o1 + 4L * i) * xi;
            r2 += seg.get(F32_LE, o2 + 4L * i) * xi;
            r3 += seg.get(F32_LE, o3 + 4L * i) * xi;
        }
        y[yOff] = r0;
        y[yOff + 1] = r1;
        y[yOff + 2] = r2;
        y[yOff + 3] = r3;
    }

    /**
     * Dot products of four consecutive F32 rows (the first at byte offset off) with four
     * inputs x[x0 + i*k ..) (i &lt; 4), written to y[y0 + i*yStride + j] for row j: a 4x4 block of
     * sixteen accumulators, so each weight vector feeds four inputs and each input vector four rows.
     */
    static void dot4x4F32(MemorySegment seg, long off, long rowBytes, float[] x, int x0, int k,
            float[] y, int y0, int yStride) {
        long o0 = off, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z, a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector w0 = FloatVector.fromMemorySegment(F, seg, o0 + 4L * i, LE);
            FloatVector w1 = FloatVector.fromMemorySegment(F, seg, o1 + 4L * i, LE);
            FloatVector w2 = FloatVector.fromMemorySegment(F, seg, o2 + 4L * i, LE);
            FloatVector w3 = FloatVector.fromMemorySegment(F, seg, o3 + 4L * i, LE);
            FloatVector xv;
            xv = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(xv, a00);
            a10 = w1.fma(xv, a10);
            a20 = w2.fma(xv, a20);
            a30 = w3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(xv, a01);
            a11 = w1.fma(xv, a11);
            a21 = w2.fma(xv, a21);
            a31 = w3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(xv, a02);
            a12 = w1.fma(xv, a12);
            a22 = w2.fma(xv, a22);
            a32 = w3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(xv, a03);
            a13 = w1.fma(xv, a13);
            a23 = w2.fma(xv, a23);
            a33 = w3.fma(xv, a33);
        }
        float r00 = Lanes.sum(a00);
        float r01 = Lanes.sum(a01);
        float r02 = Lanes.sum(a02);
        float r03 = Lanes.sum(a03);
        float r10 = Lanes.sum(a10);
        float r11 = Lanes.sum(a11);
        float r12 = Lanes.sum(a12);
        float r13 = Lanes.sum(a13);
        float r20 = Lanes.sum(a20);
        float r21 = Lanes.sum(a21);
        float r22 = Lanes.sum(a22);
        float r23 = Lanes.sum(a23);
        float r30 = Lanes.sum(a30);
        float r31 = Lanes.sum(a31);
        float r32 = Lanes.sum(a32);
        float r33 = Lanes.sum(a33);
        for (; i < k; i++) {
            float t0 = seg.get(F32_LE, o0 + 4L * i);
            float t1 = seg.get(F32_LE, o1 + 4L * i);
            float t2 = seg.get(F32_LE, o2 + 4L * i);
            float t3 = seg.get(F32_LE, o3 + 4L * i);
            r00 += t0 * x[x0 + i];
            r10 += t1 * x[x0 + i];
            r20 += t2 * x[x0 + i];
            r30 += t3 * x[x0 + i];
            r01 += t0 * x[x1 + i];
            r11 += t1 * x[x1 + i];
            r21 += t2 * x[x1 + i];
            r31 += t3 * x[x1 + i];
            r02 += t0 * x[x2 + i];
            r12 += t1 * x[x2 + i];
            r22 += t2 * x[x2 + i];
            r32 += t3 * x[x2 + i];
            r03 += t0 * x[x3 + i];
            r13 += t1 * x[x3 + i];
            r23 += t2 * x[x3 + i];
            r33 += t3 * x[x3 + i];
        }
        int y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        y[y0 + 0] = r00;
        y[y0 + 1] = r10;
        y[y0 + 2] = r20;
        y[y0 + 3] = r30;
        y[y1 + 0] = r01;
        y[y1 + 1] = r11;
        y[y1 + 2] = r21;
        y[y1 + 3] = r31;
        y[y2 + 0] = r02;
        y[y2 + 1] = r12;
        y[y2 + 2] = r22;
        y[y2 + 3] = r32;
        y[y3 + 0] = r03;
        y[y3 + 1] = r13;
        y[y3 + 2] = r23;
        y[y3 + 3] = r33;
    }

    /** y[yOff .. yOff+len) += a * (the F32 row segment starting at byte offset off). */
    static void axpy1F32(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector.fromMemorySegment(F, seg, off + 4L * i, LE).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a * seg.get(F32_LE, off + 4L * i);
        }
    }

    /**
     * y[yOff .. yOff+len) += a0 * row0 + a1 * row1 + a2 * row2 + a3 * row3, where row j is the
     * F32 segment at byte offset off + j*rowBytes: y is loaded and stored once for four rows.
     */
    static void axpy4F32(MemorySegment seg, long off, long rowBytes, float a0, float a1, float a2, float a3,
            float[] y, int yOff, int len) {
        FloatVector v0 = FloatVector.broadcast(F, a0), v1 = FloatVector.broadcast(F, a1);
        FloatVector v2 = FloatVector.broadcast(F, a2), v3 = FloatVector.broadcast(F, a3);
        long off1 = off + rowBytes, off2 = off1 + rowBytes, off3 = off2 + rowBytes;
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector acc = FloatVector.fromArray(F, y, yOff + i);
            acc = FloatVector.fromMemorySegment(F, seg, off + 4L * i, LE).fma(v0, acc);
            acc = FloatVector.fromMemorySegment(F, seg, off1 + 4L * i, LE).fma(v1, acc);
            acc = FloatVector.fromMemorySegment(F, seg, off2 + 4L * i, LE).fma(v2, acc);
            acc = FloatVector.fromMemorySegment(F, seg, off3 + 4L * i, LE).fma(v3, acc);
            acc.intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a0 * seg.get(F32_LE, off + 4L * i) + a1 * seg.get(F32_LE, off1 + 4L * i)
                    + a2 * seg.get(F32_LE, off2 + 4L * i) + a3 * seg.get(F32_LE, off3 + 4L * i);
        }
    }

    // ---- Bf16 ----

    /** Dot product of the Bf16 row at byte offset off with x[xOff .. xOff+k) (for leftover rows). */
    static float dot1Bf16(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= k - L; i += L) {
            s0 = Convert.loadBf16(seg, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), s0);
        }
        float s = Lanes.sum(s0);
        for (; i < k; i++) {
            s += Convert.bf16ToF32(seg.get(I16_LE, off + 2L * i)) * x[xOff + i];
        }
        return s;
    }

    /**
     * Dot products of four consecutive Bf16 rows (the first at byte offset off) with
     * x[xOff .. xOff+k), written to y[yOff .. yOff+4): one x load feeds four rows, whose four
     * accumulators are independent FMA chains.
     */
    static void dot4RowsBf16(MemorySegment seg, long off, long rowBytes, float[] x, int xOff, int k, float[] y, int yOff) {
        long o0 = off, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            s0 = Convert.loadBf16(seg, o0 + 2L * i).fma(xv, s0);
            s1 = Convert.loadBf16(seg, o1 + 2L * i).fma(xv, s1);
            s2 = Convert.loadBf16(seg, o2 + 2L * i).fma(xv, s2);
            s3 = Convert.loadBf16(seg, o3 + 2L * i).fma(xv, s3);
        }
        float r0 = Lanes.sum(s0);
        float r1 = Lanes.sum(s1);
        float r2 = Lanes.sum(s2);
        float r3 = Lanes.sum(s3);
        for (; i < k; i++) {
            float xi = x[xOff + i];
            r0 += Convert.bf16ToF32(seg.get(I16_LE, o0 + 2L * i)) * xi;
            r1 += Convert.bf16ToF32(seg.get(I16_LE, o1 + 2L * i)) * xi;
            r2 += Convert.bf16ToF32(seg.get(I16_LE, o2 + 2L * i)) * xi;
            r3 += Convert.bf16ToF32(seg.get(I16_LE, o3 + 2L * i)) * xi;
        }
        y[yOff] = r0;
        y[yOff + 1] = r1;
        y[yOff + 2] = r2;
        y[yOff + 3] = r3;
    }

    /**
     * Dot products of four consecutive Bf16 rows (the first at byte offset off) with four
     * inputs x[x0 + i*k ..) (i &lt; 4), written to y[y0 + i*yStride + j] for row j: a 4x4 block of
     * sixteen accumulators, so each weight vector feeds four inputs and each input vector four rows.
     */
    static void dot4x4Bf16(MemorySegment seg, long off, long rowBytes, float[] x, int x0, int k,
            float[] y, int y0, int yStride) {
        long o0 = off, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z, a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector w0 = Convert.loadBf16(seg, o0 + 2L * i);
            FloatVector w1 = Convert.loadBf16(seg, o1 + 2L * i);
            FloatVector w2 = Convert.loadBf16(seg, o2 + 2L * i);
            FloatVector w3 = Convert.loadBf16(seg, o3 + 2L * i);
            FloatVector xv;
            xv = FloatVector.fromArray(F, x, x0 + i);
            a00 = w0.fma(xv, a00);
            a10 = w1.fma(xv, a10);
            a20 = w2.fma(xv, a20);
            a30 = w3.fma(xv, a30);
            xv = FloatVector.fromArray(F, x, x1 + i);
            a01 = w0.fma(xv, a01);
            a11 = w1.fma(xv, a11);
            a21 = w2.fma(xv, a21);
            a31 = w3.fma(xv, a31);
            xv = FloatVector.fromArray(F, x, x2 + i);
            a02 = w0.fma(xv, a02);
            a12 = w1.fma(xv, a12);
            a22 = w2.fma(xv, a22);
            a32 = w3.fma(xv, a32);
            xv = FloatVector.fromArray(F, x, x3 + i);
            a03 = w0.fma(xv, a03);
            a13 = w1.fma(xv, a13);
            a23 = w2.fma(xv, a23);
            a33 = w3.fma(xv, a33);
        }
        float r00 = Lanes.sum(a00);
        float r01 = Lanes.sum(a01);
        float r02 = Lanes.sum(a02);
        float r03 = Lanes.sum(a03);
        float r10 = Lanes.sum(a10);
        float r11 = Lanes.sum(a11);
        float r12 = Lanes.sum(a12);
        float r13 = Lanes.sum(a13);
        float r20 = Lanes.sum(a20);
        float r21 = Lanes.sum(a21);
        float r22 = Lanes.sum(a22);
        float r23 = Lanes.sum(a23);
        float r30 = Lanes.sum(a30);
        float r31 = Lanes.sum(a31);
        float r32 = Lanes.sum(a32);
        float r33 = Lanes.sum(a33);
        for (; i < k; i++) {
            float t0 = Convert.bf16ToF32(seg.get(I16_LE, o0 + 2L * i));
            float t1 = Convert.bf16ToF32(seg.get(I16_LE, o1 + 2L * i));
            float t2 = Convert.bf16ToF32(seg.get(I16_LE, o2 + 2L * i));
            float t3 = Convert.bf16ToF32(seg.get(I16_LE, o3 + 2L * i));
            r00 += t0 * x[x0 + i];
            r10 += t1 * x[x0 + i];
            r20 += t2 * x[x0 + i];
            r30 += t3 * x[x0 + i];
            r01 += t0 * x[x1 + i];
            r11 += t1 * x[x1 + i];
            r21 += t2 * x[x1 + i];
            r31 += t3 * x[x1 + i];
            r02 += t0 * x[x2 + i];
            r12 += t1 * x[x2 + i];
            r22 += t2 * x[x2 + i];
            r32 += t3 * x[x2 + i];
            r03 += t0 * x[x3 + i];
            r13 += t1 * x[x3 + i];
            r23 += t2 * x[x3 + i];
            r33 += t3 * x[x3 + i];
        }
        int y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        y[y0 + 0] = r00;
        y[y0 + 1] = r10;
        y[y0 + 2] = r20;
        y[y0 + 3] = r30;
        y[y1 + 0] = r01;
        y[y1 + 1] = r11;
        y[y1 + 2] = r21;
        y[y1 + 3] = r31;
        y[y2 + 0] = r02;
        y[y2 + 1] = r12;
        y[y2 + 2] = r22;
        y[y2 + 3] = r32;
        y[y3 + 0] = r03;
        y[y3 + 1] = r13;
        y[y3 + 2] = r23;
        y[y3 + 3] = r33;
    }

    /** y[yOff .. yOff+len) += a * (the Bf16 row segment starting at byte offset off). */
    static void axpy1Bf16(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i <= len - L; i += L) {
            Convert.loadBf16(seg, off + 2L * i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a * Convert.bf16ToF32(seg.get(I16_LE, off + 2L * i));
        }
    }

    /**
     * y[yOff .. yOff+len) += a0 * row0 + a1 * row1 + a2 * row2 + a3 * row3, where row j is the
     * Bf16 segment at byte offset off + j*rowBytes: y is loaded and stored once for four rows.
     */
    static void axpy4Bf16(MemorySegment seg, long off, long rowBytes, float a0, float a1, float a2, float a3,
            float[] y, int yOff, int len) {
        FloatVector v0 = FloatVector.broadcast(F, a0), v1 = FloatVector.broadcast(F, a1);
        FloatVector v2 = FloatVector.broadcast(F, a2), v3 = FloatVector.broadcast(F, a3);
        long off1 = off + rowBytes, off2 = off1 + rowBytes, off3 = off2 + rowBytes;
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector acc = FloatVector.fromArray(F, y, yOff + i);
            acc = Convert.loadBf16(seg, off + 2L * i).fma(v0, acc);
            acc = Convert.loadBf16(seg, off1 + 2L * i).fma(v1, acc);
            acc = Convert.loadBf16(seg, off2 + 2L * i).fma(v2, acc);
            acc = Convert.loadBf16(seg, off3 + 2L * i).fma(v3, acc);
            acc.intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a0 * Convert.bf16ToF32(seg.get(I16_LE, off + 2L * i)) + a1 * Convert.bf16ToF32(seg.get(I16_LE, off1 + 2L * i))
                    + a2 * Convert.bf16ToF32(seg.get(I16_LE, off2 + 2L * i)) + a3 * Convert.bf16ToF32(seg.get(I16_LE, off3 + 2L * i));
        }
    }
}
