package dev.lorakit.lora;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;

/**
 * One LoRA term applied unmerged: {@code y += scale * B (A x)} with A [r, in] and B [out, r] in
 * their stored dtype, scale = user scale x the adapter's alpha/r (or alpha/sqrt(r)) for this
 * module. Small batches (decode) use matrix-vector products; larger ones the packed matmul.
 */
public final class LoraBranch extends LowRankBranch {
    public LoraBranch(String module, Tensor a, Tensor b, float scale) {
        super(module, a, b, scale, "LoRA A and B");
    }

    /** A [r, in]. */
    public Tensor a() {
        return down();
    }

    /** B [out, r]. */
    public Tensor b() {
        return up();
    }

    @Override
    void between(float[] mid, int n) {
        // LoRA is linear: nothing between A and B
    }

    /** Adds {@code scale * B A} to a heap F32 weight copy [out, in] (merged mode and export). */
    public void addDeltaTo(Tensor weightF32) {
        if (weightF32.dtype() != DType.F32 || weightF32.dim(0) != outFeatures() || weightF32.dim(1) != inFeatures()) {
            throw new IllegalArgumentException(module() + ": cannot fold a " + outFeatures() + "x" + inFeatures()
                    + " delta into " + weightF32);
        }
        Tensor scaledB = b().to(DType.F32);
        float[] sb = scaledB.floatArray();
        Ops.scale(scale(), sb, 0, sb, 0, sb.length);
        Matmul.gemm(scaledB, false, a(), false, weightF32, true);   // W += (s B) A
    }
}
