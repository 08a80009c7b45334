package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The packed Vector-API matmul against its scalar twin and a float64 reference. */
class MatmulTest {

    static Tensor random(Random rnd, DType dt, int rows, int cols) {
        Tensor t = Tensor.zeros(dt, rows, cols);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) rnd.nextGaussian());
        }
        return t;
    }

    /** float64 reference of op(A) op(B) from the tensors' stored values. */
    static double[] reference(Tensor a, boolean ta, Tensor b, boolean tb, int m, int n, int k) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double x = ta ? a.get(p, i) : a.get(i, p);
                    double y = tb ? b.get(j, p) : b.get(p, j);
                    s += x * y;
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }

    static Stream<Arguments> shapes() {
        Random rnd = new Random(42);
        Stream.Builder<Arguments> s = Stream.builder();
        int[][] fixed = {{1, 1, 1}, {8, 32, 256}, {7, 31, 5}, {9, 33, 257}, {1, 100, 300}, {100, 1, 300}, {17, 65, 513}, {64, 48, 16}, {3, 1030, 40}, {600, 40, 70}, {530, 1100, 33}, {40, 16, 100}, {19, 16, 7}};
        DType[] dts = {DType.F32, DType.BF16, DType.F16};
        int seed = 0;
        for (int[] f : fixed) {
            for (int t = 0; t < 4; t++) {
                s.add(Arguments.of(f[0], f[1], f[2], (t & 1) != 0, (t & 2) != 0, dts[seed % 3], dts[(seed / 3) % 3], seed++));
            }
        }
        for (int r = 0; r < 24; r++) {
            s.add(Arguments.of(1 + rnd.nextInt(70), 1 + rnd.nextInt(150), 1 + rnd.nextInt(600), rnd.nextBoolean(), rnd.nextBoolean(),
                    dts[rnd.nextInt(3)], dts[rnd.nextInt(3)], seed++));
        }
        return s.build();
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} tA={3} tB={4} {5}x{6}")
    @MethodSource("shapes")
    void vectorMatchesScalarAndFloat64(int m, int n, int k, boolean ta, boolean tb, DType da, DType db, int seed) {
        Random rnd = new Random(seed);
        Tensor a = ta ? random(rnd, da, k, m) : random(rnd, da, m, k);
        Tensor b = tb ? random(rnd, db, n, k) : random(rnd, db, k, n);
        Tensor cv = Tensor.zeros(DType.F32, m, n);
        Tensor cs = Tensor.zeros(DType.F32, m, n);
        Matmul.gemm(a, ta, b, tb, cv, false);
        ScalarMatmul.gemm(a, ta, b, tb, cs, false);
        double[] ref = reference(a, ta, b, tb, m, n, k);
        // float32 accumulation of k unit-variance products: a worst-case bound k * eps * sum|terms| is
        // loose; blocked sums stay within a few eps * sqrt(k) * sqrt(k) (|terms| ~ 1, sum ~ sqrt(k) * 1).
        double tol = 8 * 0x1p-24 * Math.sqrt(k) * Math.sqrt(k) * 4 + 1e-6;
        for (int i = 0; i < m * n; i++) {
            assertEquals(ref[i], cv.floatArray()[i], tol, "vector element " + i);
            assertEquals(ref[i], cs.floatArray()[i], tol, "scalar element " + i);
        }
        // accumulate: C += op(A) op(B) doubles the result
        Matmul.gemm(a, ta, b, tb, cv, true);
        for (int i = 0; i < m * n; i++) {
            assertEquals(2 * ref[i], cv.floatArray()[i], 2 * tol, "accumulated element " + i);
        }
    }

    @Test
    void worksOnSlicedViewsWithOffsets() {
        Random rnd = new Random(7);
        Tensor bigA = random(rnd, DType.F32, 40, 37);
        Tensor w = random(rnd, DType.BF16, 70, 37);
        Tensor bigC = Tensor.zeros(DType.F32, 50, 19);
        Tensor a = bigA.slice(5, 28);
        Tensor b = w.slice(3, 22);
        Tensor c = bigC.slice(11, 34);
        Matmul.gemm(a, false, b, true, c, false);
        double[] ref = reference(a, false, b, true, 23, 19, 37);
        for (int i = 0; i < 23; i++) {
            for (int j = 0; j < 19; j++) {
                assertEquals(ref[i * 19 + j], c.get(i, j), 1e-4);
            }
        }
        for (int i = 0; i < 11 * 19; i++) {
            assertEquals(0f, bigC.floatArray()[i], "rows before the output view stay untouched");
        }
    }

    @Test
    void rejectsBadShapesAndAliasing() {
        Tensor a = Tensor.zeros(DType.F32, 4, 5);
        Tensor b = Tensor.zeros(DType.F32, 6, 5);
        assertThrows(IllegalArgumentException.class, () -> Matmul.gemm(a, false, b, false, Tensor.zeros(DType.F32, 4, 6), false));
        assertThrows(IllegalArgumentException.class, () -> Matmul.gemm(a, false, b, true, Tensor.zeros(DType.F32, 4, 7), false));
        Tensor sq = Tensor.zeros(DType.F32, 4, 4);
        assertThrows(IllegalArgumentException.class, () -> Matmul.gemm(sq, false, sq, false, sq, false));
        assertThrows(IllegalArgumentException.class, () -> Matmul.gemm(a, false, b, true, Tensor.zeros(DType.BF16, 4, 6), false));
    }

    @Test
    void emptyKGivesZerosOrKeepsAccumulator() {
        Tensor a = Tensor.zeros(DType.F32, 3, 0);
        Tensor b = Tensor.zeros(DType.F32, 0, 2);
        Tensor c = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        Matmul.gemm(a, false, b, false, c, true);
        assertEquals(6f, c.get(2, 1));
        Matmul.gemm(a, false, b, false, c, false);
        assertEquals(0f, c.get(2, 1));
    }
}
