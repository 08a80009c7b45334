package dev.lorakit.compress;

import dev.lorakit.model.KvCache;
import dev.lorakit.model.LlamaModel;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Per-input-feature activation statistics of every linear layer over calibration tokens: for
 * module M and input feature j, the sum over all tokens t of X_tj^2, where X is M's own input
 * (the normed hidden state for q/k/v and gate/up, the attention output for o_proj, the SwiGLU
 * product for down_proj, the final normed state for lm_head). Its square root ||X_j||_2 is what
 * Wanda multiplies |W_ij| by. Wanda's reference code keeps the mean over samples instead of the
 * sum; a constant factor per layer changes no comparison.
 *
 * <p>Collected in one forward pass per calibration sequence through the uncompressed model (each
 * sequence on its own, so no padding enters the sums); accumulated in float64. Wanda's reference
 * code instead feeds each layer the outputs of the already-pruned layers before it; this one-pass
 * variant is what the norms here mean.
 */
public final class ActivationNorms {
    private final Map<String, double[]> sumsOfSquares;
    private final int sequences;
    private final long tokens;

    private ActivationNorms(Map<String, double[]> sumsOfSquares, int sequences, long tokens) {
        this.sumsOfSquares = sumsOfSquares;
        this.sequences = sequences;
        this.tokens = tokens;
    }

    /**
     * Runs every sequence through {@code model} (no adapters should be attached) and accumulates
     * the input sums of squares of every linear layer.
     *
     * @param sequenceDone called after each sequence with its index (progress), or null
     */
    public static ActivationNorms collect(LlamaModel model, List<int[]> sequences, IntConsumer sequenceDone) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        long tokens = 0;
        model.observeLinearInputs((module, x, rows, in) -> {
            double[] s = sums.computeIfAbsent(module, k -> new double[in]);
            for (int r = 0; r < rows; r++) {
                int off = r * in;
                for (int j = 0; j < in; j++) {
                    double v = x[off + j];
                    s[j] += v * v;
                }
            }
        });
        try {
            for (int i = 0; i < sequences.size(); i++) {
                int[] ids = sequences.get(i);
                model.forward(new KvCache[] {model.newCache(ids.length)}, new int[][] {ids}, false);
                tokens += ids.length;
                if (sequenceDone != null) {
                    sequenceDone.accept(i);
                }
            }
        } finally {
            model.observeLinearInputs(null);
        }
        return new ActivationNorms(Collections.unmodifiableMap(sums), sequences.size(), tokens);
    }

    /** Module paths seen (e.g. "model.layers.0.self_attn.q_proj", "lm_head"), in first-call order. */
    public Set<String> modules() {
        return sumsOfSquares.keySet();
    }

    /** Sequences run. */
    public int sequences() {
        return sequences;
    }

    /** Tokens run (every position of every sequence). */
    public long tokens() {
        return tokens;
    }

    /** sum_t X_tj^2 for each input feature j of a module (a copy). */
    public double[] sumOfSquares(String module) {
        return require(module).clone();
    }

    /** ||X_j||_2 = sqrt(sum_t X_tj^2) for each input feature j of a module, as float32. */
    public float[] norms(String module) {
        double[] s = require(module);
        float[] out = new float[s.length];
        for (int j = 0; j < s.length; j++) {
            out[j] = (float) Math.sqrt(s[j]);
        }
        return out;
    }

    private double[] require(String module) {
        double[] s = sumsOfSquares.get(module);
        if (s == null) {
            throw new IllegalArgumentException("no calibration statistics for module " + module + " (have " + modules() + ")");
        }
        return s;
    }
}
