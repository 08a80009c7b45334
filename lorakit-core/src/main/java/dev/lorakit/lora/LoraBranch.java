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
public final class LoraBranch implements AdapterBranch {
    /** At most this many rows go through matrix-vector products instead of the matmul. */
    static final int MATVEC_ROWS = 8;

    private final String module;
    private final Tensor a; // [R, in]
    private final Tensor b; // [out, R]
    private final float scale;
    private final int rank;
    private float[] mid = new float[0];   // [rows, R]
    private float[] delta = new float[0]; // [rows, out] (matrix-vector path)

    public LoraBranch(String module, Tensor a, Tensor b, float scale) {
        if (a.shape().rank() != 2 || b.shape().rank() != 2 || a.dim(0) != b.dim(1)) {
            throw new IllegalArgumentException(module + ": LoRA A " + a.shape() + " and B " + b.shape() + " do not chain");
        }
        this.module = module;
        this.a = a;
        this.b = b;
        this.scale = scale;
        this.rank = a.dim(0);
    }

    public String module() {
        return module;
    }

    public Tensor a() {
        return a;
    }

    public Tensor b() {
        return b;
    }

    /** The effective scale applied to B A (user scale x alpha/r). */
    public float scale() {
        return scale;
    }

    @Override
    public int inFeatures() {
        return a.dim(1);
    }

    @Override
    public int outFeatures() {
        return b.dim(0);
    }

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
            Ops.matvecBatch(a, x, 0, mid, 0, rows);                 // mid[rows, R] = x A^T
            Ops.scale(scale, mid, 0, mid, 0, rows * rank);
            Ops.matvecBatch(b, mid, 0, delta, 0, rows);             // delta[rows, out] = mid B^T
            Ops.add(y, 0, delta, 0, y, 0, rows * out);
        } else {
            Tensor xt = Tensor.view(x, 0, rows, in);
            Tensor mt = Tensor.view(mid, 0, rows, rank);
            Tensor yt = Tensor.view(y, 0, rows, out);
            Matmul.gemm(xt, false, a, true, mt, false);              // mid = x A^T
            Ops.scale(scale, mid, 0, mid, 0, rows * rank);
            Matmul.gemm(mt, false, b, true, yt, true);               // y += mid B^T
        }
    }

    /** Adds {@code scale * B A} to a heap F32 weight copy [out, in] (merged mode and export). */
    public void addDeltaTo(Tensor weightF32) {
        if (weightF32.dtype() != DType.F32 || weightF32.dim(0) != outFeatures() || weightF32.dim(1) != inFeatures()) {
            throw new IllegalArgumentException(module + ": cannot fold a " + outFeatures() + "x" + inFeatures()
                    + " delta into " + weightF32);
        }
        Tensor scaledB = b.to(DType.F32);
        float[] sb = scaledB.floatArray();
        Ops.scale(scale, sb, 0, sb, 0, sb.length);
        Matmul.gemm(scaledB, false, a, false, weightF32, true);     // W += (s B) A
    }
}
