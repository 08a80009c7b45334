package dev.lorakit.train;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.Tensor;
import java.util.Random;

/**
 * The trainable LoRA factors of one projection, in float32, with their gradient buffers:
 * A [R, in], B [out, R], applied as y += scale * B (A x) with scale = alpha/r (or alpha/sqrt(r)).
 */
public final class LoraParameters {
    private final String module;
    private final ProjectionModule where;
    private final int rank;
    private final int in;
    private final int out;
    private final float scale;
    private final float[] a;  // [R, in]
    private final float[] b;  // [out, R]
    private final float[] da; // [R, in]
    private final float[] db; // [out, R]

    private LoraParameters(String module, int rank, int in, int out, float scale, float[] a, float[] b) {
        this.module = module;
        this.where = ProjectionModule.parse(module).orElseThrow(
                () -> new IllegalArgumentException(module + " is not a projection module name"));
        this.rank = rank;
        this.in = in;
        this.out = out;
        this.scale = scale;
        this.a = a;
        this.b = b;
        this.da = new float[a.length];
        this.db = new float[b.length];
    }

    /** A copy of an existing adapter's module (its A and B converted to float32). */
    public static LoraParameters copyOf(LoraModule m) {
        return new LoraParameters(m.name(), m.rank(), m.inFeatures(), m.outFeatures(), (float) m.scaling(),
                m.a().toFloatArray(), m.b().toFloatArray());
    }

    /**
     * PEFT's standard initialisation for a projection of the config: A ~ U(-1/sqrt(in), 1/sqrt(in))
     * (kaiming_uniform_ with a = sqrt(5)), B = 0, so training starts at the base model.
     */
    public static LoraParameters init(ModelConfig config, int layer, Projection p, int rank, float scale, Random rnd) {
        int in = p.inFeatures(config);
        int out = p.outFeatures(config);
        float[] a = new float[rank * in];
        double bound = 1 / Math.sqrt(in);
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
        }
        return new LoraParameters(p.modulePath(layer), rank, in, out, scale, a, new float[out * rank]);
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

    /** A [R, in], row-major (trained in place). */
    public float[] a() {
        return a;
    }

    /** B [out, R], row-major (trained in place). */
    public float[] b() {
        return b;
    }

    /** dLoss/dA, accumulated by backward passes. */
    public float[] gradA() {
        return da;
    }

    /** dLoss/dB, accumulated by backward passes. */
    public float[] gradB() {
        return db;
    }

    /** A as a tensor view (no copy), e.g. for writing a PEFT adapter. */
    public Tensor aTensor() {
        return Tensor.ofFloats(a, rank, in);
    }

    /** B as a tensor view (no copy). */
    public Tensor bTensor() {
        return Tensor.ofFloats(b, out, rank);
    }

    /** Sets both gradients to zero. */
    public void zeroGrad() {
        java.util.Arrays.fill(da, 0f);
        java.util.Arrays.fill(db, 0f);
    }
}
