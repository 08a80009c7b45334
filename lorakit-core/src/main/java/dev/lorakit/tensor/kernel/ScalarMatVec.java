package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.quant.BlockFormat;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Plain-Java twins of {@link VectorMatVec}: one weight element at a time, sums in float64,
 * rounded once. The reference the vector products are tested against and what
 * {@code -Dlorakit.kernels=scalar} runs. Q8_0/Q4_0 weights are dequantized element by element
 * ({@link BlockFormat}, {@link RowGroups} for the row-interleaved layouts). The one exception is
 * the product of a Q4_0_R32 weight with a vector, which is defined on 8-bit activations
 * ({@link QuantizedActivations}): its twin computes exactly the integer block sums and float32
 * steps of {@link RowGroupMatVec}, so the two agree bit for bit.
 */
public final class ScalarMatVec {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private ScalarMatVec() {
    }

    public static void matvec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        matvecBatch(w, x, xOff, y, yOff, 1);
    }

    public static void matvecBatch(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        if (w.dtype() == DType.Q4_0_R32) {
            q4Activations(w, x, xOff, y, yOff, batch);
            return;
        }
        DType dt = w.dtype();
        int n = w.dim(0);
        int k = w.dim(1);
        long rowBytes = dt.bytesFor(k);
        Parallel.forRange(n, ParallelGrain.rowsPerChunk(rowBytes), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                for (int b = 0; b < batch; b++) {
                    double s = 0;
                    for (int i = 0; i < k; i++) {
                        s += (double) load(w, r, r * rowBytes, i) * x[xOff + b * k + i];
                    }
                    y[yOff + b * n + r] = (float) s;
                }
            }
        });
    }

    public static void matvecTransposed(Tensor w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        DType dt = w.dtype();
        int n = w.dim(0);
        int k = w.dim(1);
        long rowBytes = dt.bytesFor(k);
        Parallel.forRange(k, ParallelGrain.rowsPerChunk(Math.max(1, n * rowBytes / Math.max(1, k))), (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double s = accumulate ? y[yOff + c] : 0;
                for (int r = 0; r < n; r++) {
                    s += (double) load(w, r, r * rowBytes, c) * x[xOff + r];
                }
                y[yOff + c] = (float) s;
            }
        });
    }

    /**
     * y[b*N + r] = sum over blocks c of fma-accumulated t_rc (d_rc dx_bc), t_rc = sum_j q_rcj qx_bcj
     * exactly: the Q4_0_R32 product on 8-bit activations, computed as {@link RowGroupMatVec} does.
     */
    private static void q4Activations(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        int n = w.dim(0);
        int k = w.dim(1);
        int blocks = k / BlockFormat.BLOCK;
        QuantizedActivations a = QuantizedActivations.forThread(batch, k);
        a.quantizeScalar(x, xOff, batch);
        Parallel.forRange(n, ParallelGrain.rowsPerChunk(w.dtype().bytesFor(k)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                for (int b = 0; b < batch; b++) {
                    float acc = 0f;
                    for (int c = 0; c < blocks; c++) {
                        int t = 0;
                        for (int j = 0; j < BlockFormat.BLOCK; j++) {
                            t += RowGroups.quant(w, r, c, j) * a.q[b * k + c * BlockFormat.BLOCK + j];
                        }
                        acc = Math.fma((float) t, RowGroups.scale(w, r, c) * a.d[b * blocks + c], acc);
                    }
                    y[yOff + b * n + r] = acc;
                }
            }
        });
    }

    /** Weight {@code col} of row r (starting at byte {@code rowOff} unless rows are interleaved), as float. */
    private static float load(Tensor w, int r, long rowOff, int col) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        return switch (dt) {
            case F32 -> seg.get(F32_LE, rowOff + 4L * col);
            case BF16 -> Convert.bf16ToF32(seg.get(I16_LE, rowOff + 2L * col));
            case F16 -> Float.float16ToFloat(seg.get(I16_LE, rowOff + 2L * col));
            case Q8_0, Q4_0 -> {
                long blockOff = rowOff + (long) (col / BlockFormat.BLOCK) * dt.blockBytes();
                yield BlockFormat.quant(dt, seg, blockOff, col % BlockFormat.BLOCK) * BlockFormat.scale(seg, blockOff);
            }
            case Q8_0_R32, Q4_0_R32 -> RowGroups.element(w, (long) r * w.dim(1) + col);
            default -> throw new IllegalArgumentException("matvec needs F32, BF16, F16, Q8_0 or Q4_0 weights, got " + dt);
        };
    }
}
