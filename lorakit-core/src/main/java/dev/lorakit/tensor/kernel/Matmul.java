package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packed, register-blocked, multi-threaded matrix product with the Vector API:
 * {@code C[M,N] (+)= op(A)[M,K] * op(B)[K,N]}, where op transposes when asked. A and B may be
 * F32, BF16, F16, Q8_0 or Q4_0, on the heap or memory-mapped; packing converts them to float32
 * panels (block-quantized operands are dequantized slice by slice, exactly, never as a whole
 * matrix), so the micro-kernel only ever sees float arrays. C is a heap F32 tensor.
 *
 * <p>Scheme (Goto/BLIS): A is packed once into MR-row panels (per KC slice of K) and shared by
 * all threads; the threads then claim (NC-column block, M range) work items, pack their B block
 * into NR-column panels that stay in L2, and sweep an MR x NR micro-kernel over it that keeps
 * the C tile in 16 vector registers. Legend: M rows of C, N columns of C, K the shared dimension.
 */
public final class Matmul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int VL = F.length();
    /** Micro-tile: MR rows x NR columns of C (NR = two vectors). */
    static final int MR = 8;
    static final int NR = 2 * VL;
    /** Slice of K packed at a time (an A panel MR x KC and a B panel KC x NR stay in L1). */
    static final int KC = 256;
    /** Columns of B packed per work item (a KC x NC block stays in L2). */
    static final int NC_MAX = 512;
    /** A panels per M block (an MC x KC block of packed A stays in L2). */
    static final int MC_PANELS = 64;

    /**
     * A heap F32, untransposed A is read in place (not packed) when C has at most this many
     * columns: packing A costs M x K copies, which only N >= a few hundred columns amortise
     * (measured: training shapes N = 16..512 +8 % tokens/s in place; 1024^3 -9 % in place).
     */
    static final int IN_PLACE_A_MAX_N = Integer.getInteger("lorakit.matmul.inPlaceAMaxN", 512);
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[5][]);
    /** Packed-A buffers larger than this (floats) are dropped after the call instead of kept per thread. */
    static final int RETAINED_PACK_FLOATS = 16 << 20;

    private Matmul() {
    }

    /**
     * C = op(A) op(B), or C += op(A) op(B) when {@code accumulate}.
     *
     * @param a [M,K], or [K,M] when transA
     * @param b [K,N], or [N,K] when transB (a Linear weight [out,in] used as y = x W^T)
     * @param c [M,N], heap F32, must not alias a or b
     */
    public static void gemm(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate) {
        if (KernelMode.SCALAR) {
            ScalarMatmul.gemm(a, transA, b, transB, c, accumulate);
            return;
        }
        Dims d = Dims.of(a, transA, b, transB, c);
        float[] cArr = c.floatArray();
        int cOff = c.arrayOffset();
        if (d.m == 0 || d.n == 0) {
            return;
        }
        if (d.k == 0) {
            if (!accumulate) {
                java.util.Arrays.fill(cArr, cOff, cOff + d.m * d.n, 0f);
            }
            return;
        }
        int mPanels = (d.m + MR - 1) / MR;
        int kBlocks = (d.k + KC - 1) / KC;
        // 1. Pack all of A once: for each K slice, mPanels panels of [kc][MR].
        long packedALen = (long) mPanels * MR * d.k;
        if (packedALen > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("matmul operand A " + a.shape() + " is too large to pack");
        }
        // A heap F32 A that is not transposed (activations) is read in place by the micro-kernel:
        // its rows are contiguous along K, and an MR-row panel of a KC slice stays in L1 anyway.
        // Only a last partial panel (fewer than MR rows) is packed, on the fly.
        float[] aArr = !transA && d.n <= IN_PLACE_A_MAX_N ? a.floatArray() : null;
        int aArrOff = aArr != null ? a.arrayOffset() : 0;
        float[] ap = aArr != null ? null : scratch(3, (int) packedALen); // owned by the calling thread, shared with the workers
        if (ap != null) {
            packAll(a, transA, d, mPanels, kBlocks, ap);
        }
        // 2. Work items: NC-wide column blocks, two per thread when N allows, so each block of B
        //    is packed once; split along M too only when there are still too few of them (then
        //    each M split packs the block again, which only pays for small N).
        int threads = Parallel.threads();
        int nc = Math.min(NC_MAX, roundUp(Math.max(NR, (d.n + 2 * threads - 1) / (2 * threads)), NR));
        int nBlocks = (d.n + nc - 1) / nc;
        int mSplits = nBlocks >= 2 * threads ? 1 : Math.max(1, Math.min(mPanels, (2 * threads + nBlocks - 1) / nBlocks));
        int panelsPerSplit = (mPanels + mSplits - 1) / mSplits;
        Parallel.forRange(nBlocks * mSplits, 1, (w0, w1) -> {
            float[] bp = scratch(0, KC * roundUp(nc, NR));
            float[] row = scratch(1, Math.max(KC, nc));
            float[] tile = scratch(2, MR * NR);
            float[] edge = aArr != null ? scratch(4, MR * KC) : null; // a packed partial A panel
            for (int w = w0; w < w1; w++) {
                int jb = w / mSplits;
                int ms = w % mSplits;
                int j0 = jb * nc;
                int ncw = Math.min(nc, d.n - j0);
                int pStart = ms * panelsPerSplit;
                int pEnd = Math.min(mPanels, pStart + panelsPerSplit);
                for (int kb = 0; kb < kBlocks; kb++) {
                    int k0 = kb * KC;
                    int kc = Math.min(KC, d.k - k0);
                    packB(b, transB, d, j0, ncw, k0, kc, bp, row);
                    boolean add = accumulate || kb > 0;
                    int aBase = mPanels * MR * k0;
                    // BLIS order: a B micro-panel (KC x NR) stays in L1 while A panels of one
                    // L2-sized M block stream past it.
                    for (int pBlock = pStart; pBlock < pEnd; pBlock += MC_PANELS) {
                        int pBlockEnd = Math.min(pEnd, pBlock + MC_PANELS);
                        for (int jr = 0; jr < ncw; jr += NR) {
                            int nr = Math.min(NR, ncw - jr);
                            int bOff = jr * kc;
                            for (int p = pBlock; p < pBlockEnd; p++) {
                                int i0 = p * MR;
                                int mr = Math.min(MR, d.m - i0);
                                int cPos = cOff + i0 * d.n + j0 + jr;
                                float[] aSrc = ap;
                                int aOff = aBase + p * MR * kc;
                                if (aArr != null && mr == MR) {
                                    int rowStart = aArrOff + i0 * d.lda + k0;
                                    if (nr == NR) {
                                        kernelRows(aArr, rowStart, d.lda, bp, bOff, kc, cArr, cPos, d.n, add);
                                        continue;
                                    }
                                    if (nr == VL) { // e.g. x A^T of a rank-16 LoRA: one vector per row
                                        kernelRowsHalf(aArr, rowStart, d.lda, bp, bOff, kc, cArr, cPos, d.n, add);
                                        continue;
                                    }
                                    kernelRows(aArr, rowStart, d.lda, bp, bOff, kc, tile, 0, NR, false);
                                } else {
                                    if (aArr != null) {
                                        packA(a, false, d, i0, k0, kc, edge, 0, null);
                                        aSrc = edge;
                                        aOff = 0;
                                    }
                                    if (mr == MR && nr == NR) {
                                        kernel(aSrc, aOff, bp, bOff, kc, cArr, cPos, d.n, add);
                                        continue;
                                    }
                                    if (mr == MR && nr == VL) {
                                        kernelHalf(aSrc, aOff, bp, bOff, kc, cArr, cPos, d.n, add);
                                        continue;
                                    }
                                    kernel(aSrc, aOff, bp, bOff, kc, tile, 0, NR, false);
                                }
                                for (int i = 0; i < mr; i++) { // a partial tile: copy out what exists
                                    for (int j = 0; j < nr; j++) {
                                        float v = tile[i * NR + j];
                                        int idx = cPos + i * d.n + j;
                                        cArr[idx] = add ? cArr[idx] + v : v;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
        if (ap != null && ap.length > RETAINED_PACK_FLOATS) {
            BUFFERS.get()[3] = null; // a one-off large prefill should not pin its packed copy for the thread's life
        }
    }

    /** Packs all of op(A): for each K slice, mPanels panels of [kc][MR] (in parallel over panels). */
    private static void packAll(Tensor a, boolean transA, Dims d, int mPanels, int kBlocks, float[] ap) {
        Parallel.forRange(mPanels, Math.max(1, 4096 / Math.max(1, d.k)), (p0, p1) -> {
            float[] row = scratch(1, KC);
            for (int kb = 0; kb < kBlocks; kb++) {
                int k0 = kb * KC;
                int kc = Math.min(KC, d.k - k0);
                int base = mPanels * MR * k0; // start of this K slice
                for (int p = p0; p < p1; p++) {
                    packA(a, transA, d, p * MR, k0, kc, ap, base + p * MR * kc, row);
                }
            }
        });
    }

    /** Shapes of one product, validated. */
    record Dims(int m, int n, int k, int lda, int ldb) {
        static Dims of(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c) {
            if (a.shape().rank() != 2 || b.shape().rank() != 2 || c.shape().rank() != 2) {
                throw new IllegalArgumentException("matmul needs 2-D tensors, got " + a.shape() + ", " + b.shape() + ", " + c.shape());
            }
            if (!readable(a.dtype()) || !readable(b.dtype())) {
                throw new IllegalArgumentException("matmul inputs must be F32, F16, BF16, Q8_0 or Q4_0, got " + a.dtype()
                        + " and " + b.dtype());
            }
            if (c.floatArray() == null) {
                throw new IllegalArgumentException("matmul output must be a heap F32 tensor, got " + c);
            }
            int m = transA ? a.dim(1) : a.dim(0);
            int k = transA ? a.dim(0) : a.dim(1);
            int kb = transB ? b.dim(1) : b.dim(0);
            int n = transB ? b.dim(0) : b.dim(1);
            if (k != kb || c.dim(0) != m || c.dim(1) != n) {
                throw new IllegalArgumentException("matmul shape mismatch: A" + a.shape() + (transA ? "^T" : "") + " x B"
                        + b.shape() + (transB ? "^T" : "") + " -> C" + c.shape());
            }
            if (c.segment().asOverlappingSlice(a.segment()).isPresent() || c.segment().asOverlappingSlice(b.segment()).isPresent()) {
                throw new IllegalArgumentException("matmul output must not alias its inputs");
            }
            return new Dims(m, n, k, a.dim(1), b.dim(1));
        }
    }

    private static boolean readable(DType dt) {
        return dt.isCompute() || dt.isQuantized();
    }

    /**
     * Elements [col, col + n) of row {@code row} of a stored matrix with {@code ld} elements per
     * row, as float32 into dst[off .. off + n): converted (F32/BF16/F16) or dequantized (Q8_0/Q4_0).
     */
    private static void rowRange(Tensor t, int ld, long row, int col, float[] dst, int off, int n) {
        MemorySegment seg = t.segment();
        DType dt = t.dtype();
        if (dt.isRowInterleaved()) {
            RowGroups.dequantizeRow(t, (int) row, col, dst, off, n);
        } else if (dt.isQuantized()) {
            QuantBlocks.dequantize(dt, seg, row * dt.bytesFor(ld), col, dst, off, n);
        } else {
            Convert.toF32(seg, (row * ld + col) * dt.byteSize(), dt, dst, off, n);
        }
    }

    private static int roundUp(int x, int to) {
        return (x + to - 1) / to * to;
    }

    private static float[] scratch(int slot, int len) {
        float[][] bufs = BUFFERS.get();
        if (bufs[slot] == null || bufs[slot].length < len) {
            bufs[slot] = new float[len];
        }
        return bufs[slot];
    }

    /** Packs rows [i0, i0+MR) x cols [k0, k0+kc) of op(A) into dst as [kc][MR], zero-padding rows past M. */
    private static void packA(Tensor a, boolean transA, Dims d, int i0, int k0, int kc, float[] dst, int off, float[] row) {
        int mr = Math.min(MR, d.m - i0);
        float[] arr = a.floatArray();
        if (arr != null) {
            // Heap F32 (activations): read the array directly, no per-row segment copies.
            int base = a.arrayOffset();
            if (!transA) {
                for (int r = 0; r < mr; r++) {
                    int src = base + (i0 + r) * d.lda + k0; // a contiguous row slice
                    for (int k = 0; k < kc; k++) {
                        dst[off + k * MR + r] = arr[src + k];
                    }
                }
            } else {
                for (int k = 0; k < kc; k++) {
                    System.arraycopy(arr, base + (k0 + k) * d.lda + i0, dst, off + k * MR, mr);
                }
            }
            if (mr < MR) {
                for (int k = 0; k < kc; k++) {
                    java.util.Arrays.fill(dst, off + k * MR + mr, off + k * MR + MR, 0f);
                }
            }
            return;
        }
        MemorySegment seg = a.segment();
        DType dt = a.dtype();
        if (!transA) {
            // A is [M,K]: convert each row slice, then scatter with stride MR.
            for (int r = 0; r < MR; r++) {
                if (r < mr) {
                    rowRange(a, d.lda, i0 + r, k0, row, 0, kc);
                    for (int k = 0; k < kc; k++) {
                        dst[off + k * MR + r] = row[k];
                    }
                } else {
                    for (int k = 0; k < kc; k++) {
                        dst[off + k * MR + r] = 0f;
                    }
                }
            }
        } else {
            // A is [K,M]: the MR values for one k are contiguous.
            for (int k = 0; k < kc; k++) {
                int o = off + k * MR;
                rowRange(a, d.lda, k0 + k, i0, dst, o, mr);
                for (int r = mr; r < MR; r++) {
                    dst[o + r] = 0f;
                }
            }
        }
    }

    /** Packs cols [j0, j0+ncw) x rows [k0, k0+kc) of op(B) into dst as panels of [kc][NR], zero-padded. */
    private static void packB(Tensor b, boolean transB, Dims d, int j0, int ncw, int k0, int kc, float[] dst, float[] row) {
        float[] arr = b.floatArray();
        if (arr != null) {
            // Heap F32 (activations, LoRA factors, merged weights): read the array directly.
            int base = b.arrayOffset();
            for (int jr = 0; jr < ncw; jr += NR) {
                int nr = Math.min(NR, ncw - jr);
                int off = jr * kc;
                if (transB) {
                    // B is [N,K]: each of the nr rows is contiguous along k; read it in order and
                    // deal it into the panel with stride NR (the panel stays in L1).
                    for (int c = 0; c < nr; c++) {
                        int src = base + (j0 + jr + c) * d.ldb + k0;
                        for (int k = 0; k < kc; k++) {
                            dst[off + k * NR + c] = arr[src + k];
                        }
                    }
                    if (nr < NR) {
                        for (int k = 0; k < kc; k++) {
                            java.util.Arrays.fill(dst, off + k * NR + nr, off + (k + 1) * NR, 0f);
                        }
                    }
                } else {
                    for (int k = 0; k < kc; k++) {
                        int o = off + k * NR;
                        System.arraycopy(arr, base + (k0 + k) * d.ldb + j0 + jr, dst, o, nr);
                        for (int c = nr; c < NR; c++) {
                            dst[o + c] = 0f;
                        }
                    }
                }
            }
            return;
        }
        MemorySegment seg = b.segment();
        DType dt = b.dtype();
        if (!transB) {
            // B is [K,N]: convert each k's whole column range once, then deal it into the NR-wide panels.
            for (int k = 0; k < kc; k++) {
                rowRange(b, d.ldb, k0 + k, j0, row, 0, ncw);
                for (int jr = 0; jr < ncw; jr += NR) {
                    int nr = Math.min(NR, ncw - jr);
                    int o = jr * kc + k * NR;
                    System.arraycopy(row, jr, dst, o, nr);
                    for (int c = nr; c < NR; c++) {
                        dst[o + c] = 0f;
                    }
                }
            }
            return;
        }
        for (int jr = 0; jr < ncw; jr += NR) {
            int nr = Math.min(NR, ncw - jr);
            int off = jr * kc;
            if (transB && RowGroupPack.packs(b, j0 + jr, nr)) {
                // a whole group of a row-interleaved weight: its block columns are the panel's rows
                RowGroupPack.panel(b, j0 + jr, k0, kc, dst, off);
            } else if (transB) {
                // B is [N,K] (a weight [out,in]): convert each of the NR rows, scatter with stride NR.
                for (int c = 0; c < NR; c++) {
                    if (c < nr) {
                        rowRange(b, d.ldb, j0 + jr + c, k0, row, 0, kc);
                        for (int k = 0; k < kc; k++) {
                            dst[off + k * NR + c] = row[k];
                        }
                    } else {
                        for (int k = 0; k < kc; k++) {
                            dst[off + k * NR + c] = 0f;
                        }
                    }
                }
            } else {
                // B is [K,N]: the NR values for one k are contiguous.
                for (int k = 0; k < kc; k++) {
                    int o = off + k * NR;
                    rowRange(b, d.ldb, k0 + k, j0 + jr, dst, o, nr);
                    for (int c = nr; c < NR; c++) {
                        dst[o + c] = 0f;
                    }
                }
            }
        }
    }

    /**
     * The MR x NR micro-kernel: C[0..MR, 0..NR) (+)= Apanel[kc][MR] * Bpanel[kc][NR], with the
     * C tile held in 16 registers for the whole K loop.
     */
    static void kernel(float[] a, int aOff, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, boolean add) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        // Indices are computed from k (not bumped separately) so C2 can drop the range checks.
        for (int k = 0; k < kc; k++) {
            int ai = aOff + k * MR;
            int bi = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + VL);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(F, c, cOff));
            c01 = c01.add(FloatVector.fromArray(F, c, cOff + VL));
            c10 = c10.add(FloatVector.fromArray(F, c, cOff + ldc));
            c11 = c11.add(FloatVector.fromArray(F, c, cOff + ldc + VL));
            c20 = c20.add(FloatVector.fromArray(F, c, cOff + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(F, c, cOff + 2 * ldc + VL));
            c30 = c30.add(FloatVector.fromArray(F, c, cOff + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(F, c, cOff + 3 * ldc + VL));
            c40 = c40.add(FloatVector.fromArray(F, c, cOff + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(F, c, cOff + 4 * ldc + VL));
            c50 = c50.add(FloatVector.fromArray(F, c, cOff + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(F, c, cOff + 5 * ldc + VL));
            c60 = c60.add(FloatVector.fromArray(F, c, cOff + 6 * ldc));
            c61 = c61.add(FloatVector.fromArray(F, c, cOff + 6 * ldc + VL));
            c70 = c70.add(FloatVector.fromArray(F, c, cOff + 7 * ldc));
            c71 = c71.add(FloatVector.fromArray(F, c, cOff + 7 * ldc + VL));
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + VL);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + VL);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + VL);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + VL);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + VL);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + VL);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + VL);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + VL);
    }

    /**
     * {@link #kernel} with A read in place from MR rows of a row-major array (row r of the panel
     * starts at {@code aOff + r * lda}) instead of a packed [kc][MR] panel.
     */
    static void kernelRows(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc,
                           boolean add) {
        FloatVector c00 = FloatVector.zero(F), c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F), c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F), c21 = FloatVector.zero(F);
        FloatVector c30 = FloatVector.zero(F), c31 = FloatVector.zero(F);
        FloatVector c40 = FloatVector.zero(F), c41 = FloatVector.zero(F);
        FloatVector c50 = FloatVector.zero(F), c51 = FloatVector.zero(F);
        FloatVector c60 = FloatVector.zero(F), c61 = FloatVector.zero(F);
        FloatVector c70 = FloatVector.zero(F), c71 = FloatVector.zero(F);
        // Indices are computed from k (not bumped separately) so C2 can drop the range checks.
        for (int k = 0; k < kc; k++) {
            int ai = aOff + k;
            int bi = bOff + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, b, bi);
            FloatVector b1 = FloatVector.fromArray(F, b, bi + VL);
            FloatVector x;
            x = FloatVector.broadcast(F, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ai + lda]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ai + 2 * lda]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ai + 3 * lda]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ai + 4 * lda]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ai + 5 * lda]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ai + 6 * lda]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ai + 7 * lda]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(F, c, cOff));
            c01 = c01.add(FloatVector.fromArray(F, c, cOff + VL));
            c10 = c10.add(FloatVector.fromArray(F, c, cOff + ldc));
            c11 = c11.add(FloatVector.fromArray(F, c, cOff + ldc + VL));
            c20 = c20.add(FloatVector.fromArray(F, c, cOff + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(F, c, cOff + 2 * ldc + VL));
            c30 = c30.add(FloatVector.fromArray(F, c, cOff + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(F, c, cOff + 3 * ldc + VL));
            c40 = c40.add(FloatVector.fromArray(F, c, cOff + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(F, c, cOff + 4 * ldc + VL));
            c50 = c50.add(FloatVector.fromArray(F, c, cOff + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(F, c, cOff + 5 * ldc + VL));
            c60 = c60.add(FloatVector.fromArray(F, c, cOff + 6 * ldc));
            c61 = c61.add(FloatVector.fromArray(F, c, cOff + 6 * ldc + VL));
            c70 = c70.add(FloatVector.fromArray(F, c, cOff + 7 * ldc));
            c71 = c71.add(FloatVector.fromArray(F, c, cOff + 7 * ldc + VL));
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + VL);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + VL);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + VL);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + VL);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + VL);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + VL);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + VL);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + VL);
    }

    /** {@link #kernel} for a tile of MR x VL (half a panel): C[0..MR, 0..VL) (+)= Apanel * Bpanel[.][0..VL). */
    static void kernelHalf(float[] a, int aOff, float[] b, int bOff, int kc, float[] c, int cOff, int ldc, boolean add) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F);
        FloatVector c5 = FloatVector.zero(F);
        FloatVector c6 = FloatVector.zero(F);
        FloatVector c7 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int ai = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(F, b, bOff + k * NR);
            c0 = FloatVector.broadcast(F, a[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, a[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, a[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, a[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, a[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, a[ai + 5]).fma(b0, c5);
            c6 = FloatVector.broadcast(F, a[ai + 6]).fma(b0, c6);
            c7 = FloatVector.broadcast(F, a[ai + 7]).fma(b0, c7);
        }
        storeHalf(c, cOff, ldc, add, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /** {@link #kernelHalf} with A read in place from MR rows of a row-major array (as {@link #kernelRows}). */
    static void kernelRowsHalf(float[] a, int aOff, int lda, float[] b, int bOff, int kc, float[] c, int cOff, int ldc,
                               boolean add) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F);
        FloatVector c5 = FloatVector.zero(F);
        FloatVector c6 = FloatVector.zero(F);
        FloatVector c7 = FloatVector.zero(F);
        for (int k = 0; k < kc; k++) {
            int ai = aOff + k;
            FloatVector b0 = FloatVector.fromArray(F, b, bOff + k * NR);
            c0 = FloatVector.broadcast(F, a[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, a[ai + lda]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, a[ai + 2 * lda]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, a[ai + 3 * lda]).fma(b0, c3);
            c4 = FloatVector.broadcast(F, a[ai + 4 * lda]).fma(b0, c4);
            c5 = FloatVector.broadcast(F, a[ai + 5 * lda]).fma(b0, c5);
            c6 = FloatVector.broadcast(F, a[ai + 6 * lda]).fma(b0, c6);
            c7 = FloatVector.broadcast(F, a[ai + 7 * lda]).fma(b0, c7);
        }
        storeHalf(c, cOff, ldc, add, c0, c1, c2, c3, c4, c5, c6, c7);
    }

    /** Writes (or adds) eight one-vector rows of C. */
    private static void storeHalf(float[] c, int cOff, int ldc, boolean add, FloatVector c0, FloatVector c1,
                                  FloatVector c2, FloatVector c3, FloatVector c4, FloatVector c5, FloatVector c6,
                                  FloatVector c7) {
        if (add) {
            c0 = c0.add(FloatVector.fromArray(F, c, cOff));
            c1 = c1.add(FloatVector.fromArray(F, c, cOff + ldc));
            c2 = c2.add(FloatVector.fromArray(F, c, cOff + 2 * ldc));
            c3 = c3.add(FloatVector.fromArray(F, c, cOff + 3 * ldc));
            c4 = c4.add(FloatVector.fromArray(F, c, cOff + 4 * ldc));
            c5 = c5.add(FloatVector.fromArray(F, c, cOff + 5 * ldc));
            c6 = c6.add(FloatVector.fromArray(F, c, cOff + 6 * ldc));
            c7 = c7.add(FloatVector.fromArray(F, c, cOff + 7 * ldc));
        }
        c0.intoArray(c, cOff);
        c1.intoArray(c, cOff + ldc);
        c2.intoArray(c, cOff + 2 * ldc);
        c3.intoArray(c, cOff + 3 * ldc);
        c4.intoArray(c, cOff + 4 * ldc);
        c5.intoArray(c, cOff + 5 * ldc);
        c6.intoArray(c, cOff + 6 * ldc);
        c7.intoArray(c, cOff + 7 * ldc);
    }
}
