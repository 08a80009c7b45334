package dev.lorakit.train;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;

/**
 * The trainable CA-LoRA recovery module of one projection, in float32, with its gradient
 * buffers: D [R, in] and U [out, R], applied beside the (compressed) frozen weight as
 * {@code y += scale * U GELU(D x)} (exact erf GELU, no bias; see {@link dev.lorakit.nn.Recovery}).
 */
public final class RecoveryParameters {
    private final String module;
    private final ProjectionModule where;
    private final int rank;
    private final int in;
    private final int out;
    private final float scale;
    private final float[] d;  // [R, in]
    private final float[] u;  // [out, R]
    private final float[] dd; // [R, in]
    private final float[] du; // [out, R]

    private RecoveryParameters(String module, int rank, int in, int out, float scale, float[] d, float[] u) {
        this.module = module;
        this.where = ProjectionModule.parse(module).orElseThrow(
                () -> new IllegalArgumentException(module + " is not a projection module name"));
        if (rank < 1 || d.length != (long) rank * in || u.length != (long) out * rank) {
            throw new IllegalArgumentException(module + ": recovery D of " + d.length + " and U of " + u.length
                    + " values do not fit rank " + rank + ", " + in + " -> " + out);
        }
        this.rank = rank;
        this.in = in;
        this.out = out;
        this.scale = scale;
        this.d = d;
        this.u = u;
        this.dd = new float[d.length];
        this.du = new float[u.length];
    }

    /**
     * CA-LoRA's initialisation for a projection of the config: D ~ U(-1/sqrt(in), 1/sqrt(in))
     * (Kaiming-uniform as PEFT's lora_A), U = 0, so the branch adds exactly zero at the start.
     */
    public static RecoveryParameters init(ModelConfig config, int layer, Projection p, int rank, float scale, Random rnd) {
        int in = p.inFeatures(config);
        int out = p.outFeatures(config);
        float[] d = new float[rank * in];
        double bound = 1 / Math.sqrt(in);
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
        }
        return new RecoveryParameters(p.modulePath(layer), rank, in, out, scale, d, new float[out * rank]);
    }

    /** A module with given values (copied), e.g. read back from a recovery file. */
    public static RecoveryParameters of(String module, float scale, Tensor d, Tensor u) {
        if (d.shape().rank() != 2 || u.shape().rank() != 2 || d.dim(0) != u.dim(1)) {
            throw new IllegalArgumentException(module + ": recovery D " + d.shape() + " and U " + u.shape() + " do not chain");
        }
        return new RecoveryParameters(module, d.dim(0), d.dim(1), u.dim(0), scale, d.toFloatArray(), u.toFloatArray());
    }

    public String module() {
        return module;
    }

    public int layer() {
        return where.layer();
    }

    public Projection projection() {
        return where.projection();
    }

    public int rank() {
        return rank;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }

    public float scale() {
        return scale;
    }

    /** D [R, in], row-major (trained in place). */
    public float[] d() {
        return d;
    }

    /** U [out, R], row-major (trained in place). */
    public float[] u() {
        return u;
    }

    /** dLoss/dD, accumulated by backward passes. */
    public float[] gradD() {
        return dd;
    }

    /** dLoss/dU, accumulated by backward passes. */
    public float[] gradU() {
        return du;
    }

    /** D as a tensor view (no copy). */
    public Tensor dTensor() {
        return Tensor.ofFloats(d, rank, in);
    }

    /** U as a tensor view (no copy). */
    public Tensor uTensor() {
        return Tensor.ofFloats(u, out, rank);
    }

    /** Sets both gradients to zero. */
    public void zeroGrad() {
        Arrays.fill(dd, 0f);
        Arrays.fill(du, 0f);
    }
}
