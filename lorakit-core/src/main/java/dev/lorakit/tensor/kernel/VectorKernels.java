package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API versions of the element-wise, reduction, normalisation, activation and rotary
 * kernels on float[] activations (matrix-vector products live in {@link VectorMatVec}). Each
 * method has a scalar twin of the same name and arguments in {@link ScalarKernels}; callers go
 * through {@code dev.lorakit.tensor.ops.Ops}, which checks arguments and documents aliasing.
 *
 * <p>Loops run over whole vectors and finish the tail with a masked vector, so the tail gets the
 * same arithmetic as the body. Reductions keep four independent accumulators to hide FMA
 * latency. No method allocates on the heap in its loops.
 */
public final class VectorKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    private VectorKernels() {
    }

    // ---- BLAS-1 and element-wise -------------------------------------------------------------

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= n - 4 * L; i += 4 * L) {
            s0 = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), s0);
            s1 = FloatVector.fromArray(F, a, aOff + i + L).fma(FloatVector.fromArray(F, b, bOff + i + L), s1);
            s2 = FloatVector.fromArray(F, a, aOff + i + 2 * L).fma(FloatVector.fromArray(F, b, bOff + i + 2 * L), s2);
            s3 = FloatVector.fromArray(F, a, aOff + i + 3 * L).fma(FloatVector.fromArray(F, b, bOff + i + 3 * L), s3);
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            s0 = FloatVector.fromArray(F, a, aOff + i, m).fma(FloatVector.fromArray(F, b, bOff + i, m), s0);
        }
        return Lanes.sum(s0.add(s1).add(s2.add(s3)));
    }

    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector a = FloatVector.broadcast(F, alpha);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xOff + i).fma(a, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, xOff + i, m).fma(a, FloatVector.fromArray(F, y, yOff + i, m)).intoArray(y, yOff + i, m);
        }
    }

    public static void weightedRowSum(float[] w, int n, float[] rows, int rOff, int stride, int d, float[] out, int outOff) {
        int c = 0;
        for (; c <= d - 4 * L; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < n; j++) {
                FloatVector wj = FloatVector.broadcast(F, w[j]);
                int r = rOff + j * stride + c;
                a0 = FloatVector.fromArray(F, rows, r).fma(wj, a0);
                a1 = FloatVector.fromArray(F, rows, r + L).fma(wj, a1);
                a2 = FloatVector.fromArray(F, rows, r + 2 * L).fma(wj, a2);
                a3 = FloatVector.fromArray(F, rows, r + 3 * L).fma(wj, a3);
            }
            a0.intoArray(out, outOff + c);
            a1.intoArray(out, outOff + c + L);
            a2.intoArray(out, outOff + c + 2 * L);
            a3.intoArray(out, outOff + c + 3 * L);
        }
        for (; c < d; c += L) {
            VectorMask<Float> m = F.indexInRange(c, d);
            FloatVector a = FloatVector.zero(F);
            for (int j = 0; j < n; j++) {
                a = FloatVector.fromArray(F, rows, rOff + j * stride + c, m).fma(FloatVector.broadcast(F, w[j]), a);
            }
            a.intoArray(out, outOff + c, m);
        }
    }

    public static void scale(float alpha, float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(alpha).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, xOff + i, m).mul(alpha).intoArray(out, outOff + i, m);
        }
    }

    public static void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, a, aOff + i).add(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, a, aOff + i, m).add(FloatVector.fromArray(F, b, bOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    public static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, a, aOff + i).mul(FloatVector.fromArray(F, b, bOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, a, aOff + i, m).mul(FloatVector.fromArray(F, b, bOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    // ---- reductions ---------------------------------------------------------------------------

    public static float sum(float[] x, int off, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= n - 4 * L; i += 4 * L) {
            s0 = s0.add(FloatVector.fromArray(F, x, off + i));
            s1 = s1.add(FloatVector.fromArray(F, x, off + i + L));
            s2 = s2.add(FloatVector.fromArray(F, x, off + i + 2 * L));
            s3 = s3.add(FloatVector.fromArray(F, x, off + i + 3 * L));
        }
        for (; i < n; i += L) {
            s0 = s0.add(FloatVector.fromArray(F, x, off + i, F.indexInRange(i, n)));
        }
        return Lanes.sum(s0.add(s1).add(s2.add(s3)));
    }

    public static float max(float[] x, int off, int n) {
        FloatVector s0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= n - 4 * L; i += 4 * L) {
            s0 = s0.max(FloatVector.fromArray(F, x, off + i));
            s1 = s1.max(FloatVector.fromArray(F, x, off + i + L));
            s2 = s2.max(FloatVector.fromArray(F, x, off + i + 2 * L));
            s3 = s3.max(FloatVector.fromArray(F, x, off + i + 3 * L));
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            s0 = s0.lanewise(VectorOperators.MAX, FloatVector.fromArray(F, x, off + i, m), m);
        }
        return s0.max(s1).max(s2.max(s3)).reduceLanes(VectorOperators.MAX);
    }

    public static int argmax(float[] x, int off, int n) {
        float best = max(x, off, n);
        if (Float.isNaN(best)) {
            for (int i = 0; i < n; i++) {
                if (Float.isNaN(x[off + i])) {
                    return i;
                }
            }
        }
        for (int i = 0; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            VectorMask<Float> hit = FloatVector.fromArray(F, x, off + i, m).compare(VectorOperators.EQ, best, m);
            if (hit.anyTrue()) {
                return i + hit.firstTrue();
            }
        }
        throw new AssertionError("maximum " + best + " not found");
    }

    // ---- normalisation ------------------------------------------------------------------------

    public static void rmsnorm(float[] x, int xOff, float[] w, float eps, float[] out, int outOff, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i <= n - 4 * L; i += 4 * L) {
            FloatVector v0 = FloatVector.fromArray(F, x, xOff + i);
            FloatVector v1 = FloatVector.fromArray(F, x, xOff + i + L);
            FloatVector v2 = FloatVector.fromArray(F, x, xOff + i + 2 * L);
            FloatVector v3 = FloatVector.fromArray(F, x, xOff + i + 3 * L);
            s0 = v0.fma(v0, s0);
            s1 = v1.fma(v1, s1);
            s2 = v2.fma(v2, s2);
            s3 = v3.fma(v3, s3);
        }
        for (; i < n; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i, F.indexInRange(i, n));
            s0 = v.fma(v, s0);
        }
        float ss = Lanes.sum(s0.add(s1).add(s2.add(s3)));
        float inv = (float) (1.0 / Math.sqrt((double) ss / n + eps));
        i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, xOff + i).mul(inv).mul(FloatVector.fromArray(F, w, i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, xOff + i, m).mul(inv).mul(FloatVector.fromArray(F, w, i, m)).intoArray(out, outOff + i, m);
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
            java.util.Arrays.fill(x, off, off + n, 0f);
            return;
        }
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            FloatVector e0 = VectorExp.exp(FloatVector.fromArray(F, x, off + i).sub(mx));
            FloatVector e1 = VectorExp.exp(FloatVector.fromArray(F, x, off + i + L).sub(mx));
            e0.intoArray(x, off + i);
            e1.intoArray(x, off + i + L);
            s0 = s0.add(e0);
            s1 = s1.add(e1);
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector e = VectorExp.exp(FloatVector.fromArray(F, x, off + i, m).sub(mx));
            e.intoArray(x, off + i, m);
            s0 = s0.add(e, m);
        }
        float inv = 1f / Lanes.sum(s0.add(s1));
        scale(inv, x, off, x, off, n);
    }

    public static void logSoftmax(float[] x, int off, int n) {
        float mx = max(x, off, n);
        if (mx == Float.NEGATIVE_INFINITY) {
            return;
        }
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            s0 = s0.add(VectorExp.exp(FloatVector.fromArray(F, x, off + i).sub(mx)));
            s1 = s1.add(VectorExp.exp(FloatVector.fromArray(F, x, off + i + L).sub(mx)));
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = F.indexInRange(i, n);
            s0 = s0.add(VectorExp.exp(FloatVector.fromArray(F, x, off + i, m).sub(mx)), m);
        }
        float logSum = (float) Math.log(Lanes.sum(s0.add(s1)));
        i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(F, x, off + i).sub(mx).sub(logSum).intoArray(x, off + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            FloatVector.fromArray(F, x, off + i, m).sub(mx).sub(logSum).intoArray(x, off + i, m);
        }
    }

    // ---- activations --------------------------------------------------------------------------

    /** silu(x) = x * sigmoid(x) = x / (1 + exp(-x)). */
    static FloatVector silu(FloatVector x) {
        return x.div(VectorExp.exp(x.neg()).add(1f));
    }

    /** gelu(x) = x/2 * (1 + erf(x / sqrt 2)). */
    static FloatVector gelu(FloatVector x) {
        return x.mul(0.5f).mul(Erf.erf(x.mul(INV_SQRT2)).add(1f));
    }

    /**
     * silu'(x) = s (1 + x (1 - s)) with s = sigmoid(x). 1 - s is computed without cancellation:
     * as exp(-x) s for x &gt;= 0 (where s is near 1), as 1 - s for x &lt; 0 (where s &lt; 1/2).
     */
    static FloatVector dsilu(FloatVector x) {
        FloatVector e = VectorExp.exp(x.neg());
        FloatVector one = FloatVector.broadcast(x.species(), 1f);
        FloatVector s = one.div(e.add(one));
        FloatVector t = e.mul(s).blend(one.sub(s), x.compare(VectorOperators.LT, 0f));
        return x.fma(t, one).mul(s);
    }

    /** gelu'(x) = Phi(x) + x phi(x): Phi(x) = (1 + erf(x / sqrt 2)) / 2, phi(x) = exp(-x^2 / 2) / sqrt(2 pi). */
    static FloatVector dgelu(FloatVector x) {
        FloatVector cdf = Erf.erf(x.mul(INV_SQRT2)).add(1f).mul(0.5f);
        FloatVector pdf = VectorExp.exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI);
        return x.fma(pdf, cdf);
    }

    public static void silu(float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            silu(FloatVector.fromArray(F, x, xOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            silu(FloatVector.fromArray(F, x, xOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    public static void swiglu(float[] gate, int gateOff, float[] up, int upOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            silu(FloatVector.fromArray(F, gate, gateOff + i)).mul(FloatVector.fromArray(F, up, upOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            silu(FloatVector.fromArray(F, gate, gateOff + i, m)).mul(FloatVector.fromArray(F, up, upOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    public static void gelu(float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            gelu(FloatVector.fromArray(F, x, xOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            gelu(FloatVector.fromArray(F, x, xOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    public static void dsilu(float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            dsilu(FloatVector.fromArray(F, x, xOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            dsilu(FloatVector.fromArray(F, x, xOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    public static void dgelu(float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            dgelu(FloatVector.fromArray(F, x, xOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            dgelu(FloatVector.fromArray(F, x, xOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    public static void erf(float[] x, int xOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            Erf.erf(FloatVector.fromArray(F, x, xOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = F.indexInRange(i, n);
            Erf.erf(FloatVector.fromArray(F, x, xOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    // ---- rotary position embedding ------------------------------------------------------------

    public static void rope(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        rotate(cos, sin, csOff, 1f, x, xOff, nHeads, headDim);
    }

    public static void ropeInverse(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        rotate(cos, sin, csOff, -1f, x, xOff, nHeads, headDim);
    }

    /** Rotates the pairs (i, i + D/2) of every head by the angle whose sine is sign * sin[i]. */
    private static void rotate(float[] cos, float[] sin, int csOff, float sign, float[] x, int xOff, int nHeads, int headDim) {
        int half = headDim / 2;
        for (int h = 0; h < nHeads; h++) {
            int lo = xOff + h * headDim;
            int hi = lo + half;
            for (int i = 0; i < half; i += L) {
                VectorMask<Float> m = F.indexInRange(i, half);
                FloatVector c = FloatVector.fromArray(F, cos, csOff + i, m);
                FloatVector s = FloatVector.fromArray(F, sin, csOff + i, m).mul(sign);
                FloatVector x1 = FloatVector.fromArray(F, x, lo + i, m);
                FloatVector x2 = FloatVector.fromArray(F, x, hi + i, m);
                x1.fma(c, x2.mul(s).neg()).intoArray(x, lo + i, m);
                x2.fma(c, x1.mul(s)).intoArray(x, hi + i, m);
            }
        }
    }
}
