package dev.lorakit.lora;

import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;

/**
 * One CA-LoRA recovery module applied beside a (compressed) linear layer:
 * {@code y += scale * U GELU(D x)} with D [r, in] and U [out, r] in their stored dtype, the exact
 * erf GELU, scale = user scale x the module's recovery scaling. It cannot be folded into the
 * weight (the GELU), so merged mode keeps it as a branch. Small batches (decode) use
 * matrix-vector products, larger ones the packed matmul, as {@link LoraBranch}.
 */
public final class RecoveryBranch implements AdapterBranch {
    private final String module;
    private final Tensor d; // [R, in]
    private final Tensor u; // [out, R]
    private final float scale;
    private final int rank;
    private float[] mid = new float[0];   // [rows, R]
    private float[] delta = new float[0]; // [rows, out] (matrix-vector path)

    public RecoveryBranch(String module, Tensor d, Tensor u, float scale) {
        if (d.shape().rank() != 2 || u.shape().rank() != 2 || d.dim(0) != u.dim(1)) {
            throw new IllegalArgumentException(module + ": recovery D " + d.shape() + " and U " + u.shape() + " do not chain");
        }
        this.module = module;
        this.d = d;
        this.u = u;
        this.scale = scale;
        this.rank = d.dim(0);
    }

    public String module() {
        return module;
    }

    public Tensor d() {
        return d;
    }

    public Tensor u() {
        return u;
    }

    /** The effective scale (user scale x the module's recovery scaling). */
    public float scale() {
        return scale;
    }

    @Override
    public int inFeatures() {
        return d.dim(1);
    }

    @Override
    public int outFeatures() {
        return u.dim(0);
    }

    @Override
    public void forward(float[] x, int rows, float[] y) {
        int in = inFeatures();
        int out = outFeatures();
        if (mid.length < rows * rank) {
            mid = new float[rows * rank];
        }
        if (rows <= LoraBranch.MATVEC_ROWS) {
            if (delta.length < rows * out) {
                delta = new float[rows * out];
            }
            Ops.matvecBatch(d, x, 0, mid, 0, rows);                 // mid[rows, R] = x D^T
            Ops.gelu(mid, 0, mid, 0, rows * rank);
            Ops.scale(scale, mid, 0, mid, 0, rows * rank);
            Ops.matvecBatch(u, mid, 0, delta, 0, rows);             // delta[rows, out] = mid U^T
            Ops.add(y, 0, delta, 0, y, 0, rows * out);
        } else {
            Tensor mt = Tensor.view(mid, 0, rows, rank);
            Matmul.gemm(Tensor.view(x, 0, rows, in), false, d, true, mt, false); // mid = x D^T
            Ops.gelu(mid, 0, mid, 0, rows * rank);
            Ops.scale(scale, mid, 0, mid, 0, rows * rank);
            Matmul.gemm(mt, false, u, true, Tensor.view(y, 0, rows, out), true); // y += mid U^T
        }
    }
}
