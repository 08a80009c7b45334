package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.QuantBlocks.B;
import static dev.lorakit.tensor.kernel.QuantBlocks.F;
import static dev.lorakit.tensor.kernel.QuantBlocks.I;
import static dev.lorakit.tensor.kernel.QuantBlocks.LE;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
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
 * Matrix-vector products with row-interleaved weights ({@link RowGroups}: Q4_0_R32, Q8_0_R32),
 * the decode path of quantized models: each group of 32 rows is one sequential stream, and its
 * 32 outputs live in two 16-lane float accumulators (rows 0-15 and 16-31), so there are no
 * horizontal sums and the 32 block scales of a group block are converted with two vector ops.
 * Needs 16 float lanes ({@link #SUPPORTED}, AVX-512); {@link VectorMatVec} falls back to the
 * scalar twins in {@link ScalarMatVec} otherwise.
 *
 * <p><b>Q4_0_R32</b> products use 8-bit activations ({@link QuantizedActivations}, llama.cpp's
 * scheme for Q4_0): per group block and input, the 32 integer dot products
 * t_r = sum_j (q_rj - 8) qx_j are formed in 16-bit lanes (each |t_r| &lt;= 32 * 8 * 127 =
 * 32512, so the wrapping 16-bit sums are exact), then acc_r = fma(t_r, d_r dx, acc_r) in block
 * order. A chunk of 64 bytes holds four nibbles of each of the 32 rows, so one load, three
 * shifts, four masks, four 16-bit multiplies and adds serve 128 weights: on two Zen 4 cores this
 * streams Q4_0 at the memory bandwidth, where the float decode of 4-bit weights was compute bound
 * (about 1.9x slower). <b>Q8_0_R32</b> products keep float32 activations: per group block
 * t_r = sum_j q_rj x_j in column order j = 0..31, then acc_r = fma(t_r, d_r, acc_r).
 *
 * <p>Every (row, input) pair is computed by the same sequence of float operations in the one-
 * and the four-input kernels and in the tail-row code, so batching several decode rows never
 * changes a result; the Q4_0_R32 results equal {@link ScalarMatVec}'s bit for bit. (A model
 * multiplies more than a few rows at once with the float32 matmul instead, see
 * {@code dev.lorakit.model.Linear}: for Q4_0 that is a different rounding of the same product.) As in {@link QuantMatVecRows}, the
 * decode is written out in each kernel body without helper calls (a helper that is not inlined
 * boxes every vector it touches).
 */
final class RowGroupMatVec {
    /** True when these kernels run here (16 float lanes). */
    static final boolean SUPPORTED = F.length() == 16 && I.length() == 16 && B != null;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final int ROWS = RowGroups.ROWS;
    private static final int Q4_GROUP_BLOCK = ROWS * 18;
    private static final int Q8_GROUP_BLOCK = ROWS * 34;
    private static final int SCALES = RowGroups.SCALES_BYTES;
    private static final int HALF_SCALES = SCALES / 2;
    private static final int CHUNK = RowGroups.Q4_CHUNK_BYTES;
    /** The nibble of each 16-bit half of an int lane. */
    private static final int NIBBLES = 0x000f000f;
    /** fp16 -> fp32: (sign-extended half << 13) with bits 28-30 cleared, times 2^112, is exact for finite halves. */
    private static final int F16_BITS = 0x8fffffff;
    private static final float F16_SCALE = 0x1p112f;
    /** Inputs applied together to each decoded chunk. */
    private static final int TILE = 4;

    private RowGroupMatVec() {
    }

    /**
     * y[yOff + b*N + n] = sum_k W[n, k] x[xOff + b*K + k] for b &lt; batch, W Q4_0_R32 or
     * Q8_0_R32; x and y rows contiguous. Needs {@link #SUPPORTED}.
     */
    static void matvecBatch(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        int n = w.dim(0);
        int groups = RowGroups.groups(n);
        QuantizedActivations acts = null;
        if (w.dtype() == DType.Q4_0_R32) {
            acts = QuantizedActivations.forThread(batch, w.dim(1));
            acts.quantize(x, xOff, batch);
        }
        QuantizedActivations a = acts;
        int units = groups + (groups * ROWS < n ? 1 : 0); // the last unit is the row-major tail
        int minGroups = Math.max(1, ParallelGrain.rowsPerChunk(w.dtype().bytesFor(w.dim(1))) / ROWS);
        Parallel.forRange(units, minGroups, (u0, u1) -> {
            for (int g = u0; g < u1; g++) {
                group(w, g, x, xOff, a, y, yOff, batch);
            }
        });
    }

    /** Group g of w (or, for g == groups, its row-major tail rows) for every input. */
    private static void group(Tensor w, int g, float[] x, int xOff, QuantizedActivations acts, float[] y, int yOff, int batch) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int n = w.dim(0);
        int k = w.dim(1);
        int blocks = k / BlockFormat.BLOCK;
        if (g == RowGroups.groups(n)) {
            tailRows(dt, seg, g * ROWS, n, k, x, xOff, acts, y, yOff, batch);
            return;
        }
        long go = (long) g * ROWS * dt.bytesFor(k);
        boolean q4 = dt == DType.Q4_0_R32;
        int b = 0;
        for (; b <= batch - TILE; b += TILE) {
            if (q4) {
                q4x4(seg, go, blocks, acts.q, b * k, k, acts.d, acts.sum, b * blocks, blocks, y, yOff + b * n + g * ROWS, n);
            } else {
                q8x4(seg, go, blocks, x, xOff + b * k, k, y, yOff + b * n + g * ROWS, n);
            }
        }
        for (; b < batch; b++) {
            if (q4) {
                q4x1(seg, go, blocks, acts.q, b * k, acts.d, acts.sum, b * blocks, y, yOff + b * n + g * ROWS);
            } else {
                q8x1(seg, go, blocks, x, xOff + b * k, y, yOff + b * n + g * ROWS);
            }
        }
    }

    /** Rows [first, n) (row-major, after the groups), for every input, in the same arithmetic as the group kernels. */
    private static void tailRows(DType dt, MemorySegment seg, int first, int n, int k, float[] x, int xOff,
            QuantizedActivations acts, float[] y, int yOff, int batch) {
        long rowBytes = dt.bytesFor(k);
        int blocks = k / BlockFormat.BLOCK;
        for (int r = first; r < n; r++) {
            for (int b = 0; b < batch; b++) {
                y[yOff + b * n + r] = dt == DType.Q4_0_R32
                        ? q4Row(seg, r * rowBytes, blocks, acts.q, b * k, acts.d, acts.sum, b * blocks)
                        : q8Row(seg, r * rowBytes, blocks, x, xOff + b * k);
            }
        }
    }

    // ---- Q4_0_R32: 8-bit activations, 16-bit products ----

    /**
     * One input: y[yOff + r] for the 32 rows of the group at byte go. qx[qOff + 32c + j] are the
     * quantized inputs, dx[dOff + c] and sum[dOff + c] their block scales and sums.
     */
    static void q4x1(MemorySegment seg, long go, int blocks, short[] qx, int qOff, float[] dx, int[] sum, int dOff,
            float[] y, int yOff) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        for (int c = 0; c < blocks; c++) {
            long gb = go + (long) c * Q4_GROUP_BLOCK;
            int xi = qOff + c * BlockFormat.BLOCK;
            ShortVector t = ShortVector.broadcast(S, (short) (-BlockFormat.Q4_OFFSET * sum[dOff + c]));
            for (int m = 0; m < 8; m++) {
                IntVector v = IntVector.fromMemorySegment(I, seg, gb + SCALES + (long) m * CHUNK, LE);
                int j = xi + 2 * m;
                t = t.add(v.and(NIBBLES).reinterpretAsShorts().mul(qx[j]))
                        .add(v.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts().mul(qx[j + 16]))
                        .add(v.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts().mul(qx[j + 1]))
                        .add(v.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts().mul(qx[j + 17]));
            }
            // rows 0-15 are the low halves of t's int lanes, rows 16-31 the high halves
            IntVector ti = t.reinterpretAsInts();
            float d = dx[dOff + c];
            FloatVector s0 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE).mul(d);
            FloatVector s1 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb + HALF_SCALES, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE).mul(d);
            acc0 = ((FloatVector) ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .convertShape(VectorOperators.I2F, F, 0)).fma(s0, acc0);
            acc1 = ((FloatVector) ti.lanewise(VectorOperators.ASHR, 16).convertShape(VectorOperators.I2F, F, 0)).fma(s1, acc1);
        }
        acc0.intoArray(y, yOff);
        acc1.intoArray(y, yOff + 16);
    }

    /**
     * Four inputs (quantized rows at qOff + i*qStride, scales and sums at dOff + i*dStride) for
     * the group at byte go: each chunk is decoded once for all four; outputs y[yOff + i*yStride + r].
     */
    static void q4x4(MemorySegment seg, long go, int blocks, short[] qx, int qOff, int qStride, float[] dx, int[] sum,
            int dOff, int dStride, float[] y, int yOff, int yStride) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, e0 = z, e1 = z;
        int q0 = qOff, q1 = q0 + qStride, q2 = q1 + qStride, q3 = q2 + qStride;
        int d0 = dOff, d1 = d0 + dStride, d2 = d1 + dStride, d3 = d2 + dStride;
        for (int c = 0; c < blocks; c++) {
            long gb = go + (long) c * Q4_GROUP_BLOCK;
            int xb = c * BlockFormat.BLOCK;
            ShortVector ta = ShortVector.broadcast(S, (short) (-BlockFormat.Q4_OFFSET * sum[d0 + c]));
            ShortVector tb = ShortVector.broadcast(S, (short) (-BlockFormat.Q4_OFFSET * sum[d1 + c]));
            ShortVector tc = ShortVector.broadcast(S, (short) (-BlockFormat.Q4_OFFSET * sum[d2 + c]));
            ShortVector te = ShortVector.broadcast(S, (short) (-BlockFormat.Q4_OFFSET * sum[d3 + c]));
            for (int m = 0; m < 8; m++) {
                IntVector v = IntVector.fromMemorySegment(I, seg, gb + SCALES + (long) m * CHUNK, LE);
                ShortVector n0 = v.and(NIBBLES).reinterpretAsShorts();
                ShortVector n1 = v.lanewise(VectorOperators.LSHR, 4).and(NIBBLES).reinterpretAsShorts();
                ShortVector n2 = v.lanewise(VectorOperators.LSHR, 8).and(NIBBLES).reinterpretAsShorts();
                ShortVector n3 = v.lanewise(VectorOperators.LSHR, 12).and(NIBBLES).reinterpretAsShorts();
                int j = xb + 2 * m;
                ta = ta.add(n0.mul(qx[q0 + j])).add(n1.mul(qx[q0 + j + 16])).add(n2.mul(qx[q0 + j + 1])).add(n3.mul(qx[q0 + j + 17]));
                tb = tb.add(n0.mul(qx[q1 + j])).add(n1.mul(qx[q1 + j + 16])).add(n2.mul(qx[q1 + j + 1])).add(n3.mul(qx[q1 + j + 17]));
                tc = tc.add(n0.mul(qx[q2 + j])).add(n1.mul(qx[q2 + j + 16])).add(n2.mul(qx[q2 + j + 1])).add(n3.mul(qx[q2 + j + 17]));
                te = te.add(n0.mul(qx[q3 + j])).add(n1.mul(qx[q3 + j + 16])).add(n2.mul(qx[q3 + j + 1])).add(n3.mul(qx[q3 + j + 17]));
            }
            FloatVector s0 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            FloatVector s1 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb + HALF_SCALES, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            IntVector ti;
            float d;
            ti = ta.reinterpretAsInts();
            d = dx[d0 + c];
            a0 = ((FloatVector) ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .convertShape(VectorOperators.I2F, F, 0)).fma(s0.mul(d), a0);
            a1 = ((FloatVector) ti.lanewise(VectorOperators.ASHR, 16).convertShape(VectorOperators.I2F, F, 0)).fma(s1.mul(d), a1);
            ti = tb.reinterpretAsInts();
            d = dx[d1 + c];
            b0 = ((FloatVector) ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .convertShape(VectorOperators.I2F, F, 0)).fma(s0.mul(d), b0);
            b1 = ((FloatVector) ti.lanewise(VectorOperators.ASHR, 16).convertShape(VectorOperators.I2F, F, 0)).fma(s1.mul(d), b1);
            ti = tc.reinterpretAsInts();
            d = dx[d2 + c];
            c0 = ((FloatVector) ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .convertShape(VectorOperators.I2F, F, 0)).fma(s0.mul(d), c0);
            c1 = ((FloatVector) ti.lanewise(VectorOperators.ASHR, 16).convertShape(VectorOperators.I2F, F, 0)).fma(s1.mul(d), c1);
            ti = te.reinterpretAsInts();
            d = dx[d3 + c];
            e0 = ((FloatVector) ti.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .convertShape(VectorOperators.I2F, F, 0)).fma(s0.mul(d), e0);
            e1 = ((FloatVector) ti.lanewise(VectorOperators.ASHR, 16).convertShape(VectorOperators.I2F, F, 0)).fma(s1.mul(d), e1);
        }
        a0.intoArray(y, yOff);
        a1.intoArray(y, yOff + 16);
        b0.intoArray(y, yOff + yStride);
        b1.intoArray(y, yOff + yStride + 16);
        c0.intoArray(y, yOff + 2 * yStride);
        c1.intoArray(y, yOff + 2 * yStride + 16);
        e0.intoArray(y, yOff + 3 * yStride);
        e1.intoArray(y, yOff + 3 * yStride + 16);
    }

    /** One row-major Q4_0 row at byte off (a tail row), with the arithmetic of {@link #q4x1} for its lane. */
    static float q4Row(MemorySegment seg, long off, int blocks, short[] qx, int qOff, float[] dx, int[] sum, int dOff) {
        float acc = 0f;
        for (int c = 0; c < blocks; c++) {
            long bo = off + (long) c * 18;
            int xi = qOff + c * BlockFormat.BLOCK;
            IntVector q = (IntVector) ByteVector.fromMemorySegment(B, seg, bo + BlockFormat.SCALE_BYTES, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            IntVector lo = (IntVector) ShortVector.fromArray(S16, qx, xi).convertShape(VectorOperators.S2I, I, 0);
            IntVector hi = (IntVector) ShortVector.fromArray(S16, qx, xi + 16).convertShape(VectorOperators.S2I, I, 0);
            int t = q.and(0x0f).mul(lo).add(q.lanewise(VectorOperators.LSHR, 4).mul(hi)).reduceLanes(VectorOperators.ADD)
                    - BlockFormat.Q4_OFFSET * sum[dOff + c];
            acc = Math.fma((float) t, BlockFormat.scale(seg, bo) * dx[dOff + c], acc);
        }
        return acc;
    }

    // ---- Q8_0_R32: float32 activations ----

    /** One input x[xOff ..]: y[yOff + r] for the 32 rows of the group at byte go. */
    static void q8x1(MemorySegment seg, long go, int blocks, float[] x, int xOff, float[] y, int yOff) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        for (int c = 0; c < blocks; c++) {
            long gb = go + (long) c * Q8_GROUP_BLOCK;
            int xi = xOff + c * BlockFormat.BLOCK;
            FloatVector t0 = FloatVector.zero(F);
            FloatVector t1 = t0;
            for (int j = 0; j < BlockFormat.BLOCK; j += 4) {
                long col = gb + SCALES + (long) j * ROWS;
                FloatVector xv = FloatVector.broadcast(F, x[xi + j]);
                t0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 16, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                xv = FloatVector.broadcast(F, x[xi + j + 1]);
                t0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 32, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 48, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                xv = FloatVector.broadcast(F, x[xi + j + 2]);
                t0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 64, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 80, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
                xv = FloatVector.broadcast(F, x[xi + j + 3]);
                t0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 96, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t0);
                t1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, col + 112, LE).convertShape(VectorOperators.B2F, F, 0)).fma(xv, t1);
            }
            FloatVector s0 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            FloatVector s1 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb + HALF_SCALES, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            acc0 = t0.fma(s0, acc0);
            acc1 = t1.fma(s1, acc1);
        }
        acc0.intoArray(y, yOff);
        acc1.intoArray(y, yOff + 16);
    }

    /** Four inputs x[xOff + i*xStride ..]: outputs y[yOff + i*yStride + r], each as {@link #q8x1} computes it. */
    static void q8x4(MemorySegment seg, long go, int blocks, float[] x, int xOff, int xStride, float[] y, int yOff, int yStride) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, b0 = z, b1 = z, c0 = z, c1 = z, e0 = z, e1 = z;
        int x0 = xOff, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        for (int c = 0; c < blocks; c++) {
            long gb = go + (long) c * Q8_GROUP_BLOCK;
            int xb = c * BlockFormat.BLOCK;
            FloatVector ta0 = z, ta1 = z, tb0 = z, tb1 = z, tc0 = z, tc1 = z, te0 = z, te1 = z;
            for (int j = 0; j < BlockFormat.BLOCK; j++) {
                long col = gb + SCALES + (long) j * ROWS;
                FloatVector w0 = (FloatVector) ByteVector.fromMemorySegment(B, seg, col, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector w1 = (FloatVector) ByteVector.fromMemorySegment(B, seg, col + 16, LE).convertShape(VectorOperators.B2F, F, 0);
                int xi = xb + j;
                FloatVector xv = FloatVector.broadcast(F, x[x0 + xi]);
                ta0 = w0.fma(xv, ta0);
                ta1 = w1.fma(xv, ta1);
                xv = FloatVector.broadcast(F, x[x1 + xi]);
                tb0 = w0.fma(xv, tb0);
                tb1 = w1.fma(xv, tb1);
                xv = FloatVector.broadcast(F, x[x2 + xi]);
                tc0 = w0.fma(xv, tc0);
                tc1 = w1.fma(xv, tc1);
                xv = FloatVector.broadcast(F, x[x3 + xi]);
                te0 = w0.fma(xv, te0);
                te1 = w1.fma(xv, te1);
            }
            FloatVector s0 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            FloatVector s1 = ((IntVector) ShortVector.fromMemorySegment(S16, seg, gb + HALF_SCALES, LE).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_SCALE);
            a0 = ta0.fma(s0, a0);
            a1 = ta1.fma(s1, a1);
            b0 = tb0.fma(s0, b0);
            b1 = tb1.fma(s1, b1);
            c0 = tc0.fma(s0, c0);
            c1 = tc1.fma(s1, c1);
            e0 = te0.fma(s0, e0);
            e1 = te1.fma(s1, e1);
        }
        a0.intoArray(y, yOff);
        a1.intoArray(y, yOff + 16);
        b0.intoArray(y, yOff + yStride);
        b1.intoArray(y, yOff + yStride + 16);
        c0.intoArray(y, yOff + 2 * yStride);
        c1.intoArray(y, yOff + 2 * yStride + 16);
        e0.intoArray(y, yOff + 3 * yStride);
        e1.intoArray(y, yOff + 3 * yStride + 16);
    }

    /** One row-major Q8_0 row at byte off (a tail row), with the arithmetic of {@link #q8x1} for its lane. */
    static float q8Row(MemorySegment seg, long off, int blocks, float[] x, int xOff) {
        float acc = 0f;
        for (int c = 0; c < blocks; c++) {
            long bo = off + (long) c * 34;
            int xi = xOff + c * BlockFormat.BLOCK;
            float t = 0f;
            for (int j = 0; j < BlockFormat.BLOCK; j++) {
                t = Math.fma(BlockFormat.quant(DType.Q8_0, seg, bo, j), x[xi + j], t);
            }
            acc = Math.fma(t, BlockFormat.scale(seg, bo), acc);
        }
        return acc;
    }
}
