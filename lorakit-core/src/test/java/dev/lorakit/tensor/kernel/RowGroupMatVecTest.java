package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.KernelTestData.close;
import static dev.lorakit.tensor.kernel.KernelTestData.gaussian;
import static dev.lorakit.tensor.kernel.KernelTestData.same;
import static dev.lorakit.tensor.kernel.KernelTestData.untouchedOutside;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.ops.Ops;
import dev.lorakit.tensor.quant.BlockFormat;
import dev.lorakit.tensor.quant.BlockQuantizer;
import dev.lorakit.tensor.quant.Dequantize;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 * The decode kernels on row-interleaved weights ({@link RowGroupMatVec}):
 * <ul>
 *   <li>8-bit activations: the Vector API quantization equals its scalar reference bit for bit,
 *       and every input is within d/2 of its representation q d;</li>
 *   <li>Q4_0_R32: the kernels equal {@link ScalarMatVec}'s twin bit for bit (integer block sums
 *       and the same float32 steps), and the dequantize-then-float64 product within the error the
 *       activation rounding allows, sum_j |w_j| |x_j - q_j d_j|, plus float32 rounding;</li>
 *   <li>Q8_0_R32: the dequantize-then-float64 product within 1e-5 of sum |w x|;</li>
 *   <li>both: a batch gives every input exactly the floats of the single product (tail rows
 *       included), the fp16 scales are converted exactly for every finite fp16 value, and the
 *       matmul packs the same panels as from the row-major weight (bit-identical products).</li>
 * </ul>
 */
class RowGroupMatVecTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static Arena arena;

    @BeforeAll
    static void open() {
        arena = Arena.ofShared();
    }

    @AfterAll
    static void closeArena() {
        arena.close();
    }

    static List<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.Q8_0_R32, DType.Q4_0_R32}) {
            for (int n : new int[] {1, 31, 32, 33, 64, 100, 130}) {
                for (int k : new int[] {32, 96, 256, 2048}) {
                    out.add(Arguments.of(dt, n, k));
                }
            }
        }
        return out;
    }

    /** A row-interleaved weight of N(0, s_row) values (scales varying by row). */
    static Tensor weight(DType dt, int n, int k, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[n * k];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * (1 + (i / k) % 4));
        }
        return RowGroups.interleave(BlockQuantizer.quantize(Tensor.ofFloats(v, n, k), dt.rowMajor()), arena);
    }

    @Test
    void activationQuantizationIsBitExactAndWithinHalfAStep() {
        Random rnd = new Random(4);
        int k = 256;
        int rows = 3;
        float[] x = new float[2 + rows * k];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
        }
        // awkward blocks: all zero, ties at +-0.5 steps, one huge value, signed zeros, subnormals,
        // tiny values whose 1 / d would overflow (the block becomes zeros)
        for (int j = 0; j < 32; j++) {
            x[2 + j] = 0f;
            x[2 + 32 + j] = (j - 16) * 0.5f * (127f / 16f) / 127f;
            x[2 + 64 + j] = j == 3 ? 3e38f : 1e-3f * j;
            x[2 + 96 + j] = j % 2 == 0 ? -0f : Float.MIN_VALUE * j;
            x[2 + 128 + j] = (j % 3 - 1) * 1e-37f;
        }
        QuantizedActivations v = QuantizedActivations.forThread(rows, k);
        v.quantize(x, 2, rows);
        short[] q = v.q.clone();
        float[] d = v.d.clone();
        int[] sum = v.sum.clone();
        v.quantizeScalar(x, 2, rows);
        for (int i = 0; i < rows * k; i++) {
            assertEquals(v.q[i], q[i], "q " + i);
        }
        for (int c = 0; c < rows * k / 32; c++) {
            same(v.d[c], d[c], "d of block " + c);
            assertEquals(v.sum[c], sum[c], "sum of block " + c);
            int s = 0;
            for (int j = 0; j < 32; j++) {
                int qi = q[c * 32 + j];
                assertTrue(Math.abs(qi) <= 127, "q in -127..127");
                s += qi;
                float xi = x[2 + c * 32 + j];
                // (+2e-36: a block below 127 * 2^-126 has d = 0 and its inputs become 0)
                close(xi, (double) qi * d[c], 0.5001 * d[c] + 2e-36, "block " + c + " input " + j);
            }
            assertEquals(s, sum[c], "sum of block " + c);
        }
        assertEquals(0f, d[0], "an all-zero block has scale 0");
        assertEquals(0f, d[4], "a block of 1e-37 values has scale 0 (1 / d would overflow)");
        assertEquals(0, sum[4]);
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("shapes")
    void productsMatchTheirReferences(DType dt, int n, int k) {
        Tensor w = weight(dt, n, k, 13L * n + k);
        float[] dense = Dequantize.toFloatArray(w);
        for (int batch : new int[] {1, 2, 4, 5, 9}) {
            int xOff = 3;
            int yOff = 5;
            float[] x = gaussian(new Random(batch * 31L + n + k), xOff, batch * k, 1);
            float[] y = new float[yOff + batch * n + 4];
            float[] ys = new float[y.length];
            Ops.matvecBatch(w, x, xOff, y, yOff, batch);
            ScalarMatVec.matvecBatch(w, x, xOff, ys, yOff, batch);
            untouchedOutside(new float[y.length], y, yOff, batch * n, dt + " batch " + batch);
            float[] single = new float[n];
            QuantizedActivations acts = QuantizedActivations.create(batch, k); // not the buffer the products reuse
            acts.quantizeScalar(x, xOff, batch);
            for (int b = 0; b < batch; b++) {
                Ops.matvec(w, x, xOff + b * k, single, 0);
                for (int r = 0; r < n; r++) {
                    String what = dt + " batch " + batch + " item " + b + " row " + r;
                    float got = y[yOff + b * n + r];
                    same(single[r], got, what + ": batched vs single product");
                    double exact = 0;
                    double abs = 0;
                    double actError = 0;
                    for (int i = 0; i < k; i++) {
                        double wi = dense[r * k + i];
                        double xi = x[xOff + b * k + i];
                        exact += wi * xi;
                        abs += Math.abs(wi * xi);
                        double xq = (double) acts.q[b * k + i] * acts.d[b * (k / 32) + i / 32];
                        actError += Math.abs(wi) * Math.abs(xi - xq);
                    }
                    if (dt == DType.Q4_0_R32) {
                        same(ys[yOff + b * n + r], got, what + ": vector vs scalar twin");
                        close(exact, got, actError + 1e-5 * abs, what + " against the float64 product");
                    } else {
                        close(exact, got, 1e-5 * abs, what + " against the float64 product");
                        close(exact, ys[yOff + b * n + r], 0x1p-24 * Math.abs(exact) + 1e-30, what + " (scalar twin)");
                    }
                }
            }
        }
    }

    /** A tail row (after the last whole group) holding a group row's blocks gives that row's floats, in every kernel. */
    @Test
    void tailRowsComputeLikeGroupRows() {
        int k = 256;
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            float[] v = gaussian(new Random(2), 0, 34 * k, 1);
            System.arraycopy(v, 5 * k, v, 32 * k, k);  // row 32 (the tail) = row 5 (group 0)
            System.arraycopy(v, 31 * k, v, 33 * k, k); // row 33 (the tail) = row 31 (group 0)
            Tensor w = RowGroups.interleave(BlockQuantizer.quantize(Tensor.ofFloats(java.util.Arrays.copyOf(v, 34 * k), 34, k), dt), arena);
            for (int batch : new int[] {1, 4, 6}) {
                float[] x = gaussian(new Random(batch), 0, batch * k, 1);
                float[] y = new float[batch * 34];
                Ops.matvecBatch(w, x, 0, y, 0, batch);
                for (int b = 0; b < batch; b++) {
                    same(y[b * 34 + 5], y[b * 34 + 32], dt + " batch " + batch + " input " + b + ": tail row 32 vs group row 5");
                    same(y[b * 34 + 31], y[b * 34 + 33], dt + " batch " + batch + " input " + b + ": tail row 33 vs group row 31");
                }
            }
        }
    }

    /** Every finite fp16 scale is converted exactly: one-hot products read each scale back. */
    @Test
    void everyFiniteFp16ScaleIsConvertedExactly() {
        List<Short> finite = new ArrayList<>();
        for (int h = 0; h < 0x10000; h++) {
            if ((h & 0x7c00) != 0x7c00) {
                finite.add((short) h);
            }
        }
        int n = finite.size(); // 63488 rows, a multiple of 32
        int k = 32;
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            Tensor w = Tensor.zeros(dt, n, k);
            for (int r = 0; r < n; r++) {
                long off = r * dt.bytesFor(k);
                w.segment().set(I16, off, finite.get(r));
                if (dt == DType.Q8_0) {
                    w.segment().set(ValueLayout.JAVA_BYTE, off + 2, (byte) 1); // q[0] = 1, the rest 0
                } else {
                    for (int j = 0; j < 16; j++) {
                        w.segment().set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) (j == 0 ? 0x89 : 0x88)); // q[0] - 8 = 1
                    }
                }
            }
            Tensor r32 = RowGroups.interleave(w, arena);
            float[] x = new float[k];
            x[0] = 1f;
            float[] y = new float[n];
            float[] ys = new float[n];
            Ops.matvec(r32, x, 0, y, 0);
            ScalarMatVec.matvec(r32, x, 0, ys, 0);
            for (int r = 0; r < n; r++) {
                float d = Float.float16ToFloat(finite.get(r));
                if (dt == DType.Q8_0) {
                    // y = fma(t = 1, d, 0): d itself (a -0 scale gives +0, as -0 + 0 does)
                    same(Math.fma(1f, d, 0f), y[r], "Q8_0 scale bits 0x" + Integer.toHexString(finite.get(r) & 0xffff));
                } else {
                    // x[0] = 1 is q = 127 at d = 1/127: y = fma(127, d (1/127), 0), as the scalar twin computes it
                    same(Math.fma(127f, d * (1f / 127f), 0f), y[r], "Q4_0 scale bits 0x" + Integer.toHexString(finite.get(r) & 0xffff));
                    same(ys[r], y[r], "Q4_0 twin");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("shapes")
    void transposedProductReadsTheLayout(DType dt, int n, int k) {
        Tensor w = weight(dt, n, k, 5L * n + k);
        float[] dense = Dequantize.toFloatArray(w);
        float[] x = gaussian(new Random(n), 1, n, 1);
        float[] y = gaussian(new Random(k), 2, k, 1);
        float[] before = y.clone();
        Ops.matvecTransposedAdd(w, x, 1, y, 2);
        for (int c = 0; c < k; c++) {
            double exact = before[2 + c];
            double abs = Math.abs(exact);
            for (int r = 0; r < n; r++) {
                exact += (double) dense[r * k + c] * x[1 + r];
                abs += Math.abs((double) dense[r * k + c] * x[1 + r]);
            }
            close(exact, y[2 + c], 1e-5 * abs + 1e-30, dt + " column " + c);
        }
    }

    /** Prefill packs its panels from the groups: the product equals the one with the row-major weight, bit for bit. */
    @Test
    void matmulPacksTheSamePanelsAsFromRowMajorBlocks() {
        int[][] mnk = {{9, 32, 32}, {17, 33, 288}, {40, 64, 512}, {12, 100, 96}, {3, 130, 2048}};
        Random rnd = new Random(6);
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            for (int[] s : mnk) {
                int m = s[0];
                int n = s[1];
                int k = s[2];
                Tensor rowMajor = BlockQuantizer.quantize(dense(rnd, n, k), dt);
                Tensor r32 = RowGroups.interleave(rowMajor, arena);
                Tensor a = dense(rnd, m, k);
                Tensor c1 = Tensor.zeros(DType.F32, m, n);
                Tensor c2 = Tensor.zeros(DType.F32, m, n);
                Matmul.gemm(a, false, rowMajor, true, c1, false);
                Matmul.gemm(a, false, r32, true, c2, false);
                for (int i = 0; i < m * n; i++) {
                    same(c1.floatArray()[i], c2.floatArray()[i], dt + " " + m + "x" + n + "x" + k + " x W^T element " + i);
                }
                // the backward's dY W (B not transposed) reads the layout row by row
                Tensor dy = dense(rnd, m, n);
                Tensor d1 = Tensor.zeros(DType.F32, m, k);
                Tensor d2 = Tensor.zeros(DType.F32, m, k);
                Matmul.gemm(dy, false, rowMajor, false, d1, false);
                Matmul.gemm(dy, false, r32, false, d2, false);
                for (int i = 0; i < m * k; i++) {
                    same(d1.floatArray()[i], d2.floatArray()[i], dt + " " + m + "x" + n + "x" + k + " dY W element " + i);
                }
            }
        }
    }

    static Tensor dense(Random rnd, int rows, int cols) {
        return Tensor.ofFloats(java.util.Arrays.copyOf(gaussian(rnd, 0, rows * cols, 1), rows * cols), rows, cols);
    }

    @Test
    void onlyBlockRowsOfTheRightShapeArePackedFromGroups() {
        Tensor r32 = weight(DType.Q4_0_R32, 70, 64, 1);
        assertEquals(RowGroupMatVec.SUPPORTED, RowGroupPack.packs(r32, 32, 32));
        assertTrue(!RowGroupPack.packs(r32, 64, 6), "the tail rows are row-major");
        assertTrue(!RowGroupPack.packs(r32, 16, 32), "a panel that straddles two groups");
        assertEquals(BlockFormat.BLOCK, RowGroups.ROWS, "a group is as tall as a block is wide");
    }
}
