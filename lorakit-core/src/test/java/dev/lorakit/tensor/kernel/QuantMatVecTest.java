package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.KernelTestData.close;
import static dev.lorakit.tensor.kernel.KernelTestData.gaussian;
import static dev.lorakit.tensor.kernel.KernelTestData.untouchedOutside;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.ops.Ops;
import dev.lorakit.tensor.quant.BlockQuantizer;
import dev.lorakit.tensor.quant.Dequantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The matrix-vector kernels on Q8_0 / Q4_0 weights (heap, native as a mapped file is, and a
 * sliced view) against the dequantize-then-F32 reference: vector kernels, their scalar twins and
 * the F32 kernels on the dequantized matrix must all agree with the float64 sum of the
 * dequantized weights to 1e-5 of S = sum |w x| (relative), for the transposed product too; the
 * batched product must give each input exactly the floats the single product gives it (the
 * kernels share one summation order), so batching never changes a sequence's logits.
 */
class QuantMatVecTest {
    private static final double REL = 1e-5;
    private static Arena arena;

    @BeforeAll
    static void openArena() {
        arena = Arena.ofShared();
    }

    @AfterAll
    static void closeArena() {
        arena.close();
    }

    enum Storage { HEAP, NATIVE, SLICED }

    static final int[] ROWS = {1, 3, 4, 5, 7, 9, 17, 33, 130};
    static final int[] COLS = {32, 64, 96, 4096};

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            for (Storage st : Storage.values()) {
                for (int n : ROWS) {
                    for (int k : COLS) {
                        if ((long) n * k <= 130L * 4096) {
                            out.add(Arguments.of(dt, st, n, k));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** A quantized weight W[n, k] from N(0, 1) values (varying scale per row), stored as asked. */
    static Tensor weight(DType dt, Storage st, int n, int k, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[(n + 2) * k];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * (1 + (i / k) % 3));
        }
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(v, n + 2, k), dt);
        return switch (st) {
            case HEAP -> q.slice(0, n).copy();
            case SLICED -> q.slice(1, n + 1);
            case NATIVE -> {
                Tensor src = q.slice(0, n);
                MemorySegment seg = arena.allocate(src.byteSize(), 64);
                MemorySegment.copy(src.segment(), 0, seg, 0, seg.byteSize());
                yield Tensor.wrap(dt, src.shape(), seg);
            }
        };
    }

    @ParameterizedTest(name = "{0} {1} N={2} K={3}")
    @MethodSource("cases")
    void matvecEqualsDequantizedF32(DType dt, Storage st, int n, int k) {
        Tensor w = weight(dt, st, n, k, 31L * n + k);
        float[] dense = Dequantize.toFloatArray(w);
        Tensor f32 = Tensor.ofFloats(dense, n, k);
        int xOff = 3;
        int yOff = 5;
        float[] x = gaussian(new Random(n + 7L * k), xOff, k, 1);
        float[] yq = new float[yOff + n + 4];
        float[] yf = new float[yOff + n + 4];
        float[] ys = new float[yOff + n + 4];
        Ops.matvec(w, x, xOff, yq, yOff);
        VectorMatVec.matvec(f32, x, xOff, yf, yOff);
        ScalarMatVec.matvec(w, x, xOff, ys, yOff);
        for (int r = 0; r < n; r++) {
            double exact = 0;
            double abs = 0;
            for (int i = 0; i < k; i++) {
                double t = (double) dense[r * k + i] * x[xOff + i];
                exact += t;
                abs += Math.abs(t);
            }
            close(exact, yq[yOff + r], REL * abs, "vector row " + r);
            close(exact, yf[yOff + r], REL * abs, "F32 kernel on the dequantized matrix, row " + r);
            close(exact, ys[yOff + r], 0x1p-24 * Math.abs(exact) + 1e-30, "scalar row " + r);
        }
        untouchedOutside(new float[yq.length], yq, yOff, n, "quantized matvec");
    }

    @ParameterizedTest(name = "{0} {1} N={2} K={3}")
    @MethodSource("cases")
    void batchedMatvecEqualsDequantizedF32(DType dt, Storage st, int n, int k) {
        Tensor w = weight(dt, st, n, k, 17L * n + k);
        float[] dense = Dequantize.toFloatArray(w);
        Tensor f32 = Tensor.ofFloats(dense, n, k);
        for (int batch : new int[] {1, 2, 4, 5, 8, 9}) {
            int xOff = 2;
            int yOff = 7;
            float[] x = gaussian(new Random(batch * 100L + n), xOff, batch * k, 1);
            float[] yq = new float[yOff + batch * n + 3];
            float[] yf = new float[yOff + batch * n + 3];
            float[] ys = new float[yOff + batch * n + 3];
            Ops.matvecBatch(w, x, xOff, yq, yOff, batch);
            VectorMatVec.matvecBatch(f32, x, xOff, yf, yOff, batch);
            ScalarMatVec.matvecBatch(w, x, xOff, ys, yOff, batch);
            float[] single = new float[n];
            for (int b = 0; b < batch; b++) {
                Ops.matvec(w, x, xOff + b * k, single, 0);
                for (int r = 0; r < n; r++) {
                    if (Float.floatToIntBits(single[r]) != Float.floatToIntBits(yq[yOff + b * n + r])) {
                        throw new AssertionError("batch " + batch + " item " + b + " row " + r + ": " + yq[yOff + b * n + r]
                                + " differs from the single product " + single[r]);
                    }
                }
            }
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < n; r++) {
                    double exact = 0;
                    double abs = 0;
                    for (int i = 0; i < k; i++) {
                        double t = (double) dense[r * k + i] * x[xOff + b * k + i];
                        exact += t;
                        abs += Math.abs(t);
                    }
                    String what = "batch " + batch + " item " + b + " row " + r;
                    close(exact, yq[yOff + b * n + r], REL * abs, "vector " + what);
                    close(exact, yf[yOff + b * n + r], REL * abs, "F32 kernel on the dequantized matrix, " + what);
                    close(exact, ys[yOff + b * n + r], 0x1p-24 * Math.abs(exact) + 1e-30, "scalar " + what);
                }
            }
            untouchedOutside(new float[yq.length], yq, yOff, batch * n, "quantized batched matvec");
        }
    }

    @ParameterizedTest(name = "{0} {1} N={2} K={3}")
    @MethodSource("cases")
    void transposedMatchesFloat64OfDequantized(DType dt, Storage st, int n, int k) {
        Tensor w = weight(dt, st, n, k, 13L * n + k);
        float[] dense = Dequantize.toFloatArray(w);
        int xOff = 1;
        int yOff = 4;
        float[] x = gaussian(new Random(n * 3L + k), xOff, n, 1);
        float[] y0 = gaussian(new Random(5), yOff, k, 1);
        for (boolean accumulate : new boolean[] {false, true}) {
            float[] yv = y0.clone();
            float[] ys = y0.clone();
            if (accumulate) {
                Ops.matvecTransposedAdd(w, x, xOff, yv, yOff);
            } else {
                Ops.matvecTransposed(w, x, xOff, yv, yOff);
            }
            ScalarMatVec.matvecTransposed(w, x, xOff, ys, yOff, accumulate);
            for (int c = 0; c < k; c++) {
                double exact = accumulate ? y0[yOff + c] : 0;
                double abs = Math.abs(exact);
                for (int r = 0; r < n; r++) {
                    double t = (double) dense[r * k + c] * x[xOff + r];
                    exact += t;
                    abs += Math.abs(t);
                }
                String what = (accumulate ? "accumulating" : "overwriting") + " column " + c;
                close(exact, yv[yOff + c], REL * abs + 1e-30, "vector " + what);
                close(exact, ys[yOff + c], 0x1p-24 * Math.abs(exact) + 1e-30, "scalar " + what);
            }
            untouchedOutside(y0, yv, yOff, k, "quantized transposed matvec");
        }
    }

    @Test
    void registerDecodeEqualsReferenceDequantization() {
        assertTrue(QuantBlocks.IN_REGISTERS || QuantBlocks.L > 16, "8- and 16-lane machines decode in registers");
        Random rnd = new Random(9);
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            Tensor w = weight(dt, Storage.HEAP, 3, 256, 77);
            for (int t = 0; t < 200; t++) {
                int row = rnd.nextInt(3);
                int first = rnd.nextInt(256);
                int n = rnd.nextInt(256 - first + 1);
                float[] expected = new float[n + 4];
                float[] actual = new float[n + 4];
                long rowOff = row * dt.bytesFor(256);
                Dequantize.range(dt, w.segment(), rowOff, first, expected, 2, n);
                QuantBlocks.dequantize(dt, w.segment(), rowOff, first, actual, 2, n);
                assertArrayEquals(expected, actual, dt + " row " + row + " [" + first + ", " + (first + n) + ")");
            }
        }
    }
}
