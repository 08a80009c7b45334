package dev.lorakit.io.peft;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The LoRA of one linear module: factors A [R, in] and B [out, R] (stored dtype, possibly
 * memory-mapped) and the scaling PEFT applies, so that the module's weight update is
 * {@code dW = scaling * B A} [out, in] and its forward pass {@code y = W x + scaling * B (A x)}.
 *
 * <p>Legend: R rank, in input features, out output features.
 *
 * @param name module name relative to the base model, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param a factor A [R, in], F32/F16/BF16
 * @param b factor B [out, R], F32/F16/BF16
 * @param alpha the module's alpha (after alpha_pattern)
 * @param scaling the module's scaling, alpha / R (alpha / sqrt(R) with rsLoRA)
 * @param fanInFanOut the config's fan_in_fan_out: the base weight is stored [in, out], so the update
 *     applies transposed. PEFT forces it to false for nn.Linear (every Llama-family module).
 */
public record LoraModule(String name, Tensor a, Tensor b, double alpha, double scaling, boolean fanInFanOut) {
    private static final int A_COLUMN_CHUNK = 2048;
    private static final int B_CHUNK_FLOATS = 8192;

    public LoraModule {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("module name is empty");
        }
        if (a.shape().rank() != 2 || b.shape().rank() != 2) {
            throw new IllegalArgumentException(name + ": lora_A " + a.shape() + " and lora_B " + b.shape()
                    + " must both be matrices ([r, in] and [out, r])");
        }
        if (a.dim(0) != b.dim(1)) {
            throw new IllegalArgumentException(name + ": lora_A " + a.shape() + " has " + a.dim(0)
                    + " rows but lora_B " + b.shape() + " has " + b.dim(1) + " columns; both must equal the rank");
        }
        if (a.dim(0) == 0 || a.dim(1) == 0 || b.dim(0) == 0) {
            throw new IllegalArgumentException(name + ": lora_A " + a.shape() + " and lora_B " + b.shape()
                    + " must have no empty dimension");
        }
        if (!a.dtype().isCompute() || !b.dtype().isCompute()) {
            throw new IllegalArgumentException(name + ": lora_A is " + a.dtype() + " and lora_B is " + b.dtype()
                    + "; expected F32, F16 or BF16");
        }
        if (!Double.isFinite(alpha) || !Double.isFinite(scaling)) {
            throw new IllegalArgumentException(name + ": alpha " + alpha + " and scaling " + scaling + " must be finite");
        }
    }

    /**
     * A module whose alpha, scaling and fan_in_fan_out come from the config; the factors' rank
     * must be the rank the config gives this module.
     */
    public static LoraModule of(String name, Tensor a, Tensor b, LoraConfig config) {
        int expected = config.rank(name);
        if (a.shape().rank() == 2 && a.dim(0) != expected) {
            throw new IllegalArgumentException(name + ": lora_A " + a.shape() + " has rank " + a.dim(0)
                    + " but the config gives this module rank " + expected);
        }
        return new LoraModule(name, a, b, config.alpha(name), config.scaling(name), config.fanInFanOut());
    }

    /** The rank R (rows of A, columns of B). */
    public int rank() {
        return a.dim(0);
    }

    /** Input features of the module (columns of A). */
    public int inFeatures() {
        return a.dim(1);
    }

    /** Output features of the module (rows of B). */
    public int outFeatures() {
        return b.dim(0);
    }

    /** Number of LoRA parameters: R * (in + out). */
    public long parameterCount() {
        return a.size() + b.size();
    }

    /** Bytes of the two factors in their stored dtypes. */
    public long byteSize() {
        return a.byteSize() + b.byteSize();
    }

    /**
     * {@code ||scaling * B A||_F} without forming B A: with the R x R Gram matrices
     * {@code G_A = A A^T} and {@code G_B = B^T B}, {@code ||B A||_F^2 = trace(G_B G_A)}
     * = sum_ij G_B[i][j] G_A[i][j]. Cost O(R^2 (in + out)), float64 accumulation.
     */
    public double deltaFrobeniusNorm() {
        int r = rank();
        double[] gramA = rowGram(a);    // [R, R]
        double[] gramB = columnGram(b); // [R, R]
        double trace = 0;
        for (int i = 0; i < r * r; i++) {
            trace += gramA[i] * gramB[i];
        }
        return Math.abs(scaling) * Math.sqrt(Math.max(trace, 0));
    }

    /** G = M M^T for M [R, n]: the R x R inner products of the rows, row-major. */
    static double[] rowGram(Tensor m) {
        int r = m.dim(0);
        int n = m.dim(1);
        DType dt = m.dtype();
        MemorySegment seg = m.segment();
        long rowBytes = (long) n * dt.byteSize();
        int chunk = Math.min(n, A_COLUMN_CHUNK);
        float[][] rows = new float[r][chunk]; // [R, chunk] columns c0..c0+len of every row
        double[] g = new double[r * r];
        for (int c0 = 0; c0 < n; c0 += chunk) {
            int len = Math.min(chunk, n - c0);
            for (int i = 0; i < r; i++) {
                Convert.toF32(seg, i * rowBytes + (long) c0 * dt.byteSize(), dt, rows[i], 0, len);
            }
            for (int i = 0; i < r; i++) {
                float[] ri = rows[i];
                for (int j = i; j < r; j++) {
                    float[] rj = rows[j];
                    double s = 0;
                    for (int k = 0; k < len; k++) {
                        s += (double) ri[k] * rj[k];
                    }
                    g[i * r + j] += s;
                }
            }
        }
        mirrorUpper(g, r);
        return g;
    }

    /** G = M^T M for M [n, R]: the R x R inner products of the columns, row-major. */
    static double[] columnGram(Tensor m) {
        int n = m.dim(0);
        int r = m.dim(1);
        DType dt = m.dtype();
        MemorySegment seg = m.segment();
        int rowsPerChunk = Math.max(1, B_CHUNK_FLOATS / r);
        float[] buf = new float[rowsPerChunk * r]; // [rowsPerChunk, R]
        double[] g = new double[r * r];
        for (int o0 = 0; o0 < n; o0 += rowsPerChunk) {
            int rows = Math.min(rowsPerChunk, n - o0);
            Convert.toF32(seg, (long) o0 * r * dt.byteSize(), dt, buf, 0, rows * r);
            for (int row = 0; row < rows; row++) {
                int base = row * r;
                for (int i = 0; i < r; i++) {
                    double bi = buf[base + i];
                    if (bi == 0) {
                        continue;
                    }
                    for (int j = i; j < r; j++) {
                        g[i * r + j] += bi * buf[base + j];
                    }
                }
            }
        }
        mirrorUpper(g, r);
        return g;
    }

    private static void mirrorUpper(double[] g, int r) {
        for (int i = 0; i < r; i++) {
            for (int j = i + 1; j < r; j++) {
                g[j * r + i] = g[i * r + j];
            }
        }
    }
}
