package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import dev.lorakit.tensor.ops.Ops;

/**
 * Token embedding lookup: {@code out[n] = table[ids[n]]}. The table stays in its stored dtype
 * (rows are converted to float32 as they are read); its gradient (for full training) is a dense
 * F32 {@code float[V*C]}.
 *
 * <p>Legend: N rows (B*T), C channels, V vocabulary.
 */
public final class Embedding {
    private Embedding() {
    }

    /**
     * out[N,C] = table[ids[n], :] for every row n.
     *
     * @param out   [N,C] overwritten
     * @param ids   [N] token ids in [0, V)
     * @param table [V,C] frozen, any compute dtype
     */
    public static void forward(float[] out, int[] ids, Tensor table, int N) {
        int V = table.dim(0);
        int C = table.dim(1);
        Require.sizes(N);
        Require.matrix("table", table, V, C);
        Require.length("out", out, (long) N * C);
        Require.length("ids", ids, N);
        checkIds(ids, N, V);
        long rowBytes = (long) C * table.dtype().byteSize();
        Parallel.forRange(N, Grain.rows(C), (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                Convert.toF32(table.segment(), ids[n] * rowBytes, table.dtype(), out, n * C, C);
            }
        });
    }

    /**
     * dTable[ids[n], :] += dOut[n, :] for every row n (rows sharing an id add up). Runs on the
     * calling thread (N*C additions, and repeated ids would race).
     *
     * @param dTable [V,C] accumulated
     * @param dOut   [N,C]
     * @param ids    [N] token ids in [0, V)
     */
    public static void backward(float[] dTable, float[] dOut, int[] ids, int N, int V, int C) {
        Require.sizes(N, V, C);
        Require.length("dTable", dTable, (long) V * C);
        Require.length("dOut", dOut, (long) N * C);
        Require.length("ids", ids, N);
        Require.distinct("Embedding.backward", "dTable, dOut", dTable, dOut);
        checkIds(ids, N, V);
        for (int n = 0; n < N; n++) {
            // out[n] = table[ids[n]]
            Ops.add(dTable, ids[n] * C, dOut, n * C, dTable, ids[n] * C, C);
        }
    }

    private static void checkIds(int[] ids, int N, int V) {
        for (int n = 0; n < N; n++) {
            if (ids[n] < 0 || ids[n] >= V) {
                throw new IllegalArgumentException("token id " + ids[n] + " at row " + n + " is outside the vocabulary [0, " + V + ")");
            }
        }
    }
}
