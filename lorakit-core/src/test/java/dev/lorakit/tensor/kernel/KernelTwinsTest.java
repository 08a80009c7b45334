package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.KernelTestData.U;
import static dev.lorakit.tensor.kernel.KernelTestData.close;
import static dev.lorakit.tensor.kernel.KernelTestData.gaussian;
import static dev.lorakit.tensor.kernel.KernelTestData.same;
import static dev.lorakit.tensor.kernel.KernelTestData.untouchedOutside;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every vector kernel in {@link VectorKernels} against its scalar twin in {@link ScalarKernels},
 * and every scalar twin against a float64 computation written out here, at sizes below, at and
 * around the vector length and with non-zero offsets.
 *
 * <p>Tolerances (u = 2^-24, L = float lanes, sums over the n terms of the row):
 * <ul>
 *   <li>dot, sum: (n/L + 16) u * sum|terms| (four accumulators of L lanes, then a lane tree);</li>
 *   <li>axpy: 2u (|alpha x| + |y|) (one fused rounding against a float64 one);
 *       scale, add, mul, max, argmax: bit-exact;</li>
 *   <li>rmsnorm: (n/L + 16) u relative per element (float32 sum of squares);</li>
 *   <li>softmax: ((n/L + 16) + 2 + |x_i - max|) 2u relative per probability (float32 exp argument,
 *       exp within 2 ulp, float32 sum); logSoftmax: the same as an absolute error, plus 4u |result|;</li>
 *   <li>silu, swiglu: 16u relative (exp, add, divide); dsilu: 16u s (1 + |x| (1 - s)) (the terms,
 *       as silu' crosses zero); gelu: 1e-7 |x|/2 + 16u |gelu| absolute
 *       (erf within 1e-7); dgelu: 1e-7 + 16u |dgelu| absolute;</li>
 *   <li>rope: 4u (|x_i| + |x_{i+D/2}|) per element.</li>
 * </ul>
 */
class KernelTwinsTest {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    static List<Arguments> cases() {
        return KernelTestData.sizesAndOffsets();
    }

    private static double sumTol(int n) {
        return (n / (double) L + 16) * U;
    }

    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void dotMatchesTwinAndFloat64(int n, int off) {
        Random rnd = new Random(1000L * n + off);
        float[] a = gaussian(rnd, off, n, 1);
        float[] b = gaussian(rnd, off + 2, n, 3);
        double exact = 0;
        double abs = 0;
        for (int i = 0; i < n; i++) {
            exact += (double) a[off + i] * b[off + 2 + i];
            abs += Math.abs((double) a[off + i] * b[off + 2 + i]);
        }
        float s = ScalarKernels.dot(a, off, b, off + 2, n);
        float v = VectorKernels.dot(a, off, b, off + 2, n);
        close(exact, s, U * Math.abs(exact) + 1e-30, "scalar dot vs float64");
        close(s, v, sumTol(n) * abs + 1e-30, "vector dot vs scalar");
    }

    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void sumMaxArgmaxMatchTwinAndFloat64(int n, int off) {
        Random rnd = new Random(2000L * n + off);
        float[] x = gaussian(rnd, off, n, 10);
        double exact = 0;
        double abs = 0;
        float mx = Float.NEGATIVE_INFINITY;
        int arg = -1;
        for (int i = 0; i < n; i++) {
            exact += x[off + i];
            abs += Math.abs(x[off + i]);
            if (x[off + i] > mx) {
                mx = x[off + i];
                arg = i;
            }
        }
        close(exact, ScalarKernels.sum(x, off, n), U * Math.abs(exact) + 1e-30, "scalar sum vs float64");
        close(ScalarKernels.sum(x, off, n), VectorKernels.sum(x, off, n), sumTol(n) * abs + 1e-30, "vector sum vs scalar");
        same(mx, ScalarKernels.max(x, off, n), "scalar max");
        same(mx, VectorKernels.max(x, off, n), "vector max");
        if (n > 0) {
            assertEquals(arg, ScalarKernels.argmax(x, off, n), "scalar argmax");
            assertEquals(arg, VectorKernels.argmax(x, off, n), "vector argmax");
            // a tie: the first occurrence wins
            int late = n - 1;
            int early = n / 3;
            x[off + late] = 1e6f;
            x[off + early] = 1e6f;
            assertEquals(early, ScalarKernels.argmax(x, off, n), "scalar argmax tie");
            assertEquals(early, VectorKernels.argmax(x, off, n), "vector argmax tie");
            // a NaN counts as the maximum, the first NaN wins
            x[off + late] = Float.NaN;
            assertEquals(late, ScalarKernels.argmax(x, off, n), "scalar argmax NaN");
            assertEquals(late, VectorKernels.argmax(x, off, n), "vector argmax NaN");
            same(Float.NaN, VectorKernels.max(x, off, n), "vector max NaN");
            same(Float.NaN, ScalarKernels.max(x, off, n), "scalar max NaN");
        }
    }

    /**
     * weightedRowSum(w, rows) is exactly the n axpy calls w[j] * row_j into a zeroed output, in
     * each twin (bit for bit), for row widths d = n and row counts around the 4L column block.
     */
    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void weightedRowSumIsAxpyInOrder(int n, int off) {
        Random rnd = new Random(5000L * n + off);
        int d = n;
        int stride = d + 3;
        for (int rowsCount : new int[] {0, 1, 7}) {
            float[] w = gaussian(rnd, 0, rowsCount, 1);
            float[] rows = gaussian(rnd, off, rowsCount * stride, 2);
            float[] viaAxpyS = new float[off + d + 4];
            float[] viaAxpyV = new float[off + d + 4];
            for (int j = 0; j < rowsCount; j++) {
                ScalarKernels.axpy(w[j], rows, off + j * stride, viaAxpyS, off, d);
                VectorKernels.axpy(w[j], rows, off + j * stride, viaAxpyV, off, d);
            }
            float[] s = new float[off + d + 4];
            float[] v = new float[off + d + 4];
            java.util.Arrays.fill(s, 9f);
            java.util.Arrays.fill(v, 9f);
            float[] before = v.clone();
            ScalarKernels.weightedRowSum(w, rowsCount, rows, off, stride, d, s, off);
            VectorKernels.weightedRowSum(w, rowsCount, rows, off, stride, d, v, off);
            for (int c = 0; c < d; c++) {
                same(viaAxpyS[off + c], s[off + c], "scalar weightedRowSum, rows=" + rowsCount + " c=" + c);
                same(viaAxpyV[off + c], v[off + c], "vector weightedRowSum, rows=" + rowsCount + " c=" + c);
            }
            untouchedOutside(before, v, off, d, "vector weightedRowSum");
        }
    }

    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void elementwiseMatchTwin(int n, int off) {
        Random rnd = new Random(3000L * n + off);
        float[] a = gaussian(rnd, off, n, 2);
        float[] b = gaussian(rnd, off, n, 2);
        float alpha = (float) rnd.nextGaussian();

        // axpy
        float[] ys = gaussian(new Random(n), off + 1, n, 1);
        float[] yv = ys.clone();
        float[] y0 = ys.clone();
        ScalarKernels.axpy(alpha, a, off, ys, off + 1, n);
        VectorKernels.axpy(alpha, a, off, yv, off + 1, n);
        for (int i = 0; i < n; i++) {
            double exact = (double) alpha * a[off + i] + y0[off + 1 + i];
            double mag = Math.abs((double) alpha * a[off + i]) + Math.abs(y0[off + 1 + i]);
            close(exact, ys[off + 1 + i], U * mag, "scalar axpy vs float64 at " + i);
            close(ys[off + 1 + i], yv[off + 1 + i], 2 * U * mag, "vector axpy vs scalar at " + i);
        }
        untouchedOutside(y0, yv, off + 1, n, "vector axpy");

        // scale, add, mul: single IEEE operations, so bit-exact (also in place)
        float[] os = new float[off + n + 5];
        float[] ov = new float[off + n + 5];
        ScalarKernels.scale(alpha, a, off, os, off, n);
        VectorKernels.scale(alpha, a, off, ov, off, n);
        for (int i = 0; i < n; i++) {
            same(alpha * a[off + i], os[off + i], "scalar scale");
            same(os[off + i], ov[off + i], "vector scale");
        }
        untouchedOutside(new float[ov.length], ov, off, n, "vector scale");
        ScalarKernels.add(a, off, b, off, os, off, n);
        VectorKernels.add(a, off, b, off, ov, off, n);
        for (int i = 0; i < n; i++) {
            same(a[off + i] + b[off + i], os[off + i], "scalar add");
            same(os[off + i], ov[off + i], "vector add");
        }
        ScalarKernels.mul(a, off, b, off, os, off, n);
        VectorKernels.mul(a, off, b, off, ov, off, n);
        for (int i = 0; i < n; i++) {
            same(a[off + i] * b[off + i], os[off + i], "scalar mul");
            same(os[off + i], ov[off + i], "vector mul");
        }
        float[] inPlace = a.clone();
        VectorKernels.add(inPlace, off, b, off, inPlace, off, n);
        for (int i = 0; i < n; i++) {
            same(a[off + i] + b[off + i], inPlace[off + i], "vector add in place");
        }
    }

    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void rmsnormMatchesTwinAndFloat64(int n, int off) {
        if (n == 0) {
            return;
        }
        Random rnd = new Random(4000L * n + off);
        float[] x = gaussian(rnd, off, n, 5);
        float[] w = KernelTestData.uniform(rnd, n, 0.5, 1.5);
        float eps = 1e-5f;
        float[] os = new float[off + n + 5];
        float[] ov = new float[off + n + 5];
        ScalarKernels.rmsnorm(x, off, w, eps, os, off + 2, n);
        VectorKernels.rmsnorm(x, off, w, eps, ov, off + 2, n);
        double ss = 0;
        for (int i = 0; i < n; i++) {
            ss += (double) x[off + i] * x[off + i];
        }
        double inv = 1 / Math.sqrt(ss / n + eps);
        for (int i = 0; i < n; i++) {
            double exact = x[off + i] * inv * w[i];
            close(exact, os[off + 2 + i], 4 * U * Math.abs(exact) + 1e-30, "scalar rmsnorm vs float64 at " + i);
            close(os[off + 2 + i], ov[off + 2 + i], sumTol(n) * Math.abs(exact) + 1e-30, "vector rmsnorm vs scalar at " + i);
        }
        untouchedOutside(new float[ov.length], ov, off + 2, n, "vector rmsnorm");
        // in place gives the same result
        float[] xi = x.clone();
        VectorKernels.rmsnorm(xi, off, w, eps, xi, off, n);
        for (int i = 0; i < n; i++) {
            same(ov[off + 2 + i], xi[off + i], "vector rmsnorm in place");
        }
    }

    @ParameterizedTest(name = "rows={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 3, 17, 64, 200})
    void rmsnormRowsEqualsRowByRow(int rows) {
        int n = 257;
        Random rnd = new Random(rows);
        float[] x = gaussian(rnd, 0, rows * n, 1);
        float[] w = KernelTestData.uniform(rnd, n, 0.5, 1.5);
        float[] rowsOut = new float[rows * n + 1];
        float[] oneByOne = new float[rows * n + 1];
        VectorKernels.rmsnormRows(x, 0, w, 1e-6f, rowsOut, 1, rows, n);
        float[] scalarRows = new float[rows * n + 1];
        ScalarKernels.rmsnormRows(x, 0, w, 1e-6f, scalarRows, 1, rows, n);
        for (int r = 0; r < rows; r++) {
            VectorKernels.rmsnorm(x, r * n, w, 1e-6f, oneByOne, 1 + r * n, n);
        }
        for (int i = 0; i < rows * n; i++) {
            same(oneByOne[1 + i], rowsOut[1 + i], "vector rmsnorm rows at " + i);
            close(scalarRows[1 + i], rowsOut[1 + i], sumTol(n) * Math.abs(scalarRows[1 + i]) + 1e-30, "rows vs scalar at " + i);
        }
    }

    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void softmaxMatchesTwinAndFloat64(int n, int off) {
        Random rnd = new Random(5000L * n + off);
        float[] x = gaussian(rnd, off, n, 4);
        for (int i = 0; i < n; i += 5) {
            x[off + i] = Float.NEGATIVE_INFINITY; // masked scores
        }
        if (n > 1) {
            x[off + 1] = 100; // exp(100) would overflow float without the max subtraction
        }
        float[] xs = x.clone();
        float[] xv = x.clone();
        ScalarKernels.softmax(xs, off, n);
        VectorKernels.softmax(xv, off, n);
        float mx = ScalarKernels.max(x, off, n);
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += Math.exp((double) x[off + i] - mx);
        }
        double sumV = 0;
        for (int i = 0; i < n; i++) {
            double exact = mx == Float.NEGATIVE_INFINITY ? 0 : Math.exp((double) x[off + i] - mx) / total;
            close(exact, xs[off + i], 2 * U * exact + 1e-45, "scalar softmax vs float64 at " + i);
            double rel = (sumTol(n) + 2 * U + Math.abs((double) x[off + i] - mx) * U) * 2;
            if (x[off + i] == Float.NEGATIVE_INFINITY) {
                same(0f, xv[off + i], "vector softmax of -inf at " + i);
            } else {
                close(xs[off + i], xv[off + i], rel * exact + 1e-40, "vector softmax vs scalar at " + i);
            }
            sumV += xv[off + i];
        }
        if (n > 1) {
            close(1, sumV, sumTol(n) * 4, "vector softmax sums to 1");
        }
        untouchedOutside(x, xv, off, n, "vector softmax");

        // logSoftmax
        float[] ls = x.clone();
        float[] lv = x.clone();
        ScalarKernels.logSoftmax(ls, off, n);
        VectorKernels.logSoftmax(lv, off, n);
        for (int i = 0; i < n; i++) {
            if (x[off + i] == Float.NEGATIVE_INFINITY) {
                same(Float.NEGATIVE_INFINITY, ls[off + i], "scalar logSoftmax of -inf");
                same(Float.NEGATIVE_INFINITY, lv[off + i], "vector logSoftmax of -inf");
                continue;
            }
            double exact = (double) x[off + i] - mx - Math.log(total);
            close(exact, ls[off + i], U * Math.abs(exact) + 1e-30, "scalar logSoftmax vs float64 at " + i);
            double tol = (sumTol(n) + 2 * U + Math.abs((double) x[off + i] - mx) * U) * 2 + 4 * U * Math.abs(exact);
            close(ls[off + i], lv[off + i], tol, "vector logSoftmax vs scalar at " + i);
        }
    }

    @ParameterizedTest(name = "n={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 5, 16, 33})
    void softmaxOfAllMaskedRowIsZeros(int n) {
        float[] x = new float[n + 2];
        java.util.Arrays.fill(x, Float.NEGATIVE_INFINITY);
        float[] xs = x.clone();
        float[] ls = x.clone();
        float[] lv = x.clone();
        VectorKernels.softmax(x, 1, n);
        ScalarKernels.softmax(xs, 1, n);
        VectorKernels.logSoftmax(lv, 1, n);
        ScalarKernels.logSoftmax(ls, 1, n);
        for (int i = 1; i <= n; i++) {
            same(0f, x[i], "vector");
            same(0f, xs[i], "scalar");
            same(Float.NEGATIVE_INFINITY, lv[i], "vector log");
            same(Float.NEGATIVE_INFINITY, ls[i], "scalar log");
        }
        same(Float.NEGATIVE_INFINITY, x[0], "guard");
        same(Float.NEGATIVE_INFINITY, x[n + 1], "guard");
    }

    @ParameterizedTest(name = "n={0} off={1}")
    @MethodSource("cases")
    void activationsMatchTwinAndFloat64(int n, int off) {
        Random rnd = new Random(6000L * n + off);
        float[] x = gaussian(rnd, off, n, 4);
        // a few extreme inputs where exp overflows or underflows
        float[] extremes = {-100f, -88.5f, -20f, -1e-30f, 0f, -0f, 1e-30f, 20f, 88.5f, 100f, 1e4f, -1e4f};
        for (int i = 0; i < n && i < extremes.length; i++) {
            x[off + i * 7 % n] = extremes[i];
        }
        float[] up = gaussian(rnd, off, n, 1);
        float[] s = new float[off + n + 5];
        float[] v = new float[off + n + 5];

        ScalarKernels.silu(x, off, s, off, n);
        VectorKernels.silu(x, off, v, off, n);
        for (int i = 0; i < n; i++) {
            double xi = x[off + i];
            double exact = xi / (1 + Math.exp(-xi));
            close(exact, s[off + i], U * Math.abs(exact) + Float.MIN_VALUE, "scalar silu vs float64 at x=" + xi);
            close(s[off + i], v[off + i], 16 * U * Math.abs(exact) + 1e-37, "vector silu vs scalar at x=" + xi);
        }
        untouchedOutside(new float[v.length], v, off, n, "vector silu");

        ScalarKernels.swiglu(x, off, up, off, s, off, n);
        VectorKernels.swiglu(x, off, up, off, v, off, n);
        for (int i = 0; i < n; i++) {
            double xi = x[off + i];
            double exact = xi / (1 + Math.exp(-xi)) * up[off + i];
            close(exact, s[off + i], U * Math.abs(exact) + Float.MIN_VALUE, "scalar swiglu vs float64 at x=" + xi);
            close(s[off + i], v[off + i], 16 * U * Math.abs(exact) + 1e-37, "vector swiglu vs scalar at x=" + xi);
        }

        ScalarKernels.gelu(x, off, s, off, n);
        VectorKernels.gelu(x, off, v, off, n);
        for (int i = 0; i < n; i++) {
            double xi = x[off + i];
            double exact = 0.5 * xi * (1 + Erf.erf(xi / Math.sqrt(2)));
            close(exact, s[off + i], U * Math.abs(exact) + Float.MIN_VALUE, "scalar gelu vs float64 at x=" + xi);
            close(s[off + i], v[off + i], 1e-7 * Math.abs(xi) / 2 + 16 * U * Math.abs(exact), "vector gelu vs scalar at x=" + xi);
        }

        ScalarKernels.dsilu(x, off, s, off, n);
        VectorKernels.dsilu(x, off, v, off, n);
        for (int i = 0; i < n; i++) {
            double xi = x[off + i];
            double sg = 1 / (1 + Math.exp(-xi));
            double exact = sg * (1 + xi * (1 - sg));
            close(exact, s[off + i], U * Math.abs(exact) + Float.MIN_VALUE, "scalar dsilu vs float64 at x=" + xi);
            // the terms of s (1 + x (1 - s)) set the scale: silu' crosses zero near x = -1.278
            double terms = sg * (1 + Math.abs(xi) * (1 - sg));
            close(s[off + i], v[off + i], 16 * U * terms + 1e-37, "vector dsilu vs scalar at x=" + xi);
        }

        ScalarKernels.dgelu(x, off, s, off, n);
        VectorKernels.dgelu(x, off, v, off, n);
        for (int i = 0; i < n; i++) {
            double xi = x[off + i];
            double exact = 0.5 * (1 + Erf.erf(xi / Math.sqrt(2))) + xi * Math.exp(-xi * xi / 2) / Math.sqrt(2 * Math.PI);
            close(exact, s[off + i], U * Math.abs(exact) + Float.MIN_VALUE, "scalar dgelu vs float64 at x=" + xi);
            close(s[off + i], v[off + i], 1e-7 + 16 * U * Math.abs(exact), "vector dgelu vs scalar at x=" + xi);
        }

        // in place
        float[] xi = x.clone();
        VectorKernels.silu(xi, off, xi, off, n);
        VectorKernels.silu(x, off, v, off, n);
        for (int i = 0; i < n; i++) {
            same(v[off + i], xi[off + i], "silu in place");
        }
    }

    @ParameterizedTest(name = "headDim={0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 4, 6, 10, 16, 30, 32, 34, 64, 80, 96, 128, 256})
    void ropeMatchesTwinFloat64AndInverts(int headDim) {
        Random rnd = new Random(headDim);
        int half = headDim / 2;
        int nHeads = 3;
        int off = 5;
        int csOff = 2;
        int pos = 1234;
        float[] cos = new float[csOff + half];
        float[] sin = new float[csOff + half];
        for (int i = 0; i < half; i++) {
            double theta = pos * Math.pow(10000, -2.0 * i / headDim);
            cos[csOff + i] = (float) Math.cos(theta);
            sin[csOff + i] = (float) Math.sin(theta);
        }
        float[] x = gaussian(rnd, off, nHeads * headDim, 2);
        float[] xs = x.clone();
        float[] xv = x.clone();
        ScalarKernels.rope(cos, sin, csOff, xs, off, nHeads, headDim);
        VectorKernels.rope(cos, sin, csOff, xv, off, nHeads, headDim);
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < half; i++) {
                int lo = off + h * headDim + i;
                int hi = lo + half;
                double c = cos[csOff + i];
                double s = sin[csOff + i];
                double e1 = x[lo] * c - x[hi] * s;
                double e2 = x[hi] * c + x[lo] * s;
                double mag = Math.abs(x[lo]) + Math.abs(x[hi]);
                close(e1, xs[lo], U * Math.abs(e1) + 1e-30, "scalar rope first half");
                close(e2, xs[hi], U * Math.abs(e2) + 1e-30, "scalar rope second half");
                close(xs[lo], xv[lo], 4 * U * mag, "vector rope first half");
                close(xs[hi], xv[hi], 4 * U * mag, "vector rope second half");
            }
        }
        untouchedOutside(x, xv, off, nHeads * headDim, "vector rope");
        // inverse(rope(x)) = x up to rounding (cos^2 + sin^2 is 1 only to float precision)
        VectorKernels.ropeInverse(cos, sin, csOff, xv, off, nHeads, headDim);
        ScalarKernels.ropeInverse(cos, sin, csOff, xs, off, nHeads, headDim);
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < half; i++) {
                int lo = off + h * headDim + i;
                int hi = lo + half;
                double mag = Math.abs(x[lo]) + Math.abs(x[hi]);
                close(x[lo], xv[lo], 8 * U * mag, "vector inverse(rope(x)) = x");
                close(x[hi], xv[hi], 8 * U * mag, "vector inverse(rope(x)) = x");
                close(x[lo], xs[lo], 8 * U * mag, "scalar inverse(rope(x)) = x");
                close(x[hi], xs[hi], 8 * U * mag, "scalar inverse(rope(x)) = x");
            }
        }
    }
}
