package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Plain-Java twins of {@link VectorMatVec}: one weight element at a time, sums in float64,
 * rounded once. The reference the vector products are tested against and what
 * {@code -Dlorakit.kernels=scalar} runs.
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
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int n = w.dim(0);
        int k = w.dim(1);
        long rowBytes = (long) k * dt.byteSize();
        Parallel.forRange(n, ParallelGrain.rowsPerChunk(rowBytes), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                for (int b = 0; b < batch; b++) {
                    double s = 0;
                    for (int i = 0; i < k; i++) {
                        s += (double) load(dt, seg, r * rowBytes + (long) i * dt.byteSize()) * x[xOff + b * k + i];
                    }
                    y[yOff + b * n + r] = (float) s;
                }
            }
        });
    }

    public static void matvecTransposed(Tensor w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        DType dt = w.dtype();
        MemorySegment seg = w.segment();
        int n = w.dim(0);
        int k = w.dim(1);
        long rowBytes = (long) k * dt.byteSize();
        Parallel.forRange(k, ParallelGrain.rowsPerChunk((long) n * dt.byteSize()), (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double s = accumulate ? y[yOff + c] : 0;
                for (int r = 0; r < n; r++) {
                    s += (double) load(dt, seg, r * rowBytes + (long) c * dt.byteSize()) * x[xOff + r];
                }
                y[yOff + c] = (float) s;
            }
        });
    }

    private static float load(DType dt, MemorySegment seg, long byteOff) {
        return switch (dt) {
            case F32 -> seg.get(F32_LE, byteOff);
            case BF16 -> Convert.bf16ToF32(seg.get(I16_LE, byteOff));
            case F16 -> Float.float16ToFloat(seg.get(I16_LE, byteOff));
            default -> throw new IllegalArgumentException("matvec needs F32, BF16 or F16 weights, got " + dt);
        };
    }
}
