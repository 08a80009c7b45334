package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.quant.Dequantize;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Vector API matrix-vector products with a weight {@link Tensor} W[N, K] (F32, BF16, F16, Q8_0
 * or Q4_0, on the heap or memory-mapped) and float[] activations: the memory-bound decode path. The scalar
 * twin is {@link ScalarMatVec}; callers go through {@code dev.lorakit.tensor.ops.Ops}.
 *
 * <p>Rows are processed four at a time by the micro-kernels in {@link MatVecRows} and every
 * weight byte is read from memory once per call, also in the batched product, whose 4x4 block
 * kernel applies each loaded weight vector to four inputs. How rows are read depends on the
 * weight: heap F32 straight from its float[]; mapped or native F32 and BF16 from the segment
 * (BF16 converted in registers); F16 converted four rows at a time into a per-thread float[]
 * (its conversion is too large to inline into a four-row loop); Q8_0 and Q4_0 blocks decoded in
 * registers by {@link QuantMatVecRows}, eight rows side by side, each from its own eighth of the
 * row range, so eight long memory streams are in flight (the batched product applies each
 * decoded row to four inputs at a time), or, on vector shapes other than 8 or 16 float lanes,
 * dequantized four rows at a time into the per-thread float[]. Rows are split over
 * {@link Parallel#forRange} in chunks of at least {@link ParallelGrain#MIN_CHUNK_BYTES}.
 * Row-interleaved weights (Q8_0_R32, Q4_0_R32: the decode layout of quantized models) go to
 * {@link RowGroupMatVec}; their transposed product dequantizes rows through their layout.
 */
public final class VectorMatVec {
    /** F16 rows converted to float32, per worker thread (four rows). */
    private static final ThreadLocal<float[]> CONVERTED = ThreadLocal.withInitial(() -> new float[0]);
    /** Partial sums of the transposed product, per calling thread. */
    private static final ThreadLocal<float[]> PARTIALS = ThreadLocal.withInitial(() -> new float[0]);

    private VectorMatVec() {
    }

    /** y[yOff + n] = sum_k W[n, k] x[xOff + k] for n &lt; N. */
    public static void matvec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        if (w.dtype().isRowInterleaved()) {
            rowInterleaved(w, x, xOff, y, yOff, 1);
            return;
        }
        Rows rows = new Rows(w);
        Parallel.forRange(rows.n, ParallelGrain.rowsPerChunk(rows.rowBytes), (r0, r1) -> {
            float[] buf = rows.buffer();
            int r = r0;
            if (rows.kind == Kind.Q8_0_BLOCKS || rows.kind == Kind.Q4_0_BLOCKS) {
                // Eight streams, each through its own eighth of the range (see QuantMatVecRows#dot8Q8).
                int eighth = (r1 - r0) / 8;
                for (int i = 0; i < eighth; i++) {
                    rows.dot8Eighths(r0 + i, eighth, x, xOff, y, yOff + r0 + i);
                }
                r = r0 + 8 * eighth;
            }
            for (; r <= r1 - 4; r += 4) {
                rows.dot4Rows(r, buf, x, xOff, y, yOff + r);
            }
            for (; r < r1; r++) {
                y[yOff + r] = rows.dot1(r, buf, x, xOff);
            }
        });
    }

    /**
     * y[yOff + b*N + n] = sum_k W[n, k] x[xOff + b*K + k] for b &lt; batch: the rows of x and y
     * are contiguous. Each group of four weight rows is read from memory once and applied to the
     * inputs four at a time (further inputs reuse the rows from cache).
     */
    public static void matvecBatch(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        if (w.dtype().isRowInterleaved()) {
            rowInterleaved(w, x, xOff, y, yOff, batch);
            return;
        }
        if (batch == 1) {
            matvec(w, x, xOff, y, yOff); // same row sums, and the quantized rows stream faster there
            return;
        }
        Rows rows = new Rows(w);
        int n = rows.n;
        int k = rows.k;
        Parallel.forRange(n, ParallelGrain.rowsPerChunk(rows.rowBytes), (r0, r1) -> {
            float[] buf = rows.buffer();
            int r = r0;
            for (; r <= r1 - 4; r += 4) {
                rows.load(r, 4, buf);
                int b = 0;
                for (; b <= batch - 4; b += 4) {
                    rows.dot4x4Loaded(r, buf, x, xOff + b * k, y, yOff + b * n + r, n);
                }
                for (; b < batch; b++) {
                    rows.dot4RowsLoaded(r, buf, x, xOff + b * k, y, yOff + b * n + r);
                }
            }
            for (; r < r1; r++) {
                rows.load(r, 1, buf);
                for (int b = 0; b < batch; b++) {
                    y[yOff + b * n + r] = rows.dot1Loaded(r, buf, x, xOff + b * k);
                }
            }
        });
    }

    /**
     * y[yOff + k] (+)= sum_n W[n, k] x[xOff + n] for k &lt; K: overwrites y, or adds to it when
     * {@code accumulate}. The rows are split into one contiguous part per thread, each streamed
     * row by row (four rows per pass over its accumulator); the first part accumulates into y,
     * the others into per-call partial sums that are added to y at the end.
     */
    public static void matvecTransposed(Tensor w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        Rows rows = new Rows(w);
        int n = rows.n;
        int k = rows.k;
        if (!accumulate) {
            Arrays.fill(y, yOff, yOff + k, 0f);
        }
        int parts = ParallelGrain.rowParts(n * rows.rowBytes, n);
        if (parts <= 1) {
            rows.addRows(0, n, rows.buffer(), x, xOff, y, yOff);
            return;
        }
        float[] partials = grow(PARTIALS, (parts - 1) * k);
        Parallel.forRange(parts, 1, (p0, p1) -> {
            float[] buf = rows.buffer();
            for (int p = p0; p < p1; p++) {
                int r0 = (int) ((long) n * p / parts);
                int r1 = (int) ((long) n * (p + 1) / parts);
                if (p == 0) {
                    rows.addRows(r0, r1, buf, x, xOff, y, yOff);
                } else {
                    Arrays.fill(partials, (p - 1) * k, p * k, 0f);
                    rows.addRows(r0, r1, buf, x, xOff, partials, (p - 1) * k);
                }
            }
        });
        for (int p = 1; p < parts; p++) {
            VectorKernels.add(y, yOff, partials, (p - 1) * k, y, yOff, k);
        }
    }

    /** True when the row-interleaved kernels ({@link RowGroupMatVec}) run on this machine (16 float lanes). */
    public static boolean rowGroupKernels() {
        return RowGroupMatVec.SUPPORTED;
    }

    /** Row-interleaved weights: {@link RowGroupMatVec} where it runs, else its exact scalar twin. */
    private static void rowInterleaved(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        if (RowGroupMatVec.SUPPORTED) {
            RowGroupMatVec.matvecBatch(w, x, xOff, y, yOff, batch);
        } else {
            ScalarMatVec.matvecBatch(w, x, xOff, y, yOff, batch);
        }
    }

    private static float[] grow(ThreadLocal<float[]> cache, int size) {
        float[] a = cache.get();
        if (a.length < size) {
            a = new float[size];
            cache.set(a);
        }
        return a;
    }

    /** How the rows of one weight are read; the kind is fixed per call, so branches on it are per row group. */
    private enum Kind { F32_ARRAY, F32_SEGMENT, BF16_SEGMENT, F16_CONVERTED, Q8_0_BLOCKS, Q4_0_BLOCKS, QUANT_CONVERTED }

    /** One call's view of W[N, K]: where its rows are and which micro-kernels read them. */
    private static final class Rows {
        final Tensor tensor;
        final Kind kind;
        final DType dtype;
        final MemorySegment seg;
        final float[] array;
        final int base;
        final int n;
        final int k;
        final long rowBytes;

        Rows(Tensor w) {
            tensor = w;
            DType dt = w.dtype();
            dtype = dt;
            n = w.dim(0);
            k = w.dim(1);
            seg = w.segment();
            rowBytes = dt.bytesFor(k);
            array = dt == DType.F32 ? w.floatArray() : null;
            base = array != null ? w.arrayOffset() : 0;
            kind = switch (dt) {
                case F32 -> array != null ? Kind.F32_ARRAY : Kind.F32_SEGMENT;
                case BF16 -> Kind.BF16_SEGMENT;
                case F16 -> Kind.F16_CONVERTED;
                case Q8_0 -> QuantBlocks.IN_REGISTERS ? Kind.Q8_0_BLOCKS : Kind.QUANT_CONVERTED;
                case Q4_0 -> QuantBlocks.IN_REGISTERS ? Kind.Q4_0_BLOCKS : Kind.QUANT_CONVERTED;
                case Q8_0_R32, Q4_0_R32 -> Kind.QUANT_CONVERTED; // the transposed product (products go to RowGroupMatVec)
                default -> throw new IllegalArgumentException("matvec needs F32, BF16, F16, Q8_0 or Q4_0 weights, got " + dt);
            };
        }

        /** This thread's buffer for four converted rows (F16 and the quantized fallback only; null otherwise). */
        float[] buffer() {
            return kind == Kind.F16_CONVERTED || kind == Kind.QUANT_CONVERTED ? grow(CONVERTED, 4 * k) : null;
        }

        /** Makes rows [r, r+count) readable by the *Loaded methods (converts F16 rows into buf). */
        void load(int r, int count, float[] buf) {
            if (kind == Kind.F16_CONVERTED) {
                Convert.f16ToF32Vector(seg, r * rowBytes, buf, 0, count * k);
            } else if (kind == Kind.QUANT_CONVERTED) {
                for (int j = 0; j < count; j++) {
                    if (dtype.isRowInterleaved()) {
                        RowGroups.dequantizeRow(tensor, r + j, 0, buf, j * k, k);
                    } else {
                        Dequantize.range(dtype, seg, (r + j) * rowBytes, 0, buf, j * k, k);
                    }
                }
            }
        }

        void dot4Rows(int r, float[] buf, float[] x, int xOff, float[] y, int yOff) {
            load(r, 4, buf);
            dot4RowsLoaded(r, buf, x, xOff, y, yOff);
        }

        /** y[yOff + i*eighth] = (row r + i*eighth) . x for i &lt; 8; Q8_0 and Q4_0 blocks only. */
        void dot8Eighths(int r, int eighth, float[] x, int xOff, float[] y, int yOff) {
            long stride = eighth * rowBytes;
            if (kind == Kind.Q8_0_BLOCKS) {
                QuantMatVecRows.dot8Q8(seg, r * rowBytes, stride, x, xOff, k, y, yOff, eighth);
            } else {
                QuantMatVecRows.dot8Q4(seg, r * rowBytes, stride, x, xOff, k, y, yOff, eighth);
            }
        }

        float dot1(int r, float[] buf, float[] x, int xOff) {
            load(r, 1, buf);
            return dot1Loaded(r, buf, x, xOff);
        }

        void dot4RowsLoaded(int r, float[] buf, float[] x, int xOff, float[] y, int yOff) {
            switch (kind) {
                case F32_ARRAY -> MatVecRows.dot4RowsArray(array, base + r * k, k, x, xOff, k, y, yOff);
                case F16_CONVERTED, QUANT_CONVERTED -> MatVecRows.dot4RowsArray(buf, 0, k, x, xOff, k, y, yOff);
                case F32_SEGMENT -> MatVecRows.dot4RowsF32(seg, r * rowBytes, rowBytes, x, xOff, k, y, yOff);
                case BF16_SEGMENT -> MatVecRows.dot4RowsBf16(seg, r * rowBytes, rowBytes, x, xOff, k, y, yOff);
                case Q8_0_BLOCKS -> QuantMatVecRows.dot4Q8(seg, r * rowBytes, rowBytes, x, xOff, k, y, yOff, 1);
                case Q4_0_BLOCKS -> {
                    // Adjacent Q4_0 rows side by side are slower than one after another (short streams).
                    for (int j = 0; j < 4; j++) {
                        y[yOff + j] = QuantMatVecRows.dot1Q4(seg, (r + j) * rowBytes, x, xOff, k);
                    }
                }
            }
        }

        float dot1Loaded(int r, float[] buf, float[] x, int xOff) {
            return switch (kind) {
                case F32_ARRAY -> MatVecRows.dot1Array(array, base + r * k, x, xOff, k);
                case F16_CONVERTED, QUANT_CONVERTED -> MatVecRows.dot1Array(buf, 0, x, xOff, k);
                case F32_SEGMENT -> MatVecRows.dot1F32(seg, r * rowBytes, x, xOff, k);
                case BF16_SEGMENT -> MatVecRows.dot1Bf16(seg, r * rowBytes, x, xOff, k);
                case Q8_0_BLOCKS -> QuantMatVecRows.dot1Q8(seg, r * rowBytes, x, xOff, k);
                case Q4_0_BLOCKS -> QuantMatVecRows.dot1Q4(seg, r * rowBytes, x, xOff, k);
            };
        }

        void dot4x4Loaded(int r, float[] buf, float[] x, int x0, float[] y, int y0, int yStride) {
            switch (kind) {
                case F32_ARRAY -> MatVecRows.dot4x4Array(array, base + r * k, k, x, x0, k, y, y0, yStride);
                case F16_CONVERTED, QUANT_CONVERTED -> MatVecRows.dot4x4Array(buf, 0, k, x, x0, k, y, y0, yStride);
                case F32_SEGMENT -> MatVecRows.dot4x4F32(seg, r * rowBytes, rowBytes, x, x0, k, y, y0, yStride);
                case BF16_SEGMENT -> MatVecRows.dot4x4Bf16(seg, r * rowBytes, rowBytes, x, x0, k, y, y0, yStride);
                case Q8_0_BLOCKS -> {
                    for (int j = 0; j < 4; j++) {
                        QuantMatVecRows.dot1x4Q8(seg, (r + j) * rowBytes, x, x0, k, y, y0 + j, yStride);
                    }
                }
                case Q4_0_BLOCKS -> {
                    for (int j = 0; j < 4; j++) {
                        QuantMatVecRows.dot1x4Q4(seg, (r + j) * rowBytes, x, x0, k, y, y0 + j, yStride);
                    }
                }
            }
        }

        /** y[yOff .. yOff+K) += sum over rows r in [r0, r1) of x[xOff + r] W[r, :]. */
        void addRows(int r0, int r1, float[] buf, float[] x, int xOff, float[] y, int yOff) {
            int r = r0;
            for (; r <= r1 - 4; r += 4) {
                load(r, 4, buf);
                float a0 = x[xOff + r];
                float a1 = x[xOff + r + 1];
                float a2 = x[xOff + r + 2];
                float a3 = x[xOff + r + 3];
                switch (kind) {
                    case F32_ARRAY -> MatVecRows.axpy4Array(array, base + r * k, k, a0, a1, a2, a3, y, yOff, k);
                    case F16_CONVERTED, QUANT_CONVERTED -> MatVecRows.axpy4Array(buf, 0, k, a0, a1, a2, a3, y, yOff, k);
                    case F32_SEGMENT -> MatVecRows.axpy4F32(seg, r * rowBytes, rowBytes, a0, a1, a2, a3, y, yOff, k);
                    case BF16_SEGMENT -> MatVecRows.axpy4Bf16(seg, r * rowBytes, rowBytes, a0, a1, a2, a3, y, yOff, k);
                    case Q8_0_BLOCKS -> {
                        QuantMatVecRows.axpy1Q8(seg, r * rowBytes, a0, y, yOff, k);
                        QuantMatVecRows.axpy1Q8(seg, (r + 1) * rowBytes, a1, y, yOff, k);
                        QuantMatVecRows.axpy1Q8(seg, (r + 2) * rowBytes, a2, y, yOff, k);
                        QuantMatVecRows.axpy1Q8(seg, (r + 3) * rowBytes, a3, y, yOff, k);
                    }
                    case Q4_0_BLOCKS -> {
                        QuantMatVecRows.axpy1Q4(seg, r * rowBytes, a0, y, yOff, k);
                        QuantMatVecRows.axpy1Q4(seg, (r + 1) * rowBytes, a1, y, yOff, k);
                        QuantMatVecRows.axpy1Q4(seg, (r + 2) * rowBytes, a2, y, yOff, k);
                        QuantMatVecRows.axpy1Q4(seg, (r + 3) * rowBytes, a3, y, yOff, k);
                    }
                }
            }
            for (; r < r1; r++) {
                load(r, 1, buf);
                float a = x[xOff + r];
                switch (kind) {
                    case F32_ARRAY -> MatVecRows.axpy1Array(array, base + r * k, a, y, yOff, k);
                    case F16_CONVERTED, QUANT_CONVERTED -> MatVecRows.axpy1Array(buf, 0, a, y, yOff, k);
                    case F32_SEGMENT -> MatVecRows.axpy1F32(seg, r * rowBytes, a, y, yOff, k);
                    case BF16_SEGMENT -> MatVecRows.axpy1Bf16(seg, r * rowBytes, a, y, yOff, k);
                    case Q8_0_BLOCKS -> QuantMatVecRows.axpy1Q8(seg, r * rowBytes, a, y, yOff, k);
                    case Q4_0_BLOCKS -> QuantMatVecRows.axpy1Q4(seg, r * rowBytes, a, y, yOff, k);
                }
            }
        }
    }
}
