package dev.lorakit.nn;

import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;

/**
 * The trainable LoRA branch of one linear layer (PEFT's lora.Linear, unmerged):
 * {@code y += s * B (A dropout(x))}, i.e. for rows {@code y += s * (x~ A^T) B^T} with
 * x~ = x * mask. A [R,in] and B [out,R] are trainable F32; s is the scale (alpha/R, or
 * alpha/sqrt(R) with rsLoRA). The frozen product {@code x W^T} is {@link Linear}'s job; call it
 * first, then this adds the branch.
 *
 * <p>Dropout: sample a mask [N,in] with {@link Dropout#sampleMask} and pass it; the forward saves
 * x~ = x * mask in {@code xDrop}. Without dropout (p = 0) pass {@code mask = null}: the forward
 * reads x directly and leaves {@code xDrop} alone (it may be null), and the backward is given x
 * in place of xDrop.
 *
 * <p>{@link Recovery} (CA-LoRA's recovery module) has the same shape of API: down projection,
 * up projection, scale, saved activations, work buffer.
 *
 * <p>Legend: N rows (B*T), in input features, out output features, R rank.
 */
public final class Lora {
    private Lora() {
    }

    /** Floats of {@code work} that {@link #forward} and {@link #backward} need. */
    public static int workSize(int N, int in, int R, boolean dropout) {
        return Math.toIntExact((long) N * R + (dropout ? (long) N * in : 0));
    }

    /**
     * y += s * (x~ A^T) B^T with x~ = x * mask; saves x~ and u = x~ A^T.
     *
     * @param y     [N,out] accumulated (holds x W^T already)
     * @param xDrop [N,in] overwritten with x * mask (saved); unused (may be null) when mask is null
     * @param u     [N,R] overwritten with x~ A^T (saved)
     * @param x     [N,in] the layer input
     * @param mask  [N,in] dropout factors (0 or 1/(1-p)), or null for no dropout
     * @param A     [R,in] trainable
     * @param B     [out,R] trainable
     * @param s     scale
     * @param work  at least {@link #workSize} floats (the forward uses N*R)
     */
    public static void forward(float[] y, float[] xDrop, float[] u, float[] x, float[] mask, float[] A, float[] B, float s,
                               float[] work, int N, int in, int out, int R) {
        Require.sizes(N, in, out, R);
        Require.length("y", y, (long) N * out);
        Require.length("u", u, (long) N * R);
        Require.length("x", x, (long) N * in);
        Require.lengthOrNull("mask", mask, (long) N * in);
        if (mask != null) {
            Require.length("xDrop", xDrop, (long) N * in);
        }
        Require.length("A", A, (long) R * in);
        Require.length("B", B, (long) out * R);
        Require.length("work", work, (long) N * R);
        Require.distinct("Lora.forward", "y, xDrop, u, x, mask, A, B, work", y, mask != null ? xDrop : null, u, x, mask, A, B, work);
        float[] xin = x;
        if (mask != null) {
            Dropout.forward(xDrop, x, mask, N * in);  // x~ = x * mask
            xin = xDrop;
        }
        // u = x~ A^T
        Matmul.gemm(Tensor.view(xin, 0, N, in), false, Tensor.view(A, 0, R, in), true, Tensor.view(u, 0, N, R), false);
        // y += (s u) B^T
        Ops.scale(s, u, 0, work, 0, N * R);
        Matmul.gemm(Tensor.view(work, 0, N, R), false, Tensor.view(B, 0, out, R), true, Tensor.view(y, 0, N, out), true);
    }

    /**
     * Gradients of y += s * (x~ A^T) B^T: dB += s dy^T u; du = s dy B; dA += du^T x~;
     * dx += (du A) * mask.
     *
     * @param dx    [N,in] accumulated, or null to skip (nothing below needs it)
     * @param dA    [R,in] accumulated
     * @param dB    [out,R] accumulated
     * @param dy    [N,out] gradient of the layer output
     * @param xDrop [N,in] saved x~ (x itself when mask is null)
     * @param u     [N,R] saved
     * @param mask  [N,in] the forward's mask, or null
     * @param A     [R,in]
     * @param B     [out,R]
     * @param s     scale
     * @param work  at least {@link #workSize} floats
     */
    public static void backward(float[] dx, float[] dA, float[] dB, float[] dy, float[] xDrop, float[] u, float[] mask,
                                float[] A, float[] B, float s, float[] work, int N, int in, int out, int R) {
        Require.sizes(N, in, out, R);
        Require.lengthOrNull("dx", dx, (long) N * in);
        Require.length("dA", dA, (long) R * in);
        Require.length("dB", dB, (long) out * R);
        Require.length("dy", dy, (long) N * out);
        Require.length("xDrop", xDrop, (long) N * in);
        Require.length("u", u, (long) N * R);
        Require.lengthOrNull("mask", mask, (long) N * in);
        Require.length("A", A, (long) R * in);
        Require.length("B", B, (long) out * R);
        Require.length("work", work, workSize(N, in, R, mask != null));
        Require.distinct("Lora.backward", "dx, dA, dB, dy, xDrop, u, mask, A, B, work", dx, dA, dB, dy, xDrop, u, mask, A, B, work);
        int du = mask == null ? 0 : N * in; // work layout: [dx~ (N*in) when masked][du (N*R)]
        Tensor duT = Tensor.view(work, du, N, R);
        Tensor dyT = Tensor.view(dy, 0, N, out);
        // y += (s u) B^T  ->  dB += dy^T (s u)
        Ops.scale(s, u, 0, work, du, N * R);
        Matmul.gemm(dyT, true, duT, false, Tensor.view(dB, 0, out, R), true);
        // y += (s u) B^T  ->  du = s dy B
        Matmul.gemm(dyT, false, Tensor.view(B, 0, out, R), false, duT, false);
        Ops.scale(s, work, du, work, du, N * R);
        // u = x~ A^T  ->  dA += du^T x~
        Matmul.gemm(duT, true, Tensor.view(xDrop, 0, N, in), false, Tensor.view(dA, 0, R, in), true);
        if (dx == null) {
            return;
        }
        Tensor aT = Tensor.view(A, 0, R, in);
        if (mask == null) {
            // u = x A^T  ->  dx += du A
            Matmul.gemm(duT, false, aT, false, Tensor.view(dx, 0, N, in), true);
        } else {
            // u = x~ A^T  ->  dx~ = du A ;  x~ = x * mask  ->  dx += dx~ * mask
            Matmul.gemm(duT, false, aT, false, Tensor.view(work, 0, N, in), false);
            Dropout.backward(dx, work, mask, N * in);
        }
    }
}
