package dev.lorakit.nn;

import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;

/**
 * CA-LoRA's trainable recovery module beside a (compressed) linear layer:
 * {@code y += s * U GELU(D x)}, i.e. for rows {@code y += s * GELU(x D^T) U^T}, with D [R,in] and
 * U [out,R] trainable F32 and the exact erf GELU. Same shape of API as {@link Lora} (down
 * projection, up projection, scale, saved activations, work buffer); no dropout.
 *
 * <p>Legend: N rows (B*T), in input features, out output features, R the module's rank.
 */
public final class Recovery {
    private Recovery() {
    }

    /** Floats of {@code work} that {@link #forward} and {@link #backward} need. */
    public static int workSize(int N, int R) {
        return Math.toIntExact(2L * N * R);
    }

    /**
     * y += s * GELU(x D^T) U^T; saves h = x D^T and g = GELU(h).
     *
     * @param y    [N,out] accumulated (holds the frozen product already)
     * @param h    [N,R] overwritten with x D^T (saved)
     * @param g    [N,R] overwritten with GELU(h) (saved)
     * @param x    [N,in] the layer input
     * @param D    [R,in] trainable
     * @param U    [out,R] trainable
     * @param s    scale
     * @param work at least {@link #workSize} floats (the forward uses N*R)
     */
    public static void forward(float[] y, float[] h, float[] g, float[] x, float[] D, float[] U, float s,
                               float[] work, int N, int in, int out, int R) {
        Require.sizes(N, in, out, R);
        Require.length("y", y, (long) N * out);
        Require.length("h", h, (long) N * R);
        Require.length("g", g, (long) N * R);
        Require.length("x", x, (long) N * in);
        Require.length("D", D, (long) R * in);
        Require.length("U", U, (long) out * R);
        Require.length("work", work, (long) N * R);
        Require.distinct("Recovery.forward", "y, h, g, x, D, U, work", y, h, g, x, D, U, work);
        // h = x D^T
        Matmul.gemm(Tensor.view(x, 0, N, in), false, Tensor.view(D, 0, R, in), true, Tensor.view(h, 0, N, R), false);
        // g = GELU(h)
        Ops.gelu(h, 0, g, 0, N * R);
        // y += (s g) U^T
        Ops.scale(s, g, 0, work, 0, N * R);
        Matmul.gemm(Tensor.view(work, 0, N, R), false, Tensor.view(U, 0, out, R), true, Tensor.view(y, 0, N, out), true);
    }

    /**
     * Gradients of y += s * GELU(x D^T) U^T: dU += s dy^T g; dg = s dy U; dh = dg * GELU'(h);
     * dD += dh^T x; dx += dh D.
     *
     * @param dx   [N,in] accumulated, or null to skip
     * @param dD   [R,in] accumulated
     * @param dU   [out,R] accumulated
     * @param dy   [N,out] gradient of the layer output
     * @param h    [N,R] saved
     * @param g    [N,R] saved
     * @param x    [N,in] the layer input
     * @param D    [R,in]
     * @param U    [out,R]
     * @param s    scale
     * @param work at least {@link #workSize} floats
     */
    public static void backward(float[] dx, float[] dD, float[] dU, float[] dy, float[] h, float[] g, float[] x,
                                float[] D, float[] U, float s, float[] work, int N, int in, int out, int R) {
        Require.sizes(N, in, out, R);
        Require.lengthOrNull("dx", dx, (long) N * in);
        Require.length("dD", dD, (long) R * in);
        Require.length("dU", dU, (long) out * R);
        Require.length("dy", dy, (long) N * out);
        Require.length("h", h, (long) N * R);
        Require.length("g", g, (long) N * R);
        Require.length("x", x, (long) N * in);
        Require.length("D", D, (long) R * in);
        Require.length("U", U, (long) out * R);
        Require.length("work", work, workSize(N, R));
        Require.distinct("Recovery.backward", "dx, dD, dU, dy, h, g, x, D, U, work", dx, dD, dU, dy, h, g, x, D, U, work);
        int nr = N * R; // work layout: [dg, then dh (N*R)][GELU'(h) (N*R)]
        Tensor dhT = Tensor.view(work, 0, N, R);
        Tensor dyT = Tensor.view(dy, 0, N, out);
        // y += (s g) U^T  ->  dU += dy^T (s g)
        Ops.scale(s, g, 0, work, 0, nr);
        Matmul.gemm(dyT, true, dhT, false, Tensor.view(dU, 0, out, R), true);
        // y += (s g) U^T  ->  dg = s dy U
        Matmul.gemm(dyT, false, Tensor.view(U, 0, out, R), false, dhT, false);
        Ops.scale(s, work, 0, work, 0, nr);
        // g = GELU(h)  ->  dh = dg * GELU'(h)
        Ops.dgelu(h, 0, work, nr, nr);
        Ops.mul(work, 0, work, nr, work, 0, nr);
        // h = x D^T  ->  dD += dh^T x ;  dx += dh D
        Matmul.gemm(dhT, true, Tensor.view(x, 0, N, in), false, Tensor.view(dD, 0, R, in), true);
        if (dx != null) {
            Matmul.gemm(dhT, false, Tensor.view(D, 0, R, in), false, Tensor.view(dx, 0, N, in), true);
        }
    }
}
