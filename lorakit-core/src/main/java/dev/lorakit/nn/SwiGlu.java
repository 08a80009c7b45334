package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.ops.Ops;

/**
 * The gated activation of the Llama MLP: {@code h = silu(gate) * up} element-wise, with
 * silu(x) = x sigmoid(x).
 *
 * <p>Legend: N rows (B*T), F FFN size; n = N*F elements.
 */
public final class SwiGlu {
    private SwiGlu() {
    }

    /**
     * h = silu(gate) * up.
     *
     * @param h    [N,F] overwritten (may be gate or up itself, in place, if the backward does not need it)
     * @param gate [N,F]
     * @param up   [N,F]
     */
    public static void forward(float[] h, float[] gate, float[] up, int n) {
        Require.sizes(n);
        Require.length("h", h, n);
        Require.length("gate", gate, n);
        Require.length("up", up, n);
        Parallel.forRange(n, Grain.MIN_CHUNK_FLOATS, (i0, i1) -> Ops.swiglu(gate, i0, up, i0, h, i0, i1 - i0));
    }

    /**
     * dGate += dh * up * silu'(gate); dUp += dh * silu(gate).
     *
     * @param dGate [N,F] accumulated
     * @param dUp   [N,F] accumulated
     * @param dh    [N,F]
     * @param gate  [N,F] the forward's gate
     * @param up    [N,F] the forward's up
     */
    public static void backward(float[] dGate, float[] dUp, float[] dh, float[] gate, float[] up, int n) {
        Require.sizes(n);
        Require.length("dGate", dGate, n);
        Require.length("dUp", dUp, n);
        Require.length("dh", dh, n);
        Require.length("gate", gate, n);
        Require.length("up", up, n);
        Require.distinct("SwiGlu.backward", "dGate, dUp, dh, gate, up", dGate, dUp, dh, gate, up);
        Parallel.forRange(n, Grain.MIN_CHUNK_FLOATS, (i0, i1) -> {
            int len = i1 - i0;
            float[] silu = new float[len];  // silu(gate)
            float[] dsilu = new float[len]; // silu'(gate) = sig (1 + g (1 - sig))
            Ops.silu(gate, i0, silu, 0, len);
            Ops.dsilu(gate, i0, dsilu, 0, len);
            // h = silu(gate) * up  ->  dGate += dh * up * silu'(gate) ; dUp += dh * silu(gate)
            Ops.mul(dsilu, 0, up, i0, dsilu, 0, len);
            Ops.mul(dsilu, 0, dh, i0, dsilu, 0, len);
            Ops.add(dGate, i0, dsilu, 0, dGate, i0, len);
            Ops.mul(silu, 0, dh, i0, silu, 0, len);
            Ops.add(dUp, i0, silu, 0, dUp, i0, len);
        });
    }
}
