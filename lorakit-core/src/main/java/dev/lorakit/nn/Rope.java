package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.ops.Ops;

/**
 * Rotary position embedding of queries and keys, in place (HF rotate_half convention, as in
 * inference): each head of row n is rotated by the angles of position pos[n]. A rotation is
 * linear and orthogonal, so the backward rotates the gradients back by the inverse rotation, also
 * in place: before {@link #backward}, dq/dk hold the gradients with respect to the rotated q/k;
 * after it, the gradients with respect to q/k before RoPE. (The one layer whose backward does not
 * accumulate: it maps a gradient buffer onto itself.)
 *
 * <p>The cos/sin tables are those of {@link dev.lorakit.model.RopeTables} (call
 * {@code ensure(maxPos + 1)} first): row p starts at {@code p * D/2}.
 *
 * <p>Legend: N rows (B*T), H query heads, KV key/value heads, D head dim.
 */
public final class Rope {
    private Rope() {
    }

    /**
     * Rotates q and k in place at each row's position.
     *
     * @param q   [N,H*D] rotated in place
     * @param k   [N,KV*D] rotated in place
     * @param pos [N] position of each row
     * @param cos [positions, D/2]
     * @param sin [positions, D/2]
     */
    public static void forward(float[] q, float[] k, int[] pos, float[] cos, float[] sin, int N, int H, int KV, int D) {
        rotate(q, k, pos, cos, sin, N, H, KV, D, false);
    }

    /**
     * Rotates the gradients dq and dk back in place (the transpose of the forward rotation).
     *
     * @param dq  [N,H*D] in: gradient w.r.t. rotated q; out: gradient w.r.t. q before RoPE
     * @param dk  [N,KV*D] likewise for k
     * @param pos [N] the forward's positions
     * @param cos [positions, D/2]
     * @param sin [positions, D/2]
     */
    public static void backward(float[] dq, float[] dk, int[] pos, float[] cos, float[] sin, int N, int H, int KV, int D) {
        rotate(dq, dk, pos, cos, sin, N, H, KV, D, true);
    }

    private static void rotate(float[] q, float[] k, int[] pos, float[] cos, float[] sin, int N, int H, int KV, int D,
                               boolean inverse) {
        Require.sizes(N, H, KV, D);
        if (D % 2 != 0) {
            throw new IllegalArgumentException("RoPE head dimension must be even, got " + D);
        }
        Require.length("q", q, (long) N * H * D);
        Require.length("k", k, (long) N * KV * D);
        Require.length("pos", pos, N);
        Require.distinct("Rope", "q, k, cos, sin", q, k, cos, sin);
        int half = D / 2;
        for (int n = 0; n < N; n++) {
            if (pos[n] < 0 || (long) (pos[n] + 1) * half > Math.min(cos.length, sin.length)) {
                throw new IllegalArgumentException("position " + pos[n] + " at row " + n + " is outside the RoPE tables ("
                        + Math.min(cos.length, sin.length) / Math.max(1, half) + " positions)");
            }
        }
        Parallel.forRange(N, Grain.rows((long) (H + KV) * D), (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                int cs = pos[n] * half;
                if (inverse) {
                    // forward: q_n = rotate(q_n, pos[n]), k_n likewise  ->  d(pre) = rotate^T d(post) = rotate(d, -pos[n])
                    Ops.ropeInverse(cos, sin, cs, q, n * H * D, H, D);
                    Ops.ropeInverse(cos, sin, cs, k, n * KV * D, KV, D);
                } else {
                    Ops.rope(cos, sin, cs, q, n * H * D, H, D);
                    Ops.rope(cos, sin, cs, k, n * KV * D, KV, D);
                }
            }
        });
    }
}
