package dev.lorakit.tensor.ops;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.KernelMode;
import dev.lorakit.tensor.kernel.ScalarKernels;
import dev.lorakit.tensor.kernel.ScalarMatVec;
import dev.lorakit.tensor.kernel.VectorKernels;
import dev.lorakit.tensor.kernel.VectorMatVec;
import jdk.incubator.vector.FloatVector;

/**
 * The compute verbs of the transformer other than matmul, as one static facade: what is
 * computed, not how. Model, LoRA and training code call only these; each call goes to the
 * Vector API kernel or, with {@code -Dlorakit.kernels=scalar}, to its scalar twin
 * ({@link KernelMode}).
 *
 * <p>Conventions: activations are {@code float[]} with an element offset; weights are
 * {@link Tensor}s of dtype F32, BF16, F16, Q8_0 or Q4_0 (heap or memory-mapped), shaped [N, K] as
 * PyTorch stores a Linear weight ([out, in]); a block-quantized weight is read block by block
 * (see {@code dev.lorakit.tensor.quant}) and gives the same result as its dequantized F32 copy
 * would, up to summation order. Inputs come first, the output last, sizes at the end
 * (scalars such as {@code alpha} lead, as in BLAS). Every range is bounds-checked up front.
 *
 * <p>Aliasing: where a method says "in place allowed", an output may be the very same range as
 * an input (same array, same offset); any other overlap of an output with an input is rejected
 * with {@link IllegalArgumentException}, as is every overlap where in-place is not allowed.
 *
 * <p>Threads: the matrix-vector products and {@link #rmsnormRows} split their work over
 * {@link dev.lorakit.tensor.Parallel} (inline when called from a pool worker); the rest run on
 * the calling thread. All methods are safe to call concurrently on disjoint outputs.
 *
 * <p>Accuracy: the vector kernels sum in float32 lanes with several accumulators; their scalar
 * twins sum in float64. Results agree to within a few float ulps of the magnitudes involved
 * (for sums: of the sum of absolute terms); the tests state the exact tolerance per kernel.
 */
public final class Ops {
    private Ops() {
    }

    /** Which kernels run: "scalar", or "vector (N-bit, M float lanes)". */
    public static String kernels() {
        if (KernelMode.SCALAR) {
            return "scalar";
        }
        return "vector (" + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit, "
                + FloatVector.SPECIES_PREFERRED.length() + " float lanes)";
    }

    // ---- BLAS-1 and element-wise -------------------------------------------------------------

    /** sum_i a[aOff+i] * b[bOff+i] for i &lt; n. The two ranges may overlap (nothing is written). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        checkRange("a", a, aOff, n);
        checkRange("b", b, bOff, n);
        return KernelMode.SCALAR ? ScalarKernels.dot(a, aOff, b, bOff, n) : VectorKernels.dot(a, aOff, b, bOff, n);
    }

    /** y[yOff+i] += alpha * x[xOff+i] for i &lt; n. x and y must not overlap. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        checkRange("x", x, xOff, n);
        checkRange("y", y, yOff, n);
        checkDisjoint("x", x, xOff, n, "y", y, yOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.axpy(alpha, x, xOff, y, yOff, n);
        } else {
            VectorKernels.axpy(alpha, x, xOff, y, yOff, n);
        }
    }

    /**
     * out[outOff+c] = sum over j &lt; n of w[j] * rows[rOff + j*stride + c], for c &lt; d: a weighted
     * sum of n rows of width d that lie stride apart (attention's sum of value rows). The terms
     * are added in order of j, exactly as n {@link #axpy} calls into a zeroed out would, but with
     * out held in registers. out must not overlap rows or w.
     */
    public static void weightedRowSum(float[] w, int n, float[] rows, int rOff, int stride, int d, float[] out, int outOff) {
        if (n < 0 || d < 0 || stride < d) {
            throw new IllegalArgumentException("weightedRowSum: need n >= 0, d >= 0 and stride >= d, got n=" + n
                    + ", d=" + d + ", stride=" + stride);
        }
        checkRange("w", w, 0, n);
        long extent = n == 0 ? 0 : (long) (n - 1) * stride + d;
        checkRange("rows", rows, rOff, extent);
        checkRange("out", out, outOff, d);
        checkDisjoint("rows", rows, rOff, extent, "out", out, outOff, d);
        checkDisjoint("w", w, 0, n, "out", out, outOff, d);
        if (KernelMode.SCALAR) {
            ScalarKernels.weightedRowSum(w, n, rows, rOff, stride, d, out, outOff);
        } else {
            VectorKernels.weightedRowSum(w, n, rows, rOff, stride, d, out, outOff);
        }
    }

    /** out[outOff+i] = alpha * x[xOff+i] for i &lt; n. In place allowed. */
    public static void scale(float alpha, float[] x, int xOff, float[] out, int outOff, int n) {
        checkRange("x", x, xOff, n);
        checkRange("out", out, outOff, n);
        checkInPlaceOrDisjoint("x", x, xOff, "out", out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.scale(alpha, x, xOff, out, outOff, n);
        } else {
            VectorKernels.scale(alpha, x, xOff, out, outOff, n);
        }
    }

    /** out = a + b element-wise over n elements (residual connections). In place allowed (out = a or b). */
    public static void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        checkBinary(a, aOff, b, bOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.add(a, aOff, b, bOff, out, outOff, n);
        } else {
            VectorKernels.add(a, aOff, b, bOff, out, outOff, n);
        }
    }

    /** out = a * b element-wise over n elements. In place allowed (out = a or b). */
    public static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        checkBinary(a, aOff, b, bOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.mul(a, aOff, b, bOff, out, outOff, n);
        } else {
            VectorKernels.mul(a, aOff, b, bOff, out, outOff, n);
        }
    }

    // ---- reductions ---------------------------------------------------------------------------

    /** sum of x[off .. off+n); 0 for n = 0. */
    public static float sum(float[] x, int off, int n) {
        checkRange("x", x, off, n);
        return KernelMode.SCALAR ? ScalarKernels.sum(x, off, n) : VectorKernels.sum(x, off, n);
    }

    /** Largest of x[off .. off+n); NaN if any element is NaN; -infinity for n = 0. */
    public static float max(float[] x, int off, int n) {
        checkRange("x", x, off, n);
        return KernelMode.SCALAR ? ScalarKernels.max(x, off, n) : VectorKernels.max(x, off, n);
    }

    /**
     * Index (relative to off) of the first largest element of x[off .. off+n); a NaN counts as
     * larger than any number (the first NaN wins), -0.0 and 0.0 count as equal. n must be &gt; 0.
     */
    public static int argmax(float[] x, int off, int n) {
        checkRange("x", x, off, n);
        if (n == 0) {
            throw new IllegalArgumentException("argmax of an empty range");
        }
        return KernelMode.SCALAR ? ScalarKernels.argmax(x, off, n) : VectorKernels.argmax(x, off, n);
    }

    // ---- matrix-vector products -----------------------------------------------------------------

    /**
     * True when row-interleaved Q8_0_R32 / Q4_0_R32 weights have fast kernels here (vector kernels
     * with 16 float lanes); elsewhere they still work, through the scalar twins.
     */
    public static boolean rowInterleavedKernels() {
        return !KernelMode.SCALAR && VectorMatVec.rowGroupKernels();
    }

    /**
     * y[N] = W[N, K] x[K]: {@code y[yOff+n] = sum_k W[n,k] x[xOff+k]}. W is F32, BF16, F16, Q8_0 or Q4_0;
     * multi-threaded over rows. x and y must not overlap.
     */
    public static void matvec(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        checkWeight(w);
        checkMatVec(x, xOff, w.dim(1), y, yOff, w.dim(0));
        if (KernelMode.SCALAR) {
            ScalarMatVec.matvec(w, x, xOff, y, yOff);
        } else {
            VectorMatVec.matvec(w, x, xOff, y, yOff);
        }
    }

    /**
     * y[B, N] = x[B, K] W^T for a small batch B (decode of several sequences at once): row b of
     * x is {@code x[xOff + b*K ..]}, row b of y is {@code y[yOff + b*N ..]}. Each weight row is
     * streamed from memory once for all B inputs. x and y must not overlap.
     */
    public static void matvecBatch(Tensor w, float[] x, int xOff, float[] y, int yOff, int batch) {
        if (batch < 0) {
            throw new IllegalArgumentException("negative batch " + batch);
        }
        checkWeight(w);
        checkMatVec(x, xOff, (long) batch * w.dim(1), y, yOff, (long) batch * w.dim(0));
        if (KernelMode.SCALAR) {
            ScalarMatVec.matvecBatch(w, x, xOff, y, yOff, batch);
        } else {
            VectorMatVec.matvecBatch(w, x, xOff, y, yOff, batch);
        }
    }

    /**
     * y[K] = W[N, K]^T x[N] (the backward of {@link #matvec} with respect to its input):
     * {@code y[yOff+k] = sum_n W[n,k] x[xOff+n]}, overwriting y. x and y must not overlap.
     */
    public static void matvecTransposed(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        transposed(w, x, xOff, y, yOff, false);
    }

    /** y[K] += W[N, K]^T x[N]: as {@link #matvecTransposed} but accumulating into y (dX += W^T dY). */
    public static void matvecTransposedAdd(Tensor w, float[] x, int xOff, float[] y, int yOff) {
        transposed(w, x, xOff, y, yOff, true);
    }

    private static void transposed(Tensor w, float[] x, int xOff, float[] y, int yOff, boolean accumulate) {
        checkWeight(w);
        checkMatVec(x, xOff, w.dim(0), y, yOff, w.dim(1));
        if (KernelMode.SCALAR) {
            ScalarMatVec.matvecTransposed(w, x, xOff, y, yOff, accumulate);
        } else {
            VectorMatVec.matvecTransposed(w, x, xOff, y, yOff, accumulate);
        }
    }

    // ---- normalisation ------------------------------------------------------------------------

    /**
     * RMSNorm of one row of width n: {@code out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]} with
     * w[0 .. n) the norm weight. In place allowed (out = x); w must not overlap out.
     */
    public static void rmsnorm(float[] x, int xOff, float[] w, float eps, float[] out, int outOff, int n) {
        checkRmsnorm(x, xOff, w, out, outOff, 1, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.rmsnorm(x, xOff, w, eps, out, outOff, n);
        } else {
            VectorKernels.rmsnorm(x, xOff, w, eps, out, outOff, n);
        }
    }

    /**
     * {@link #rmsnorm} of {@code rows} contiguous rows of width n (row r at {@code xOff + r*n}
     * and {@code outOff + r*n}), multi-threaded over rows when there are many. In place allowed.
     */
    public static void rmsnormRows(float[] x, int xOff, float[] w, float eps, float[] out, int outOff, int rows, int n) {
        checkRmsnorm(x, xOff, w, out, outOff, rows, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.rmsnormRows(x, xOff, w, eps, out, outOff, rows, n);
        } else {
            VectorKernels.rmsnormRows(x, xOff, w, eps, out, outOff, rows, n);
        }
    }

    /**
     * Softmax of x[off .. off+n) in place, max-subtracted so large scores do not overflow.
     * -infinity entries (masked scores) get probability 0. A row that is entirely -infinity
     * (everything masked) becomes all zeros, not NaN. A NaN or +infinity entry makes the row NaN.
     */
    public static void softmax(float[] x, int off, int n) {
        checkRange("x", x, off, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.softmax(x, off, n);
        } else {
            VectorKernels.softmax(x, off, n);
        }
    }

    /**
     * log(softmax(x)) of x[off .. off+n) in place: {@code x[i] - max - log(sum exp(x - max))}.
     * -infinity entries stay -infinity; an all -infinity row stays all -infinity (consistent with
     * {@link #softmax} giving zeros). A NaN or +infinity entry makes the row NaN.
     */
    public static void logSoftmax(float[] x, int off, int n) {
        checkRange("x", x, off, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.logSoftmax(x, off, n);
        } else {
            VectorKernels.logSoftmax(x, off, n);
        }
    }

    // ---- activations --------------------------------------------------------------------------

    /** out = silu(x) = x / (1 + exp(-x)) element-wise. In place allowed. */
    public static void silu(float[] x, int xOff, float[] out, int outOff, int n) {
        checkUnary(x, xOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.silu(x, xOff, out, outOff, n);
        } else {
            VectorKernels.silu(x, xOff, out, outOff, n);
        }
    }

    /** out = silu(gate) * up element-wise (the Llama MLP). In place allowed (out = gate or up). */
    public static void swiglu(float[] gate, int gateOff, float[] up, int upOff, float[] out, int outOff, int n) {
        checkBinary(gate, gateOff, up, upOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.swiglu(gate, gateOff, up, upOff, out, outOff, n);
        } else {
            VectorKernels.swiglu(gate, gateOff, up, upOff, out, outOff, n);
        }
    }

    /** out = gelu(x) = x/2 (1 + erf(x / sqrt 2)) element-wise (exact erf, not the tanh form). In place allowed. */
    public static void gelu(float[] x, int xOff, float[] out, int outOff, int n) {
        checkUnary(x, xOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.gelu(x, xOff, out, outOff, n);
        } else {
            VectorKernels.gelu(x, xOff, out, outOff, n);
        }
    }

    /** out = silu'(x) = s (1 + x (1 - s)) with s = sigmoid(x), element-wise. In place allowed. */
    public static void dsilu(float[] x, int xOff, float[] out, int outOff, int n) {
        checkUnary(x, xOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.dsilu(x, xOff, out, outOff, n);
        } else {
            VectorKernels.dsilu(x, xOff, out, outOff, n);
        }
    }

    /** out = gelu'(x) = Phi(x) + x phi(x) (normal cdf and pdf), element-wise. In place allowed. */
    public static void dgelu(float[] x, int xOff, float[] out, int outOff, int n) {
        checkUnary(x, xOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.dgelu(x, xOff, out, outOff, n);
        } else {
            VectorKernels.dgelu(x, xOff, out, outOff, n);
        }
    }

    /** out = erf(x) element-wise (absolute error below 1e-7). In place allowed. */
    public static void erf(float[] x, int xOff, float[] out, int outOff, int n) {
        checkUnary(x, xOff, out, outOff, n);
        if (KernelMode.SCALAR) {
            ScalarKernels.erf(x, xOff, out, outOff, n);
        } else {
            VectorKernels.erf(x, xOff, out, outOff, n);
        }
    }

    // ---- rotary position embedding ------------------------------------------------------------

    /**
     * Applies RoPE in place to nHeads contiguous heads of width headDim starting at x[xOff],
     * in the Hugging Face rotate_half convention: for i &lt; D/2 the pair (i, i + D/2) becomes
     * {@code x[i] cos[i] - x[i+D/2] sin[i]}, {@code x[i+D/2] cos[i] + x[i] sin[i]}, with
     * cos/sin = cos[csOff ..], sin[csOff ..] of length D/2 precomputed for this position.
     * x must not overlap cos or sin.
     */
    public static void rope(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        checkRope(cos, sin, csOff, x, xOff, nHeads, headDim);
        if (KernelMode.SCALAR) {
            ScalarKernels.rope(cos, sin, csOff, x, xOff, nHeads, headDim);
        } else {
            VectorKernels.rope(cos, sin, csOff, x, xOff, nHeads, headDim);
        }
    }

    /**
     * The inverse of {@link #rope} (rotation by -theta), which is also its backward: the
     * gradient with respect to RoPE's input is the transposed rotation of the output gradient.
     */
    public static void ropeInverse(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        checkRope(cos, sin, csOff, x, xOff, nHeads, headDim);
        if (KernelMode.SCALAR) {
            ScalarKernels.ropeInverse(cos, sin, csOff, x, xOff, nHeads, headDim);
        } else {
            VectorKernels.ropeInverse(cos, sin, csOff, x, xOff, nHeads, headDim);
        }
    }

    // ---- argument checks ----------------------------------------------------------------------

    private static void checkRange(String name, float[] a, int off, long n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative length " + n + " for " + name);
        }
        if (off < 0 || off + n > a.length) {
            throw new IndexOutOfBoundsException(name + ": range [" + off + ", " + (off + n)
                    + ") is outside an array of length " + a.length);
        }
    }

    private static boolean overlap(float[] a, int aOff, long aLen, float[] b, int bOff, long bLen) {
        return a == b && aLen > 0 && bLen > 0 && aOff < bOff + bLen && bOff < aOff + aLen;
    }

    private static void checkDisjoint(String aName, float[] a, int aOff, long aLen, String bName, float[] b, int bOff, long bLen) {
        if (overlap(a, aOff, aLen, b, bOff, bLen)) {
            throw new IllegalArgumentException(aName + " [" + aOff + ", " + (aOff + aLen) + ") and " + bName
                    + " [" + bOff + ", " + (bOff + bLen) + ") overlap in the same array");
        }
    }

    /** Allows out to be exactly the input range; rejects partial overlaps. */
    private static void checkInPlaceOrDisjoint(String inName, float[] in, int inOff, String outName, float[] out, int outOff, int n) {
        if (in == out && inOff == outOff) {
            return;
        }
        checkDisjoint(inName, in, inOff, n, outName, out, outOff, n);
    }

    private static void checkUnary(float[] x, int xOff, float[] out, int outOff, int n) {
        checkRange("x", x, xOff, n);
        checkRange("out", out, outOff, n);
        checkInPlaceOrDisjoint("x", x, xOff, "out", out, outOff, n);
    }

    private static void checkBinary(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        checkRange("a", a, aOff, n);
        checkRange("b", b, bOff, n);
        checkRange("out", out, outOff, n);
        checkInPlaceOrDisjoint("a", a, aOff, "out", out, outOff, n);
        checkInPlaceOrDisjoint("b", b, bOff, "out", out, outOff, n);
    }

    private static void checkWeight(Tensor w) {
        if (w.shape().rank() != 2) {
            throw new IllegalArgumentException("matvec needs a rank-2 weight [N, K], got " + w);
        }
        DType dt = w.dtype();
        if (dt != DType.F32 && dt != DType.BF16 && dt != DType.F16 && !dt.isQuantized()) {
            throw new IllegalArgumentException("matvec needs F32, BF16, F16, Q8_0 or Q4_0 weights, got " + w);
        }
    }

    private static void checkMatVec(float[] x, int xOff, long xLen, float[] y, int yOff, long yLen) {
        checkRange("x", x, xOff, xLen);
        checkRange("y", y, yOff, yLen);
        checkDisjoint("x", x, xOff, xLen, "y", y, yOff, yLen);
    }

    private static void checkRmsnorm(float[] x, int xOff, float[] w, float[] out, int outOff, int rows, int n) {
        if (rows < 0) {
            throw new IllegalArgumentException("negative row count " + rows);
        }
        long total = (long) rows * n;
        checkRange("x", x, xOff, total);
        checkRange("out", out, outOff, total);
        checkRange("w", w, 0, n);
        if (!(x == out && xOff == outOff)) {
            checkDisjoint("x", x, xOff, total, "out", out, outOff, total);
        }
        checkDisjoint("w", w, 0, n, "out", out, outOff, total);
    }

    private static void checkRope(float[] cos, float[] sin, int csOff, float[] x, int xOff, int nHeads, int headDim) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("RoPE head dimension must be positive and even, got " + headDim);
        }
        if (nHeads < 0) {
            throw new IllegalArgumentException("negative head count " + nHeads);
        }
        long total = (long) nHeads * headDim;
        checkRange("x", x, xOff, total);
        checkRange("cos", cos, csOff, headDim / 2);
        checkRange("sin", sin, csOff, headDim / 2);
        checkDisjoint("cos", cos, csOff, headDim / 2, "x", x, xOff, total);
        checkDisjoint("sin", sin, csOff, headDim / 2, "x", x, xOff, total);
    }
}
