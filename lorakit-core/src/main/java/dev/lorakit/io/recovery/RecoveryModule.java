package dev.lorakit.io.recovery;

import java.util.Objects;
import dev.lorakit.tensor.Tensor;

/**
 * The CA-LoRA recovery module of one linear module: D [R, in] and U [out, R] (stored dtype,
 * possibly memory-mapped) and its scaling, so the module's output gains
 * {@code scaling * U GELU(D x)} (exact erf GELU, no bias).
 *
 * @param name module name relative to the base model, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param d factor D [R, in], F32/F16/BF16
 * @param u factor U [out, R], F32/F16/BF16
 * @param scaling the scale s
 */
public record RecoveryModule(String name, Tensor d, Tensor u, double scaling) {
    public RecoveryModule {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(d, "d");
        Objects.requireNonNull(u, "u");
        if (d.shape().rank() != 2 || u.shape().rank() != 2 || d.dim(0) != u.dim(1) || d.dim(0) == 0 || d.dim(1) == 0
                || u.dim(0) == 0) {
            throw new IllegalArgumentException(name + ": recovery D " + d.shape() + " and U " + u.shape()
                    + " must be [r, in] and [out, r] with r, in, out >= 1");
        }
        if (!d.dtype().isCompute() || !u.dtype().isCompute()) {
            throw new IllegalArgumentException(name + ": recovery D is " + d.dtype() + " and U is " + u.dtype()
                    + "; expected F32, F16 or BF16");
        }
        if (!Double.isFinite(scaling)) {
            throw new IllegalArgumentException(name + ": recovery scaling must be finite, got " + scaling);
        }
    }

    /** The rank R (rows of D, columns of U). */
    public int rank() {
        return d.dim(0);
    }

    /** Input features (columns of D). */
    public int inFeatures() {
        return d.dim(1);
    }

    /** Output features (rows of U). */
    public int outFeatures() {
        return u.dim(0);
    }

    /** Number of parameters: R * (in + out). */
    public long parameterCount() {
        return d.size() + u.size();
    }

    /** Bytes of the two factors in their stored dtypes. */
    public long byteSize() {
        return d.byteSize() + u.byteSize();
    }
}
