package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.ops.Ops;
import java.util.Arrays;

/**
 * Causal grouped-query self-attention over B sequences of length T stacked in N = B*T rows
 * (rows of sequence b are b*T .. b*T+T-1, at positions 0..T-1): for query head h of row t,
 * {@code out = sum_{t2<=t} softmax_t2(q_t . k_t2 / sqrt(D)) v_t2}, with key/value head h / (H/KV)
 * shared by H/KV query heads. q and k are expected rotated already ({@link Rope}). Padding is
 * not masked here: it is left to the loss (ignored labels), attention stays causal over the row.
 *
 * <p>The forward saves the softmax probabilities {@code att} for the backward (zeros above the
 * diagonal). The forward runs in parallel over (sequence, query head), the backward over
 * (sequence, key/value head) so that each task owns the dk/dv rows it accumulates into.
 *
 * <p>Legend: B sequences, T positions, N = B*T rows, H query heads, KV key/value heads, D head
 * dim; the att layout is [B, H, T, T] (sequence, head, query position, key position).
 */
public final class Attention {
    private Attention() {
    }

    /**
     * out = causal softmax(q k^T / sqrt(D)) v per (sequence, head); att saved.
     *
     * @param out [N,H*D] overwritten
     * @param att [B*H*T*T] overwritten with the probabilities (saved)
     * @param q   [N,H*D]
     * @param k   [N,KV*D]
     * @param v   [N,KV*D]
     */
    public static void forward(float[] out, float[] att, float[] q, float[] k, float[] v, int B, int T, int H, int KV, int D) {
        check(out, att, q, k, v, B, T, H, KV, D);
        Require.distinct("Attention.forward", "out, att, q, k, v", out, att, q, k, v);
        int qDim = H * D;
        int kvDim = KV * D;
        int group = H / KV;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forRange(B * H, Math.max(1, Grain.MIN_CHUNK_FLOATS / Math.max(1, T * T * D)), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                int b = i / H;
                int h = i % H;
                int kvOff = (h / group) * D;
                for (int t = 0; t < T; t++) {
                    int row = ((b * H + h) * T + t) * T; // att[b, h, t, :]
                    int qOff = (b * T + t) * qDim + h * D;
                    // pre[t2] = q_t . k_t2 / sqrt(D) for t2 <= t
                    for (int t2 = 0; t2 <= t; t2++) {
                        att[row + t2] = Ops.dot(q, qOff, k, (b * T + t2) * kvDim + kvOff, D) * scale;
                    }
                    // att = softmax(pre) over t2 <= t, 0 above the diagonal
                    Ops.softmax(att, row, t + 1);
                    Arrays.fill(att, row + t + 1, row + T, 0f);
                    // out_t = sum_t2 att[t2] v_t2
                    Arrays.fill(out, qOff, qOff + D, 0f);
                    for (int t2 = 0; t2 <= t; t2++) {
                        Ops.axpy(att[row + t2], v, (b * T + t2) * kvDim + kvOff, out, qOff, D);
                    }
                }
            }
        });
    }

    /**
     * Gradients of {@link #forward} with respect to q, k and v (dk, dv summed over the H/KV query
     * heads sharing each key/value head). Allocates one float[T] per parallel chunk.
     *
     * @param dq   [N,H*D] accumulated
     * @param dk   [N,KV*D] accumulated
     * @param dv   [N,KV*D] accumulated
     * @param dOut [N,H*D]
     * @param att  [B*H*T*T] saved by the forward
     * @param q    [N,H*D] the forward's (rotated) q
     * @param k    [N,KV*D] the forward's (rotated) k
     * @param v    [N,KV*D]
     */
    public static void backward(float[] dq, float[] dk, float[] dv, float[] dOut, float[] att, float[] q, float[] k, float[] v,
                                int B, int T, int H, int KV, int D) {
        check(dOut, att, q, k, v, B, T, H, KV, D);
        Require.length("dq", dq, (long) B * T * H * D);
        Require.length("dk", dk, (long) B * T * KV * D);
        Require.length("dv", dv, (long) B * T * KV * D);
        Require.distinct("Attention.backward", "dq, dk, dv, dOut, att, q, k, v", dq, dk, dv, dOut, att, q, k, v);
        int qDim = H * D;
        int kvDim = KV * D;
        int group = H / KV;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forRange(B * KV, Math.max(1, Grain.MIN_CHUNK_FLOATS / Math.max(1, group * T * T * D)), (i0, i1) -> {
            float[] dAtt = new float[T]; // d(att row), then d(pre-softmax row)
            for (int i = i0; i < i1; i++) {
                int b = i / KV;
                int kvOff = (i % KV) * D;
                for (int h = (i % KV) * group; h < (i % KV + 1) * group; h++) {
                    for (int t = 0; t < T; t++) {
                        int row = ((b * H + h) * T + t) * T;
                        int qOff = (b * T + t) * qDim + h * D;
                        // out_t = sum_t2 att[t2] v_t2  ->  dAtt[t2] = dOut_t . v_t2 ; dv_t2 += att[t2] dOut_t
                        for (int t2 = 0; t2 <= t; t2++) {
                            int vOff = (b * T + t2) * kvDim + kvOff;
                            dAtt[t2] = Ops.dot(dOut, qOff, v, vOff, D);
                            Ops.axpy(att[row + t2], dOut, qOff, dv, vOff, D);
                        }
                        // att = softmax(pre)  ->  dPre[t2] = att[t2] (dAtt[t2] - sum_t3 att[t3] dAtt[t3])
                        double weighted = 0;
                        for (int t2 = 0; t2 <= t; t2++) {
                            weighted += (double) att[row + t2] * dAtt[t2];
                        }
                        for (int t2 = 0; t2 <= t; t2++) {
                            dAtt[t2] = (float) (att[row + t2] * (dAtt[t2] - weighted));
                        }
                        // pre[t2] = scale q_t . k_t2  ->  dq_t += scale dPre[t2] k_t2 ; dk_t2 += scale dPre[t2] q_t
                        for (int t2 = 0; t2 <= t; t2++) {
                            int kOff = (b * T + t2) * kvDim + kvOff;
                            float d = scale * dAtt[t2];
                            Ops.axpy(d, k, kOff, dq, qOff, D);
                            Ops.axpy(d, q, qOff, dk, kOff, D);
                        }
                    }
                }
            }
        });
    }

    private static void check(float[] out, float[] att, float[] q, float[] k, float[] v, int B, int T, int H, int KV, int D) {
        Require.sizes(B, T, H, KV, D);
        if (KV == 0 || H % KV != 0) {
            throw new IllegalArgumentException(H + " query heads cannot be grouped over " + KV + " key/value heads");
        }
        long N = (long) B * T;
        Require.length("out", out, N * H * D);
        Require.length("att", att, N * H * T);
        Require.length("q", q, N * H * D);
        Require.length("k", k, N * KV * D);
        Require.length("v", v, N * KV * D);
    }
}
