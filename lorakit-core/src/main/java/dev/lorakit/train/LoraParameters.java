package dev.lorakit.train;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.Tensor;
import java.util.Random;

/**
 * The trainable LoRA factors of one projection, in float32, with their gradient buffers:
 * A [R, in], B [out, R], applied as y += scale * B (A x) with scale = alpha/r (or alpha/sqrt(r)).
 */
public final class LoraParameters extends LowRankFactors {
    private LoraParameters(String module, int rank, int in, int out, float scale, float[] a, float[] b) {
        super(module, rank, in, out, scale, a, b, "LoRA A and B");
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
        float[] a = kaimingUniform(rank, in, rnd);
        return new LoraParameters(p.modulePath(layer), rank, in, out, scale, a, new float[out * rank]);
    }

    /** A [R, in], row-major (trained in place). */
    public float[] a() {
        return down();
    }

    /** B [out, R], row-major (trained in place). */
    public float[] b() {
        return up();
    }

    /** dLoss/dA, accumulated by backward passes. */
    public float[] gradA() {
        return gradDown();
    }

    /** dLoss/dB, accumulated by backward passes. */
    public float[] gradB() {
        return gradUp();
    }

    /** A as a tensor view (no copy), e.g. for writing a PEFT adapter. */
    public Tensor aTensor() {
        return Tensor.ofFloats(down(), rank(), inFeatures());
    }

    /** B as a tensor view (no copy). */
    public Tensor bTensor() {
        return Tensor.ofFloats(up(), outFeatures(), rank());
    }
}
