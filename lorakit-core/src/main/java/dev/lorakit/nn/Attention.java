package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
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
 * diagonal). Each (sequence, head) is a few products through the packed matmul on contiguous
 * copies of that head's q, k, v ([T, D] each); heads run in parallel (the forward over query
 * heads, the backward over key/value heads so each task owns the dk/dv rows it accumulates into)
 * and each head's matmuls run inline on its thread. Query blocks of 64 rows skip the fully
 * masked keys after the block, so the products do about 5/8 of the full T x T work at T = 256
 * (1/2 is the causal minimum).
 *
 * <p>Legend: B sequences, T positions, N = B*T rows, H query heads, KV key/value heads, D head
 * dim; the att layout is [B, H, T, T] (sequence, head, query position, key position).
 */
public final class Attention {
    private Attention() {
    }

    /** Query rows per causal block: block [t0, t1) only needs keys [0, t1). */
    static final int BLOCK = 64;

    /**
     * out = causal softmax(q k^T / sqrt(D)) v per (sequence, head); att saved. Each head is done
     * in query blocks of {@link #BLOCK} rows, so the keys after a block's last row (fully masked)
     * are never multiplied: for rows [t0, t1), S = Q[t0,t1) K[0,t1)^T, softmax in place,
     * O[t0,t1) = P V[0,t1).
     *
     * @param out [N,H*D] overwritten
     * @param att [B*H*T*T] overwritten with the probabilities (saved; zeros above the diagonal)
     * @param q   [N,H*D]
     * @param k   [N,KV*D]
     * @param v   [N,KV*D]
     */
    public static void forward(float[] out, float[] att, float[] q, float[] k, float[] v, int B, int T, int H, int KV, int D) {
        check(out, att, q, k, v, B, T, H, KV, D);
        Require.distinct("Attention.forward", "out, att, q, k, v", out, att, q, k, v);
        int group = H / KV;
        float scale = (float) (1.0 / Math.sqrt(D));
        int tb = Math.min(BLOCK, T);
        // Parallel over (sequence, head); each head's matmuls then run inline on that thread.
        Parallel.forRange(B * H, 1, (i0, i1) -> {
            float[] qc = new float[T * D]; // [T,D] one head's queries, contiguous
            float[] kc = new float[T * D]; // [T,D]
            float[] vc = new float[T * D]; // [T,D]
            float[] oc = new float[T * D]; // [T,D]
            float[] pb = new float[tb * T]; // [rows, t1] one block's scores, then probabilities
            int loadedKv = -1;
            for (int i = i0; i < i1; i++) {
                int b = i / H;
                int h = i % H;
                int kvIndex = b * KV + h / group;
                if (kvIndex != loadedKv) {
                    gather(k, b, h / group, T, KV, D, kc);
                    gather(v, b, h / group, T, KV, D, vc);
                    loadedKv = kvIndex;
                }
                gather(q, b, h, T, H, D, qc);
                int a0 = (b * H + h) * T * T; // att[b, h]
                for (int t0 = 0; t0 < T; t0 += tb) {
                    int rows = Math.min(tb, T - t0);
                    int t1 = t0 + rows; // keys [0, t1) are visible to some row of the block
                    Tensor p = Tensor.view(pb, 0, rows, t1);
                    // pre = Q[t0,t1) K[0,t1)^T
                    Matmul.gemm(Tensor.view(qc, t0 * D, rows, D), false, Tensor.view(kc, 0, t1, D), true, p, false);
                    // att = softmax(scale * pre) over t2 <= t, 0 above the diagonal
                    for (int r = 0; r < rows; r++) {
                        int t = t0 + r;
                        int row = r * t1;
                        Ops.scale(scale, pb, row, pb, row, t + 1);
                        Ops.softmax(pb, row, t + 1);
                        Arrays.fill(pb, row + t + 1, row + t1, 0f);
                        System.arraycopy(pb, row, att, a0 + t * T, t1);
                        Arrays.fill(att, a0 + t * T + t1, a0 + (t + 1) * T, 0f);
                    }
                    // out[t0,t1) = P V[0,t1)
                    Matmul.gemm(p, false, Tensor.view(vc, 0, t1, D), false, Tensor.view(oc, t0 * D, rows, D), false);
                }
                scatter(oc, out, b, h, T, H, D, false);
            }
        });
    }

    /**
     * Gradients of {@link #forward} with respect to q, k and v (dk, dv summed over the H/KV query
     * heads sharing each key/value head), through the packed matmul per head and query block
     * (rows [t0, t1), keys [0, t1)):
     * dP = dO V^T; dS = P * (dP - rowsum(P * dP)) * scale; dQ = dS K; dK += dS^T Q; dV += P^T dO.
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
        int group = H / KV;
        float scale = (float) (1.0 / Math.sqrt(D));
        int tb = Math.min(BLOCK, T);
        // Parallel over (sequence, key/value head): each task owns the dk/dv rows it accumulates into.
        Parallel.forRange(B * KV, 1, (i0, i1) -> {
            float[] qc = new float[T * D];
            float[] kc = new float[T * D];
            float[] vc = new float[T * D];
            float[] doc = new float[T * D];  // [T,D] dOut of one head
            float[] dqc = new float[T * D];  // [T,D]
            float[] dkc = new float[T * D];  // [T,D] summed over the group
            float[] dvc = new float[T * D];  // [T,D] summed over the group
            float[] pb = new float[tb * T];  // [rows, t1] one block's probabilities
            float[] ds = new float[tb * T];  // [rows, t1] dP, then dS
            for (int i = i0; i < i1; i++) {
                int b = i / KV;
                int g = i % KV;
                gather(k, b, g, T, KV, D, kc);
                gather(v, b, g, T, KV, D, vc);
                Arrays.fill(dkc, 0f);
                Arrays.fill(dvc, 0f);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    gather(q, b, h, T, H, D, qc);
                    gather(dOut, b, h, T, H, D, doc);
                    int a0 = (b * H + h) * T * T;
                    for (int t0 = 0; t0 < T; t0 += tb) {
                        int rows = Math.min(tb, T - t0);
                        int t1 = t0 + rows;
                        for (int r = 0; r < rows; r++) {
                            System.arraycopy(att, a0 + (t0 + r) * T, pb, r * t1, t1);
                        }
                        Tensor p = Tensor.view(pb, 0, rows, t1);
                        Tensor dst = Tensor.view(ds, 0, rows, t1);
                        Tensor doBlock = Tensor.view(doc, t0 * D, rows, D);
                        Tensor qBlock = Tensor.view(qc, t0 * D, rows, D);
                        // out = P V  ->  dP = dO V^T ; dV[0,t1) += P^T dO
                        Matmul.gemm(doBlock, false, Tensor.view(vc, 0, t1, D), true, dst, false);
                        Matmul.gemm(p, true, doBlock, false, Tensor.view(dvc, 0, t1, D), true);
                        // P = softmax(scale * pre)  ->  dPre = scale * P * (dP - sum_t2 P dP), causal part only
                        for (int r = 0; r < rows; r++) {
                            int t = t0 + r;
                            int row = r * t1;
                            double weighted = 0;
                            for (int t2 = 0; t2 <= t; t2++) {
                                weighted += (double) pb[row + t2] * ds[row + t2];
                            }
                            for (int t2 = 0; t2 <= t; t2++) {
                                ds[row + t2] = (float) (scale * pb[row + t2] * (ds[row + t2] - weighted));
                            }
                            Arrays.fill(ds, row + t + 1, row + t1, 0f);
                        }
                        // pre = Q K^T  ->  dQ[t0,t1) = dPre K[0,t1) ; dK[0,t1) += dPre^T Q[t0,t1)
                        Matmul.gemm(dst, false, Tensor.view(kc, 0, t1, D), false, Tensor.view(dqc, t0 * D, rows, D), false);
                        Matmul.gemm(dst, true, qBlock, false, Tensor.view(dkc, 0, t1, D), true);
                    }
                    scatter(dqc, dq, b, h, T, H, D, true);
                }
                scatter(dkc, dk, b, g, T, KV, D, true);
                scatter(dvc, dv, b, g, T, KV, D, true);
            }
        });
    }

    /** dst[T,D] = head h of sequence b of a row-major [B*T, heads*D] array. */
    private static void gather(float[] src, int b, int h, int T, int heads, int D, float[] dst) {
        for (int t = 0; t < T; t++) {
            System.arraycopy(src, (b * T + t) * heads * D + h * D, dst, t * D, D);
        }
    }

    /** Writes (or adds) a head's [T,D] block back into a row-major [B*T, heads*D] array. */
    private static void scatter(float[] src, float[] dst, int b, int h, int T, int heads, int D, boolean add) {
        for (int t = 0; t < T; t++) {
            int o = (b * T + t) * heads * D + h * D;
            if (add) {
                Ops.add(dst, o, src, t * D, dst, o, D);
            } else {
                System.arraycopy(src, t * D, dst, o, D);
            }
        }
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
