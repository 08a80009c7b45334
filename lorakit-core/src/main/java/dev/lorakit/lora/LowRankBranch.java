package dev.lorakit.lora;

import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;

/**
 * The shared shape of lorakit's unmerged side branches: {@code y += scale * Up f(Down x)} with
 * Down [r, in] and Up [out, r] in their stored dtype and f applied to the r-wide middle
 * ({@link #between}: identity for LoRA, GELU for CA-LoRA's recovery module). Small batches
 * (decode) use matrix-vector products; larger ones the packed matmul.
 */
abstract class LowRankBranch implements AdapterBranch {
    /** At most this many rows go through matrix-vector products instead of the matmul. */
    static final int MATVEC_ROWS = 8;

    private final String module;
    private final Tensor down; // [R, in]
    private final Tensor up;   // [out, R]
    private final float scale;
    private final int rank;
    private float[] mid = new float[0];   // [rows, R]
    private float[] delta = new float[0]; // [rows, out] (matrix-vector path)

    LowRankBranch(String module, Tensor down, Tensor up, float scale, String what) {
        if (down.shape().rank() != 2 || up.shape().rank() != 2 || down.dim(0) != up.dim(1)) {
            throw new IllegalArgumentException(module + ": " + what + " " + down.shape() + " and " + up.shape()
                    + " do not chain");
        }
        this.module = module;
        this.down = down;
        this.up = up;
        this.scale = scale;
        this.rank = down.dim(0);
    }

    /** The module this branch belongs to, e.g. {@code model.layers.0.self_attn.q_proj}. */
    public String module() {
        return module;
    }

    /** The effective scale (user scale x the module's own scaling). */
    public float scale() {
        return scale;
    }

    /** Down [R, in]. */
    Tensor down() {
        return down;
    }

    /** Up [out, R]. */
    Tensor up() {
        return up;
    }

    @Override
    public int inFeatures() {
        return down.dim(1);
    }

    @Override
    public int outFeatures() {
        return up.dim(0);
    }

    /** f on the middle activations mid[0, n), in place, before the scale. */
    abstract void between(float[] mid, int n);

    @Override
    public void forward(float[] x, int rows, float[] y) {
        int in = inFeatures();
        int out = outFeatures();
        if (mid.length < rows * rank) {
            mid = new float[rows * rank];
        }
        if (rows <= MATVEC_ROWS) {
            if (delta.length < rows * out) {
                delta = new float[rows * out];
            }
            Ops.matvecBatch(down, x, 0, mid, 0, rows);              // mid[rows, R] = x Down^T
            between(mid, rows * rank);
            Ops.scale(scale, mid, 0, mid, 0, rows * rank);
            Ops.matvecBatch(up, mid, 0, delta, 0, rows);            // delta[rows, out] = mid Up^T
            Ops.add(y, 0, delta, 0, y, 0, rows * out);
        } else {
            Tensor mt = Tensor.view(mid, 0, rows, rank);
            Matmul.gemm(Tensor.view(x, 0, rows, in), false, down, true, mt, false); // mid = x Down^T
            between(mid, rows * rank);
            Ops.scale(scale, mid, 0, mid, 0, rows * rank);
            Matmul.gemm(mt, false, up, true, Tensor.view(y, 0, rows, out), true);   // y += mid Up^T
        }
    }
}
