package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lorakit.nn.Linear;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.quant.BlockQuantizer;
import dev.lorakit.tensor.quant.Dequantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The packed matmul with a Q8_0 / Q4_0 operand (dequantized while packing): B as a weight in the
 * forward (x W^T, transB) and in the backward through a frozen weight (dY W, not transposed), and
 * A quantized both ways. The result must be exactly the floats of the same product with the
 * dequantized F32 operand (packing yields the same panels), and agree with the scalar twin and a
 * float64 reference to 1e-5 of sum |terms| (relative).
 */
class QuantMatmulTest {

    static Tensor quantized(Random rnd, DType dt, int rows, int cols, boolean nativeMemory, Arena arena) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(v, rows, cols), dt);
        if (!nativeMemory) {
            return q;
        }
        MemorySegment seg = arena.allocate(q.byteSize(), 64);
        MemorySegment.copy(q.segment(), 0, seg, 0, q.byteSize());
        return Tensor.wrap(dt, q.shape(), seg);
    }

    static Tensor dense(Random rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return Tensor.ofFloats(v, rows, cols);
    }

    /** M, N, K (the quantized side's block dimension must be a multiple of 32). */
    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        int[][] mnk = {{1, 32, 32}, {7, 64, 96}, {9, 96, 64}, {33, 160, 288}, {100, 64, 4096}, {13, 544, 320}, {600, 32, 64}};
        int seed = 0;
        for (int[] f : mnk) {
            for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
                s.add(Arguments.of(f[0], f[1], f[2], dt, seed++));
            }
        }
        return s.build();
    }

    static void check(Tensor a, boolean ta, Tensor b, boolean tb, int m, int n, int k, String what) {
        Tensor aF = a.dtype().isQuantized() ? Dequantize.toF32(a) : a;
        Tensor bF = b.dtype().isQuantized() ? Dequantize.toF32(b) : b;
        Tensor cq = Tensor.zeros(DType.F32, m, n);
        Tensor cf = Tensor.zeros(DType.F32, m, n);
        Tensor cs = Tensor.zeros(DType.F32, m, n);
        Matmul.gemm(a, ta, b, tb, cq, false);
        Matmul.gemm(aF, ta, bF, tb, cf, false);
        assertArrayEquals(cf.floatArray(), cq.floatArray(), what + ": same floats as with the dequantized operand");
        boolean small = (long) m * n * k <= 2_000_000;
        if (small) {
            ScalarMatmul.gemm(a, ta, b, tb, cs, false);
        }
        float[] af = aF.floatArray();
        float[] bf = bF.floatArray();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                double abs = 0;
                for (int p = 0; p < k; p++) {
                    double x = ta ? af[p * m + i] : af[i * k + p];
                    double y = tb ? bf[j * k + p] : bf[p * n + j];
                    s += x * y;
                    abs += Math.abs(x * y);
                }
                assertEquals(s, cq.floatArray()[i * n + j], 1e-5 * abs + 1e-30, what + " vector (" + i + "," + j + ")");
                if (small) {
                    assertEquals(s, cs.floatArray()[i * n + j], 1e-5 * abs + 1e-30, what + " scalar (" + i + "," + j + ")");
                }
            }
        }
        Matmul.gemm(a, ta, b, tb, cq, true);
        Matmul.gemm(aF, ta, bF, tb, cf, true);
        assertArrayEquals(cf.floatArray(), cq.floatArray(), what + ": accumulating");
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} {3}")
    @MethodSource("shapes")
    void weightAsB(int m, int n, int k, DType dt, int seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            // forward: y[M, out=N] = x[M, in=K] W[N, K]^T
            Tensor w = quantized(rnd, dt, n, k, seed % 2 == 0, arena);
            check(dense(rnd, m, k), false, w, true, m, n, k, "x W^T");
            // backward: dx[M, in=N] = dy[M, out=K] W[K, N] (K any size, N the blocked input dimension)
            int out = k / 2 + 3;
            Tensor w2 = quantized(rnd, dt, out, n, seed % 2 == 1, arena);
            check(dense(rnd, m, out), false, w2, false, m, n, out, "dY W");
            // A transposed dense: C = A^T W^T
            check(dense(rnd, k, m), true, w, true, m, n, k, "A^T W^T");
        }
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} {3}")
    @MethodSource("shapes")
    void quantizedA(int m, int n, int k, DType dt, int seed) {
        Random rnd = new Random(1000 + seed);
        try (Arena arena = Arena.ofShared()) {
            Tensor a = quantized(rnd, dt, m, k, true, arena);
            check(a, false, dense(rnd, n, k), true, m, n, k, "Q B^T");
            check(a, false, dense(rnd, k, n), false, m, n, k, "Q B");
            int mt = n; // transA: A is [K', M'] with M' = n a multiple of 32
            Tensor at = quantized(rnd, dt, k, mt, false, arena);
            check(at, true, dense(rnd, k, m), false, mt, m, k, "Q^T B");
        }
    }

    @Test
    void trainingLinearThroughQuantizedWeight() {
        Random rnd = new Random(4);
        int rows = 11;
        int in = 96;
        int out = 40;
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            Tensor w = BlockQuantizer.quantize(dense(rnd, out, in), dt);
            Tensor wf = Dequantize.toF32(w);
            float[] x = dense(rnd, rows, in).floatArray();
            float[] bias = dense(rnd, 1, out).floatArray();
            float[] yq = new float[rows * out];
            float[] yf = new float[rows * out];
            Linear.forward(yq, x, w, bias, rows);
            Linear.forward(yf, x, wf, bias, rows);
            assertArrayEquals(yf, yq, dt + " forward");
            float[] dy = dense(rnd, rows, out).floatArray();
            float[] dxq = new float[rows * in];
            float[] dxf = new float[rows * in];
            Linear.backwardInput(dxq, dy, w, rows);
            Linear.backwardInput(dxf, dy, wf, rows);
            assertArrayEquals(dxf, dxq, dt + " backward");
        }
    }
}
