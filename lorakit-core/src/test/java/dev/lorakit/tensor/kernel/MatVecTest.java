package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.KernelTestData.U;
import static dev.lorakit.tensor.kernel.KernelTestData.close;
import static dev.lorakit.tensor.kernel.KernelTestData.gaussian;
import static dev.lorakit.tensor.kernel.KernelTestData.untouchedOutside;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link VectorMatVec} against {@link ScalarMatVec}, and the scalar twin against float64 sums of
 * the stored weights, for F32, BF16 and F16 weights on the heap, in native memory (as a mapped
 * file is) and as a sliced view, with N and K around the vector length and offsets into x and y.
 *
 * <p>Tolerances, with S = sum_k |W[n,k] x[k]| for one output: scalar twin vs float64: u |y| + tiny
 * (float64 sum, one rounding); vector vs scalar for matvec and the batched product:
 * (K/L + 32) u S (each of the L float lanes sums K/L products, then a lane tree and up to L - 1
 * scalar tail terms);
 * transposed: (N + 8) u S (each output is a running float32 sum over the N rows).
 */
class MatVecTest {
    private static final int L = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
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

    static final int[][] SHAPES = {
        {1, 1}, {3, 5}, {7, 16}, {16, 17}, {33, 31}, {5, 64}, {17, 100}, {64, 129}, {9, 256},
        {130, 1000}, {37, 4099}, {1000, 257}, {2, 2048}
    };

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (Storage st : Storage.values()) {
                for (int[] s : SHAPES) {
                    out.add(Arguments.of(dt, st, s[0], s[1]));
                }
            }
        }
        return out;
    }

    /** A weight W[n, k] of the given dtype and storage, values ~ N(0, 1) rounded to the dtype. */
    static Tensor weight(DType dt, Storage st, int n, int k, long seed) {
        Random rnd = new Random(seed);
        Tensor heap = Tensor.zeros(dt, n + 2, k);
        for (long i = 0; i < heap.size(); i++) {
            heap.setFloat(i, (float) rnd.nextGaussian());
        }
        return switch (st) {
            case HEAP -> heap.slice(0, n).copy();
            case SLICED -> heap.slice(1, n + 1);
            case NATIVE -> {
                MemorySegment seg = arena.allocate((long) n * k * dt.byteSize(), 64);
                MemorySegment.copy(heap.segment(), 0, seg, 0, seg.byteSize());
                yield Tensor.wrap(dt, heap.slice(0, n).shape(), seg);
            }
        };
    }

    @ParameterizedTest(name = "{0} {1} N={2} K={3}")
    @MethodSource("cases")
    void matvecMatchesTwinAndFloat64(DType dt, Storage st, int n, int k) {
        Tensor w = weight(dt, st, n, k, 31L * n + k);
        int xOff = 3;
        int yOff = 5;
        float[] x = gaussian(new Random(n + 7L * k), xOff, k, 1);
        float[] ys = new float[yOff + n + 4];
        float[] yv = new float[yOff + n + 4];
        ScalarMatVec.matvec(w, x, xOff, ys, yOff);
        VectorMatVec.matvec(w, x, xOff, yv, yOff);
        for (int r = 0; r < n; r++) {
            double exact = 0;
            double abs = 0;
            for (int i = 0; i < k; i++) {
                double t = (double) w.getFloat((long) r * k + i) * x[xOff + i];
                exact += t;
                abs += Math.abs(t);
            }
            close(exact, ys[yOff + r], U * Math.abs(exact) + 1e-30, "scalar row " + r);
            close(ys[yOff + r], yv[yOff + r], (k / (double) L + 32) * U * abs, "vector row " + r);
        }
        untouchedOutside(new float[yv.length], yv, yOff, n, "vector matvec");
    }

    @ParameterizedTest(name = "{0} {1} N={2} K={3}")
    @MethodSource("cases")
    void batchedMatvecEqualsOneInputAtATime(DType dt, Storage st, int n, int k) {
        Tensor w = weight(dt, st, n, k, 17L * n + k);
        for (int batch : new int[] {1, 2, 3, 4, 5, 8, 9}) {
            int xOff = 2;
            int yOff = 7;
            float[] x = gaussian(new Random(batch * 100L + n), xOff, batch * k, 1);
            float[] ys = new float[yOff + batch * n + 3];
            float[] yv = new float[yOff + batch * n + 3];
            ScalarMatVec.matvecBatch(w, x, xOff, ys, yOff, batch);
            VectorMatVec.matvecBatch(w, x, xOff, yv, yOff, batch);
            float[] single = new float[n];
            for (int b = 0; b < batch; b++) {
                ScalarMatVec.matvec(w, x, xOff + b * k, single, 0);
                for (int r = 0; r < n; r++) {
                    double abs = 0;
                    for (int i = 0; i < k; i++) {
                        abs += Math.abs((double) w.getFloat((long) r * k + i) * x[xOff + b * k + i]);
                    }
                    String what = "batch " + batch + " item " + b + " row " + r;
                    close(single[r], ys[yOff + b * n + r], 0, "scalar " + what);
                    close(ys[yOff + b * n + r], yv[yOff + b * n + r], (k / (double) L + 32) * U * abs, "vector " + what);
                }
            }
            untouchedOutside(new float[yv.length], yv, yOff, batch * n, "vector batched matvec");
        }
    }

    @ParameterizedTest(name = "{0} {1} N={2} K={3}")
    @MethodSource("cases")
    void transposedMatchesTwinAndFloat64(DType dt, Storage st, int n, int k) {
        Tensor w = weight(dt, st, n, k, 13L * n + k);
        int xOff = 1;
        int yOff = 4;
        float[] x = gaussian(new Random(n * 3L + k), xOff, n, 1);
        float[] y0 = gaussian(new Random(5), yOff, k, 1);
        for (boolean accumulate : new boolean[] {false, true}) {
            float[] ys = y0.clone();
            float[] yv = y0.clone();
            ScalarMatVec.matvecTransposed(w, x, xOff, ys, yOff, accumulate);
            VectorMatVec.matvecTransposed(w, x, xOff, yv, yOff, accumulate);
            for (int c = 0; c < k; c++) {
                double exact = accumulate ? y0[yOff + c] : 0;
                double abs = Math.abs(exact);
                for (int r = 0; r < n; r++) {
                    double t = (double) w.getFloat((long) r * k + c) * x[xOff + r];
                    exact += t;
                    abs += Math.abs(t);
                }
                String what = (accumulate ? "accumulating" : "overwriting") + " column " + c;
                close(exact, ys[yOff + c], U * Math.abs(exact) + 1e-30, "scalar " + what);
                close(ys[yOff + c], yv[yOff + c], (n + 8) * U * abs, "vector " + what);
            }
            untouchedOutside(y0, yv, yOff, k, "vector transposed matvec");
        }
    }
}
