package dev.lorakit.train;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.tensor.Tensor;
import java.util.Random;

/**
 * The trainable CA-LoRA recovery module of one projection, in float32, with its gradient
 * buffers: D [R, in] and U [out, R], applied beside the (compressed) frozen weight as
 * {@code y += scale * U GELU(D x)} (exact erf GELU, no bias; see {@link dev.lorakit.nn.Recovery}).
 */
public final class RecoveryParameters extends LowRankFactors {
    private RecoveryParameters(String module, int rank, int in, int out, float scale, float[] d, float[] u) {
        super(module, rank, in, out, scale, d, u, "recovery D and U");
    }

    /**
     * CA-LoRA's initialisation for a projection of the config: D ~ U(-1/sqrt(in), 1/sqrt(in))
     * (Kaiming-uniform as PEFT's lora_A), U = 0, so the branch adds exactly zero at the start.
     */
    public static RecoveryParameters init(ModelConfig config, int layer, Projection p, int rank, float scale, Random rnd) {
        int in = p.inFeatures(config);
        int out = p.outFeatures(config);
        float[] d = kaimingUniform(rank, in, rnd);
        return new RecoveryParameters(p.modulePath(layer), rank, in, out, scale, d, new float[out * rank]);
    }

    /** A module with given values (copied), e.g. read back from a recovery file. */
    public static RecoveryParameters of(String module, float scale, Tensor d, Tensor u) {
        if (d.shape().rank() != 2 || u.shape().rank() != 2 || d.dim(0) != u.dim(1)) {
            throw new IllegalArgumentException(module + ": recovery D " + d.shape() + " and U " + u.shape() + " do not chain");
        }
        return new RecoveryParameters(module, d.dim(0), d.dim(1), u.dim(0), scale, d.toFloatArray(), u.toFloatArray());
    }

    /** D [R, in], row-major (trained in place). */
    public float[] d() {
        return down();
    }

    /** U [out, R], row-major (trained in place). */
    public float[] u() {
        return up();
    }

    /** dLoss/dD, accumulated by backward passes. */
    public float[] gradD() {
        return gradDown();
    }

    /** dLoss/dU, accumulated by backward passes. */
    public float[] gradU() {
        return gradUp();
    }

    /** D as a tensor view (no copy). */
    public Tensor dTensor() {
        return Tensor.ofFloats(down(), rank(), inFeatures());
    }

    /** U as a tensor view (no copy). */
    public Tensor uTensor() {
        return Tensor.ofFloats(up(), outFeatures(), rank());
    }
}
