package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.ops.Ops;

/**
 * RMSNorm over the channels of each row: {@code out = x * rstd * w} with
 * {@code rstd = 1 / sqrt(mean(x^2) + eps)} (Llama's LlamaRMSNorm, float32 throughout as in
 * inference; the mean of squares is summed in float64). The forward saves rstd per row for the
 * backward.
 *
 * <p>Legend: N rows (B*T), C channels.
 */
public final class RmsNorm {
    private RmsNorm() {
    }

    /**
     * out[N,C] = x * rstd * w; rstd[N] saved.
     *
     * @param out  [N,C] overwritten; may be x itself (in place) only if the caller does not need x for the backward
     * @param rstd [N] overwritten: 1/sqrt(mean(x^2) + eps) of each row
     * @param x    [N,C]
     * @param w    [C] norm weight
     */
    public static void forward(float[] out, float[] rstd, float[] x, float[] w, float eps, int N, int C) {
        Require.sizes(N, C);
        Require.length("out", out, (long) N * C);
        Require.length("rstd", rstd, N);
        Require.length("x", x, (long) N * C);
        Require.length("w", w, C);
        Require.distinct("RmsNorm.forward", "out, rstd, w", out, rstd, w);
        Require.distinct("RmsNorm.forward", "rstd, x", rstd, x);
        Parallel.forRange(N, Grain.rows(C), (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                int row = n * C;
                double ss = Ops.dot(x, row, x, row, C); // vectorised, lanes summed in a fixed order
                float r = (float) (1.0 / Math.sqrt(ss / C + eps));
                rstd[n] = r;
                for (int i = 0; i < C; i++) {
                    out[row + i] = x[row + i] * r * w[i];
                }
            }
        });
    }

    /**
     * dx += d(out)/dx^T dOut and dw += d(out)/dw^T dOut.
     *
     * @param dx   [N,C] accumulated, or null to skip
     * @param dw   [C] accumulated, or null when the weight is frozen
     * @param dOut [N,C]
     * @param x    [N,C] the forward input
     * @param w    [C]
     * @param rstd [N] saved by the forward
     */
    public static void backward(float[] dx, float[] dw, float[] dOut, float[] x, float[] w, float[] rstd, int N, int C) {
        Require.sizes(N, C);
        Require.lengthOrNull("dx", dx, (long) N * C);
        Require.lengthOrNull("dw", dw, C);
        Require.length("dOut", dOut, (long) N * C);
        Require.length("x", x, (long) N * C);
        Require.length("w", w, C);
        Require.length("rstd", rstd, N);
        Require.distinct("RmsNorm.backward", "dx, dw, dOut, x, w, rstd", dx, dw, dOut, x, w, rstd);
        if (dx != null) {
            Parallel.forRange(N, Grain.rows(C), (n0, n1) -> {
                float[] g = new float[C]; // dOut_i w_i of one row
                for (int n = n0; n < n1; n++) {
                    int row = n * C;
                    double r = rstd[n];
                    // out_i = x_i * r * w_i with r = (sum_j x_j^2 / C + eps)^(-1/2), so dr/dx_j = -r^3 x_j / C:
                    // dx_j = r w_j dOut_j - (r^3 / C) x_j sum_i dOut_i w_i x_i   (vectorised kernels)
                    Ops.mul(dOut, row, w, 0, g, 0, C);
                    double dot = Ops.dot(g, 0, x, row, C);
                    double k = r * r * r * dot / C;
                    Ops.axpy((float) r, g, 0, dx, row, C);
                    Ops.axpy((float) -k, x, row, dx, row, C);
                }
            });
        }
        if (dw != null) {
            // out_i = x_i * r * w_i: dw_i = sum_n dOut_ni x_ni r_n (column blocks in parallel; each block
            // walks the rows in order, reading contiguous row segments, and sums each column in float64)
            Parallel.forRange(C, Math.max(1, Grain.rows(N)), (c0, c1) -> {
                double[] acc = new double[c1 - c0];
                for (int n = 0; n < N; n++) {
                    int row = n * C;
                    double r = rstd[n];
                    for (int i = c0; i < c1; i++) {
                        acc[i - c0] += (double) dOut[row + i] * x[row + i] * r;
                    }
                }
                for (int i = c0; i < c1; i++) {
                    dw[i] += (float) acc[i - c0];
                }
            });
        }
    }
}
