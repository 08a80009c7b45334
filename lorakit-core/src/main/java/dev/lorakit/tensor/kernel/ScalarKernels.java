package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.Parallel;
import java.util.Arrays;

/**
 * Plain-Java twins of {@link VectorKernels}: same names, same arguments, same results up to
 * rounding. They are the reference the vector kernels are tested against and what
 * {@code -Dlorakit.kernels=scalar} runs. Reductions and transcendental functions are computed
 * in float64 and rounded once, so these twins are usually the more accurate of the two.
 */
public final class ScalarKernels {
    private static final double INV_SQRT2 = 1 / Math.sqrt(2);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    private ScalarKernels() {
    }

    // ---- BLAS-1 and element-wise -------------------------------------------------------------

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[aOff + i] * b[bOff + i];
        }
        return (float) s;
    }

    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] = (float) ((double) alpha * x[xOff + i] + y[yOff + i]);
        }
    }

    public static void weightedRowSum(float[] w, int n, float[] rows, int rOff, int stride, int d, float[] out, int outOff) {
        for (int c = 0; c < d; c++) {
            float s = 0f;
            for (int j = 0; j < n; j++) {
                s = (float) ((double) w[j] * rows[rOff + j * stride + c] + s);
            }
            out[outOff + c] = s;
        }
    }

    public static void scale(float alpha, float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = alpha * x[xOff + i];
        }
    }

    public static void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] + b[bOff + i];
        }
    }

    public static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] * b[bOff + i];
        }
    }

    // ---- reductions ---------------------------------------------------------------------------

    public static float sum(float[] x, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x[off + i];
        }
        return (float) s;
    }

    public static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    public static int argmax(float[] x, int off, int n) {
        float best = max(x, off, n);
        for (int i = 0; i < n; i++) {
            float v = x[off + i];
            if (v == best || (Float.isNaN(best) && Float.isNaN(v))) {
                return i;
            }
        }
        throw new AssertionError("maximum " + best + " not found");
    }

    // ---- normalisation ------------------------------------------------------------------------

    public static void rmsnorm(float[] x, int xOff, float[] w, float eps, float[] out, int outOff, int n) {
        double ss = 0;
        for (int i = 0; i < n; i++) {
            double v = x[xOff + i];
            ss += v * v;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * w[i];
        }
    }

    public static void rmsnormRows(float[] x, int xOff, float[] w, float eps, float[] out, int outOff, int rows, int n) {
        Parallel.forRange(rows, ParallelGrain.rowsPerChunk(n), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                rmsnorm(x, xOff + r * n, w, eps, out, outOff + r * n, n);
            }
        });
    }

    public static void softmax(float[] x, int off, int n) {
        float mx = max(x, off, n);
        if (mx == Float.NEGATIVE_INFINITY) {
            Arrays.fill(x, off, off + n, 0f);
            return;
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.exp((double) x[off + i] - mx);
        }
        for (int i = 0; i < n; i++) {
            x[off + i] = (float) (Math.exp((double) x[off + i] - mx) / s);
        }
    }

    public static void logSoftmax(float[] x, int off, int n) {
        float mx = max(x, off, n);
        if (mx == Float.NEGATIVE_INFINITY) {
            return;
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.exp((double) x[off + i] - mx);
        }
        double lse = mx + Math.log(s);
        for (int i = 0; i < n; i++) {
            x[off + i] = (float) (x[off + i] - lse);
        }
    }

    // ---- activations --------------------------------------------------------------------------

    static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + Erf.erf(x * INV_SQRT2));
    }

    static double dsilu(double x) {
        double s = 1 / (1 + Math.exp(-x));
        return s * (1 + x * (1 - s));
    }

    static double dgelu(double x) {
        return 0.5 * (1 + Erf.erf(x * INV_SQRT2)) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
    }

    public static void silu(float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) silu(x[xOff + i]);
        }
    }

    public static void swiglu(float[] gate, int gateOff, float[] up, int upOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) (silu(gate[gateOff + i]) * up[upOff + i]);
        }
    }

    public static void gelu(float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) gelu(x[xOff + i]);
        }
    }

    public static void dsilu(float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) dsilu(x[xOff + i]);
        }
    }

    public static void dgelu(float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) dgelu(x[xOff + i]);
        }
    }

    public static void erf(float[] x, int xOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) Erf.erf(x[xOff + i]);
        }
    }

    // ---- rotary position embedding ------------------------------------------------------------

    public static void rope(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        rotate(cos, sin, csOff, 1, x, xOff, nHeads, headDim);
    }

    public static void ropeInverse(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        rotate(cos, sin, csOff, -1, x, xOff, nHeads, headDim);
    }

    private static void rotate(float[] cos, float[] sin, int csOff, double sign, float[] x, int xOff, int nHeads, int headDim) {
        int half = headDim / 2;
        for (int h = 0; h < nHeads; h++) {
            int lo = xOff + h * headDim;
            int hi = lo + half;
            for (int i = 0; i < half; i++) {
                double c = cos[csOff + i];
                double s = sign * sin[csOff + i];
                double x1 = x[lo + i];
                double x2 = x[hi + i];
                x[lo + i] = (float) (x1 * c - x2 * s);
                x[hi + i] = (float) (x2 * c + x1 * s);
            }
        }
    }
}
