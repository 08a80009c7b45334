package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API matrix-vector products with a weight {@link Tensor} W[N, K] (F32, BF16 or F16, on
 * the heap or memory-mapped) and float[] activations: the memory-bound decode path. The scalar
 * twin is {@link ScalarMatVec}; callers go through {@code dev.lorakit.tensor.ops.Ops}.
 *
 * <p>Weights are read straight from their segment and converted to float32 in registers
 * ({@link Convert#loadBf16}, {@link Convert#loadF16}); each row is streamed once per call, also
 * in the batched product, which reuses each loaded weight vector for four inputs. Rows (or, for
 * the transposed product, column blocks) are split over {@link Parallel#forRange} in chunks of at
 * least {@link ParallelGrain#MIN_CHUNK_BYTES} of weights. Inner loops keep several independent
 * FMA chains and do not allocate.
 */
public final class VectorMatVec {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private VectorMatVec() {
    }

    /** y[yOff + n] = sum_k W[n, k] x[xOff + k] for n &lt; N. */
    public static void matvec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int n = w.dim(0);
        int k = w.dim(1);
        long rowBytes = (long) k * dt.byteSize();
        Parallel.forRange(n, ParallelGrain.rowsPerChunk(rowBytes), (r0, r1) -> {
            int r = r0;
            for (; r <= r1 - 4; r += 4) {
                dot4Rows(dt, seg, r * rowBytes, rowBytes, x, xOff, k, y, yOff + r);
            }
            for (; r < r1; r++) {
                y[yOff + r] = dot1(dt, seg, r * rowBytes, x, xOff, k);
            }
        });
    }

    /**
     * y[yOff + b*N + n] = sum_k W[n, k] x[xOff + b*K + k] for b &lt; batch: the rows of x and y
     * are contiguous. Rows are taken four at a time and streamed from memory once: a 4x4 block
     * kernel applies them to four inputs at a time, further inputs reuse the rows from cache.
     */
    public static void matvecBatch(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int n = w.dim(0);
        int k = w.dim(1);
        long rowBytes = (long) k * dt.byteSize();
        Parallel.forRange(n, ParallelGrain.rowsPerChunk(rowBytes), (r0, r1) -> {
            int r = r0;
            for (; r <= r1 - 4; r += 4) {
                long off = r * rowBytes;
                int b = 0;
                for (; b <= batch - 4; b += 4) {
                    dot4x4(dt, seg, off, rowBytes, x, xOff + b * k, k, y, yOff + b * n + r, n);
                }
                for (; b < batch; b++) {
                    dot4Rows(dt, seg, off, rowBytes, x, xOff + b * k, k, y, yOff + b * n + r);
                }
            }
            for (; r < r1; r++) {
                for (int b = 0; b < batch; b++) {
                    y[yOff + b * n + r] = dot1(dt, seg, r * rowBytes, x, xOff + b * k, k);
                }
            }
        });
    }

    /**
     * y[yOff + k] (+)= sum_n W[n, k] x[xOff + n] for k &lt; K: overwrites y, or adds to it when
     * {@code accumulate}. Threads own disjoint column blocks of y and walk all rows, four at a time.
     */
    public static void matvecTransposed(Tensor w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int n = w.dim(0);
        int k = w.dim(1);
        int bs = dt.byteSize();
        long rowBytes = (long) k * bs;
        int cb = ParallelGrain.COLUMN_BLOCK;
        int blocks = (k + cb - 1) / cb;
        Parallel.forRange(blocks, ParallelGrain.rowsPerChunk((long) cb * n * bs), (b0, b1) -> {
            int c0 = b0 * cb;
            int len = Math.min(k, b1 * cb) - c0;
            if (!accumulate) {
                Arrays.fill(y, yOff + c0, yOff + c0 + len, 0f);
            }
            long colOff = (long) c0 * bs;
            int r = 0;
            for (; r <= n - 4; r += 4) {
                axpy4(dt, seg, r * rowBytes + colOff, rowBytes,
                        x[xOff + r], x[xOff + r + 1], x[xOff + r + 2], x[xOff + r + 3], y, yOff + c0, len);
            }
            for (; r < n; r++) {
                axpy1(dt, seg, r * rowBytes + colOff, x[xOff + r], y, yOff + c0, len);
            }
        });
    }

    // ---- dtype dispatch (once per row, never per element) ----

    private static float dot1(DType dt, MemorySegment seg, long off, float[] x, int xOff, int k) {
        return switch (dt) {
            case F32 -> dot1F32(seg, off, x, xOff, k);
            case BF16 -> dot1Bf16(seg, off, x, xOff, k);
            case F16 -> dot1F16(seg, off, x, xOff, k);
            default -> throw new IllegalArgumentException("matvec needs F32, BF16 or F16 weights, got " + dt);
        };
    }

    private static void dot4Rows(DType dt, MemorySegment seg, long off, long rowBytes, float[] x, int xOff, int k, float[] y, int yOff) {
        switch (dt) {
            case F32 -> dot4RowsF32(seg, off, rowBytes, x, xOff, k, y, yOff);
            case BF16 -> dot4RowsBf16(seg, off, rowBytes, x, xOff, k, y, yOff);
            case F16 -> dot4RowsF16(seg, off, rowBytes, x, xOff, k, y, yOff);
            default -> throw new IllegalArgumentException("matvec needs F32, BF16 or F16 weights, got " + dt);
        }
    }

    private static void dot4x4(DType dt, MemorySegment seg, long off, long rowBytes, float[] x, int x0, int k,
            float[] y, int y0, int yStride) {
        switch (dt) {
            case F32 -> dot4x4F32(seg, off, rowBytes, x, x0, k, y, y0, yStride);
            case BF16 -> dot4x4Bf16(seg, off, rowBytes, x, x0, k, y, y0, yStride);
            case F16 -> dot4x4F16(seg, off, rowBytes, x, x0, k, y, y0, yStride);
            default -> throw new IllegalArgumentException("matvec needs F32, BF16 or F16 weights, got " + dt);
        }
    }

    private static void axpy1(DType dt, MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
        switch (dt) {
            case F32 -> axpy1F32(seg, off, a, y, yOff, len);
            case BF16 -> axpy1Bf16(seg, off, a, y, yOff, len);
            case F16 -> axpy1F16(seg, off, a, y, yOff, len);
            default -> throw new IllegalArgumentException("matvec needs F32, BF16 or F16 weights, got " + dt);
        }
    }

    private static void axpy4(DType dt, MemorySegment seg, long off, long rowBytes, float a0, float a1, float a2, float a3,
            float[] y, int yOff, int len) {
        switch (dt) {
            case F32 -> axpy4F32(seg, off, rowBytes, a0, a1, a2, a3, y, yOff, len);
            case BF16 -> axpy4Bf16(seg, off, rowBytes, a0, a1, a2, a3, y, yOff, len);
            case F16 -> axpy4F16(seg, off, rowBytes, a0, a1, a2, a3, y, yOff, len);
            default -> throw new IllegalArgumentException("matvec needs F32, BF16 or F16 weights, got " + dt);
        }
    }

    // ---- F32 ----

    /** Dot product of the F32 row at byte offset off with x[xOff .. xOff+k) (for leftover rows). */
    private static float dot1F32(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= k - L; i += L) {
            s0 = FloatVector.fromMemorySegment(F, seg, off + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), s0);
        }
        float s = s0.reduceLanes(VectorOperators.ADD);
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
    private static void dot4RowsF32(MemorySegment seg, long off, long rowBytes, float[] x, int xOff, int k, float[] y, int yOff) {
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
        float r0 = s0.reduceLanes(VectorOperators.ADD);
        float r1 = s1.reduceLanes(VectorOperators.ADD);
        float r2 = s2.reduceLanes(VectorOperators.ADD);
        float r3 = s3.reduceLanes(VectorOperators.ADD);
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
    private static void dot4x4F32(MemorySegment seg, long off, long rowBytes, float[] x, int x0, int k,
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
        float r00 = a00.reduceLanes(VectorOperators.ADD);
        float r01 = a01.reduceLanes(VectorOperators.ADD);
        float r02 = a02.reduceLanes(VectorOperators.ADD);
        float r03 = a03.reduceLanes(VectorOperators.ADD);
        float r10 = a10.reduceLanes(VectorOperators.ADD);
        float r11 = a11.reduceLanes(VectorOperators.ADD);
        float r12 = a12.reduceLanes(VectorOperators.ADD);
        float r13 = a13.reduceLanes(VectorOperators.ADD);
        float r20 = a20.reduceLanes(VectorOperators.ADD);
        float r21 = a21.reduceLanes(VectorOperators.ADD);
        float r22 = a22.reduceLanes(VectorOperators.ADD);
        float r23 = a23.reduceLanes(VectorOperators.ADD);
        float r30 = a30.reduceLanes(VectorOperators.ADD);
        float r31 = a31.reduceLanes(VectorOperators.ADD);
        float r32 = a32.reduceLanes(VectorOperators.ADD);
        float r33 = a33.reduceLanes(VectorOperators.ADD);
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
    private static void axpy1F32(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
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
    private static void axpy4F32(MemorySegment seg, long off, long rowBytes, float a0, float a1, float a2, float a3,
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
    private static float dot1Bf16(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= k - L; i += L) {
            s0 = Convert.loadBf16(seg, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), s0);
        }
        float s = s0.reduceLanes(VectorOperators.ADD);
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
    private static void dot4RowsBf16(MemorySegment seg, long off, long rowBytes, float[] x, int xOff, int k, float[] y, int yOff) {
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
        float r0 = s0.reduceLanes(VectorOperators.ADD);
        float r1 = s1.reduceLanes(VectorOperators.ADD);
        float r2 = s2.reduceLanes(VectorOperators.ADD);
        float r3 = s3.reduceLanes(VectorOperators.ADD);
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
    private static void dot4x4Bf16(MemorySegment seg, long off, long rowBytes, float[] x, int x0, int k,
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
        float r00 = a00.reduceLanes(VectorOperators.ADD);
        float r01 = a01.reduceLanes(VectorOperators.ADD);
        float r02 = a02.reduceLanes(VectorOperators.ADD);
        float r03 = a03.reduceLanes(VectorOperators.ADD);
        float r10 = a10.reduceLanes(VectorOperators.ADD);
        float r11 = a11.reduceLanes(VectorOperators.ADD);
        float r12 = a12.reduceLanes(VectorOperators.ADD);
        float r13 = a13.reduceLanes(VectorOperators.ADD);
        float r20 = a20.reduceLanes(VectorOperators.ADD);
        float r21 = a21.reduceLanes(VectorOperators.ADD);
        float r22 = a22.reduceLanes(VectorOperators.ADD);
        float r23 = a23.reduceLanes(VectorOperators.ADD);
        float r30 = a30.reduceLanes(VectorOperators.ADD);
        float r31 = a31.reduceLanes(VectorOperators.ADD);
        float r32 = a32.reduceLanes(VectorOperators.ADD);
        float r33 = a33.reduceLanes(VectorOperators.ADD);
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
    private static void axpy1Bf16(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
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
    private static void axpy4Bf16(MemorySegment seg, long off, long rowBytes, float a0, float a1, float a2, float a3,
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

    // ---- F16 ----

    /** Dot product of the F16 row at byte offset off with x[xOff .. xOff+k) (for leftover rows). */
    private static float dot1F16(MemorySegment seg, long off, float[] x, int xOff, int k) {
        FloatVector s0 = FloatVector.zero(F);
        int i = 0;
        for (; i <= k - L; i += L) {
            s0 = Convert.loadF16(seg, off + 2L * i).fma(FloatVector.fromArray(F, x, xOff + i), s0);
        }
        float s = s0.reduceLanes(VectorOperators.ADD);
        for (; i < k; i++) {
            s += Float.float16ToFloat(seg.get(I16_LE, off + 2L * i)) * x[xOff + i];
        }
        return s;
    }

    /**
     * Dot products of four consecutive F16 rows (the first at byte offset off) with
     * x[xOff .. xOff+k), written to y[yOff .. yOff+4): one x load feeds four rows, whose four
     * accumulators are independent FMA chains.
     */
    private static void dot4RowsF16(MemorySegment seg, long off, long rowBytes, float[] x, int xOff, int k, float[] y, int yOff) {
        long o0 = off, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xOff + i);
            s0 = Convert.loadF16(seg, o0 + 2L * i).fma(xv, s0);
            s1 = Convert.loadF16(seg, o1 + 2L * i).fma(xv, s1);
            s2 = Convert.loadF16(seg, o2 + 2L * i).fma(xv, s2);
            s3 = Convert.loadF16(seg, o3 + 2L * i).fma(xv, s3);
        }
        float r0 = s0.reduceLanes(VectorOperators.ADD);
        float r1 = s1.reduceLanes(VectorOperators.ADD);
        float r2 = s2.reduceLanes(VectorOperators.ADD);
        float r3 = s3.reduceLanes(VectorOperators.ADD);
        for (; i < k; i++) {
            float xi = x[xOff + i];
            r0 += Float.float16ToFloat(seg.get(I16_LE, o0 + 2L * i)) * xi;
            r1 += Float.float16ToFloat(seg.get(I16_LE, o1 + 2L * i)) * xi;
            r2 += Float.float16ToFloat(seg.get(I16_LE, o2 + 2L * i)) * xi;
            r3 += Float.float16ToFloat(seg.get(I16_LE, o3 + 2L * i)) * xi;
        }
        y[yOff] = r0;
        y[yOff + 1] = r1;
        y[yOff + 2] = r2;
        y[yOff + 3] = r3;
    }

    /**
     * Dot products of four consecutive F16 rows (the first at byte offset off) with four
     * inputs x[x0 + i*k ..) (i &lt; 4), written to y[y0 + i*yStride + j] for row j: a 4x4 block of
     * sixteen accumulators, so each weight vector feeds four inputs and each input vector four rows.
     */
    private static void dot4x4F16(MemorySegment seg, long off, long rowBytes, float[] x, int x0, int k,
            float[] y, int y0, int yStride) {
        long o0 = off, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        int x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z, a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        int i = 0;
        for (; i <= k - L; i += L) {
            FloatVector w0 = Convert.loadF16(seg, o0 + 2L * i);
            FloatVector w1 = Convert.loadF16(seg, o1 + 2L * i);
            FloatVector w2 = Convert.loadF16(seg, o2 + 2L * i);
            FloatVector w3 = Convert.loadF16(seg, o3 + 2L * i);
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
        float r00 = a00.reduceLanes(VectorOperators.ADD);
        float r01 = a01.reduceLanes(VectorOperators.ADD);
        float r02 = a02.reduceLanes(VectorOperators.ADD);
        float r03 = a03.reduceLanes(VectorOperators.ADD);
        float r10 = a10.reduceLanes(VectorOperators.ADD);
        float r11 = a11.reduceLanes(VectorOperators.ADD);
        float r12 = a12.reduceLanes(VectorOperators.ADD);
        float r13 = a13.reduceLanes(VectorOperators.ADD);
        float r20 = a20.reduceLanes(VectorOperators.ADD);
        float r21 = a21.reduceLanes(VectorOperators.ADD);
        float r22 = a22.reduceLanes(VectorOperators.ADD);
        float r23 = a23.reduceLanes(VectorOperators.ADD);
        float r30 = a30.reduceLanes(VectorOperators.ADD);
        float r31 = a31.reduceLanes(VectorOperators.ADD);
        float r32 = a32.reduceLanes(VectorOperators.ADD);
        float r33 = a33.reduceLanes(VectorOperators.ADD);
        for (; i < k; i++) {
            float t0 = Float.float16ToFloat(seg.get(I16_LE, o0 + 2L * i));
            float t1 = Float.float16ToFloat(seg.get(I16_LE, o1 + 2L * i));
            float t2 = Float.float16ToFloat(seg.get(I16_LE, o2 + 2L * i));
            float t3 = Float.float16ToFloat(seg.get(I16_LE, o3 + 2L * i));
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

    /** y[yOff .. yOff+len) += a * (the F16 row segment starting at byte offset off). */
    private static void axpy1F16(MemorySegment seg, long off, float a, float[] y, int yOff, int len) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (; i <= len - L; i += L) {
            Convert.loadF16(seg, off + 2L * i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a * Float.float16ToFloat(seg.get(I16_LE, off + 2L * i));
        }
    }

    /**
     * y[yOff .. yOff+len) += a0 * row0 + a1 * row1 + a2 * row2 + a3 * row3, where row j is the
     * F16 segment at byte offset off + j*rowBytes: y is loaded and stored once for four rows.
     */
    private static void axpy4F16(MemorySegment seg, long off, long rowBytes, float a0, float a1, float a2, float a3,
            float[] y, int yOff, int len) {
        FloatVector v0 = FloatVector.broadcast(F, a0), v1 = FloatVector.broadcast(F, a1);
        FloatVector v2 = FloatVector.broadcast(F, a2), v3 = FloatVector.broadcast(F, a3);
        long off1 = off + rowBytes, off2 = off1 + rowBytes, off3 = off2 + rowBytes;
        int i = 0;
        for (; i <= len - L; i += L) {
            FloatVector acc = FloatVector.fromArray(F, y, yOff + i);
            acc = Convert.loadF16(seg, off + 2L * i).fma(v0, acc);
            acc = Convert.loadF16(seg, off1 + 2L * i).fma(v1, acc);
            acc = Convert.loadF16(seg, off2 + 2L * i).fma(v2, acc);
            acc = Convert.loadF16(seg, off3 + 2L * i).fma(v3, acc);
            acc.intoArray(y, yOff + i);
        }
        for (; i < len; i++) {
            y[yOff + i] += a0 * Float.float16ToFloat(seg.get(I16_LE, off + 2L * i)) + a1 * Float.float16ToFloat(seg.get(I16_LE, off1 + 2L * i))
                    + a2 * Float.float16ToFloat(seg.get(I16_LE, off2 + 2L * i)) + a3 * Float.float16ToFloat(seg.get(I16_LE, off3 + 2L * i));
        }
    }
}
