package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;

/**
 * Inverted dropout with an explicit mask (PyTorch's nn.Dropout in training mode): each element is
 * kept and scaled by 1/(1-p) or zeroed with probability p. The mask holds those factors (0 or
 * 1/(1-p)), so forward and backward are the same element-wise product and a gradient check can
 * hold the mask fixed.
 *
 * <p>The mask comes from a counter-based generator: element i depends only on (seed, i), so the
 * same seed gives the same mask whatever the thread count or chunking. Derive one seed per
 * (step, layer, module) for independent masks.
 *
 * <p>Legend: n elements (N*in for a LoRA input).
 */
public final class Dropout {
    private Dropout() {
    }

    /**
     * mask[i] = 0 with probability p, else 1/(1-p), for i &lt; n.
     *
     * @param mask [n] overwritten
     * @param p    drop probability in [0, 1)
     * @param seed any long; equal seeds give equal masks
     */
    public static void sampleMask(float[] mask, float p, long seed, int n) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        Require.sizes(n);
        Require.length("mask", mask, n);
        float keep = (float) (1.0 / (1.0 - p));
        Parallel.forRange(n, Grain.MIN_CHUNK_FLOATS, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                mask[i] = uniform(seed, i) < p ? 0f : keep;
            }
        });
    }

    /**
     * out = x * mask element-wise.
     *
     * @param out  [n] overwritten (may be x itself)
     * @param x    [n]
     * @param mask [n] from {@link #sampleMask}
     */
    public static void forward(float[] out, float[] x, float[] mask, int n) {
        Require.sizes(n);
        Require.length("out", out, n);
        Require.length("x", x, n);
        Require.length("mask", mask, n);
        Require.distinct("Dropout.forward", "out, mask", out, mask);
        Parallel.forRange(n, Grain.MIN_CHUNK_FLOATS, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                out[i] = x[i] * mask[i];
            }
        });
    }

    /**
     * dx += dOut * mask element-wise.
     *
     * @param dx   [n] accumulated
     * @param dOut [n]
     * @param mask [n] the forward's mask
     */
    public static void backward(float[] dx, float[] dOut, float[] mask, int n) {
        Require.sizes(n);
        Require.length("dx", dx, n);
        Require.length("dOut", dOut, n);
        Require.length("mask", mask, n);
        Require.distinct("Dropout.backward", "dx, dOut, mask", dx, dOut, mask);
        Parallel.forRange(n, Grain.MIN_CHUNK_FLOATS, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                // out = x * mask
                dx[i] += dOut[i] * mask[i];
            }
        });
    }

    /** A uniform double in [0, 1) from (seed, i): the SplitMix64 output for counter i. */
    static double uniform(long seed, long i) {
        long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
