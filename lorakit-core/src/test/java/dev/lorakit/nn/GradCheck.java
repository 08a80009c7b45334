package dev.lorakit.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * Test helpers for the gradient checks: seeded random data, float64 copies, central finite
 * differences of a float64 reference, and a normwise relative comparison.
 *
 * <p>Error measure used by every assertion here: {@code max_i |actual_i - expected_i| / max_i |expected_i|}
 * (relative to the largest expected entry, so entries near zero do not need a per-element
 * tolerance).
 */
final class GradCheck {
    /** Step of the central differences: truncation ~1e-12 and rounding ~1e-10 relative in float64. */
    static final double EPS = 1e-6;
    /** Tolerance of a float32 forward against the float64 reference (observed: below 3e-7). */
    static final double FORWARD_TOL = 1e-5;
    /**
     * Tolerance of a float32 layer backward against float64 finite differences (observed: about
     * 1e-6 at worst; a gradient off by a factor 1.001 fails).
     */
    static final double GRAD_TOL = 2e-5;

    private GradCheck() {
    }

    static float[] randn(Random rnd, int n) {
        return randn(rnd, n, 1.0);
    }

    static float[] randn(Random rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (scale * rnd.nextGaussian());
        }
        return a;
    }

    static double[] d(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    /** The stored values of a tensor (F32/BF16/F16) as float64: what the kernels compute with. */
    static double[] d(Tensor t) {
        double[] out = new double[(int) t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloat(i);
        }
        return out;
    }

    /** A weight [rows, cols] of random values stored in dtype (rounded to it). */
    static Tensor weight(Random rnd, DType dtype, int rows, int cols, double scale) {
        return Tensor.ofFloats(randn(rnd, rows * cols, scale), rows, cols).to(dtype);
    }

    /** sum_i w_i * y_i: the random linear functional L = sum(dOut * out). */
    static double dot(float[] w, double[] y) {
        double s = 0;
        for (int i = 0; i < y.length; i++) {
            s += w[i] * y[i];
        }
        return s;
    }

    /**
     * Central finite differences of loss() with respect to every entry of p (which loss() reads),
     * restoring p afterwards.
     */
    static double[] numeric(double[] p, DoubleSupplier loss) {
        double[] g = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + EPS;
            double up = loss.getAsDouble();
            p[i] = keep - EPS;
            double down = loss.getAsDouble();
            p[i] = keep;
            g[i] = (up - down) / (2 * EPS);
        }
        return g;
    }

    /** Central finite differences at the given entries of p only (for larger shapes). */
    static double[] numeric(double[] p, int[] at, DoubleSupplier loss) {
        double[] g = new double[at.length];
        for (int j = 0; j < at.length; j++) {
            int i = at[j];
            double keep = p[i];
            p[i] = keep + EPS;
            double up = loss.getAsDouble();
            p[i] = keep - EPS;
            double down = loss.getAsDouble();
            p[i] = keep;
            g[j] = (up - down) / (2 * EPS);
        }
        return g;
    }

    /** count distinct random indices below n (all of them when count >= n). */
    static int[] sample(Random rnd, int n, int count) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return java.util.Arrays.copyOf(idx, Math.min(n, count));
    }

    /** a[at[j]] for every j. */
    static float[] pick(float[] a, int[] at) {
        float[] out = new float[at.length];
        for (int j = 0; j < at.length; j++) {
            out[j] = a[at[j]];
        }
        return out;
    }

    static double[] scaled(double k, double[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = k * a[i];
        }
        return out;
    }

    /** actual - prior element-wise (what one or more backward calls added), in float64. */
    static float[] added(float[] actual, float[] prior) {
        float[] out = new float[actual.length];
        for (int i = 0; i < actual.length; i++) {
            out[i] = (float) ((double) actual[i] - prior[i]);
        }
        return out;
    }

    /** Normwise relative error of actual (the first expected.length entries) against expected. */
    static double error(double[] expected, float[] actual) {
        double maxRef = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
        }
        return maxDiff / Math.max(maxRef, 1e-12);
    }

    static void assertClose(String what, double[] expected, float[] actual, double tol) {
        assertTrue(actual.length >= expected.length, what + ": " + actual.length + " values for " + expected.length);
        double err = error(expected, actual);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
