package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;

/**
 * A linear layer with a frozen weight: {@code y = x W^T + b}, W [out, in] as PyTorch stores it,
 * kept in its stored dtype (F32/BF16/F16, possibly memory-mapped). The backward through a frozen
 * weight is a matmul with the same weight untransposed, {@code dx += dy W}, streamed in its stored
 * dtype like the forward. Weight and bias gradients are there for full-parameter training.
 *
 * <p>Legend: N rows (B*T), in input features, out output features.
 */
public final class Linear {
    private Linear() {
    }

    /**
     * y[N,out] = x[N,in] W^T + bias.
     *
     * @param y    [N,out] overwritten
     * @param x    [N,in]
     * @param W    [out,in] frozen, any compute dtype
     * @param bias [out] or null
     */
    public static void forward(float[] y, float[] x, Tensor W, float[] bias, int N) {
        int out = W.dim(0);
        int in = W.dim(1);
        Require.sizes(N);
        Require.matrix("W", W, out, in);
        Require.length("y", y, (long) N * out);
        Require.length("x", x, (long) N * in);
        Require.lengthOrNull("bias", bias, out);
        Require.distinct("Linear.forward", "y, x, bias", y, x, bias);
        Matmul.gemm(Tensor.view(x, 0, N, in), false, W, true, Tensor.view(y, 0, N, out), false);
        if (bias != null) {
            Parallel.forRange(N, Grain.rows(out), (n0, n1) -> {
                for (int n = n0; n < n1; n++) {
                    Ops.add(y, n * out, bias, 0, y, n * out, out);
                }
            });
        }
    }

    /**
     * dx[N,in] += dy[N,out] W (the gradient of y = x W^T with respect to x).
     *
     * @param dx [N,in] accumulated
     * @param dy [N,out]
     * @param W  [out,in] the forward's weight
     */
    public static void backwardInput(float[] dx, float[] dy, Tensor W, int N) {
        backwardInput(dx, dy, W, N, true);
    }

    /**
     * dx[N,in] = dy[N,out] W, or dx += dy W when {@code accumulate}: the first contribution to a
     * gradient buffer overwrites it, which saves zero-filling the buffer first.
     */
    public static void backwardInput(float[] dx, float[] dy, Tensor W, int N, boolean accumulate) {
        int out = W.dim(0);
        int in = W.dim(1);
        Require.sizes(N);
        Require.matrix("W", W, out, in);
        Require.length("dx", dx, (long) N * in);
        Require.length("dy", dy, (long) N * out);
        Require.distinct("Linear.backwardInput", "dx, dy", dx, dy);
        // y = x W^T  ->  dx += dy W
        Matmul.gemm(Tensor.view(dy, 0, N, out), false, W, false, Tensor.view(dx, 0, N, in), accumulate);
    }

    /**
     * dW[out,in] += dy^T x (the gradient of y = x W^T with respect to W).
     *
     * @param dW [out,in] accumulated, F32
     * @param dy [N,out]
     * @param x  [N,in] the forward's input
     */
    public static void backwardWeight(float[] dW, float[] dy, float[] x, int N, int in, int out) {
        Require.sizes(N, in, out);
        Require.length("dW", dW, (long) out * in);
        Require.length("dy", dy, (long) N * out);
        Require.length("x", x, (long) N * in);
        Require.distinct("Linear.backwardWeight", "dW, dy, x", dW, dy, x);
        // y = x W^T  ->  dW += dy^T x
        Matmul.gemm(Tensor.view(dy, 0, N, out), true, Tensor.view(x, 0, N, in), false, Tensor.view(dW, 0, out, in), true);
    }

    /**
     * db[out] += sum over rows of dy (the gradient of y = ... + b), summed in float64.
     *
     * @param db [out] accumulated
     * @param dy [N,out]
     */
    public static void backwardBias(float[] db, float[] dy, int N, int out) {
        Require.sizes(N, out);
        Require.length("db", db, out);
        Require.length("dy", dy, (long) N * out);
        Require.distinct("Linear.backwardBias", "db, dy", db, dy);
        // y_n = ... + b  ->  db += sum_n dy_n (column blocks in parallel, rows in order, contiguous segments)
        Parallel.forRange(out, Grain.rows(N), (o0, o1) -> {
            double[] acc = new double[o1 - o0];
            for (int n = 0; n < N; n++) {
                int row = n * out;
                for (int o = o0; o < o1; o++) {
                    acc[o - o0] += dy[row + o];
                }
            }
            for (int o = o0; o < o1; o++) {
                db[o] += (float) acc[o - o0];
            }
        });
    }
}
