package dev.lorakit.lora;

import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.ops.Ops;

/**
 * One CA-LoRA recovery module applied beside a (compressed) linear layer:
 * {@code y += scale * U GELU(D x)} with D [r, in] and U [out, r] in their stored dtype, the exact
 * erf GELU, scale = user scale x the module's recovery scaling. It cannot be folded into the
 * weight (the GELU), so merged mode keeps it as a branch. Small batches (decode) use
 * matrix-vector products, larger ones the packed matmul, as {@link LoraBranch}.
 */
public final class RecoveryBranch extends LowRankBranch {
    public RecoveryBranch(String module, Tensor d, Tensor u, float scale) {
        super(module, d, u, scale, "recovery D and U");
    }

    /** D [r, in]. */
    public Tensor d() {
        return down();
    }

    /** U [out, r]. */
    public Tensor u() {
        return up();
    }

    @Override
    void between(float[] mid, int n) {
        Ops.gelu(mid, 0, mid, 0, n);
    }
}
