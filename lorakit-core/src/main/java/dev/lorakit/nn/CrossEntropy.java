package dev.lorakit.nn;

import dev.lorakit.tensor.Parallel;
import java.util.Arrays;

/**
 * Softmax cross-entropy of next-token logits against target ids, PyTorch's
 * {@code F.cross_entropy(logits, targets, ignore_index=-100)}: per row
 * {@code loss = logsumexp(logits) - logits[target]}; rows whose target is {@link #IGNORE} (-100:
 * padding, prompt tokens) contribute nothing. Numerically stable: the max is subtracted and the
 * sum of exponentials is accumulated in float64.
 *
 * <p><b>Normaliser.</b> The loss is a sum over counted rows divided by a normaliser. With one
 * batch per optimizer step it is the count of non-ignored targets ({@link #countTargets}; the
 * 5-argument {@link #forward(float[], float[], int[], int, int)} does this). With gradient
 * accumulation over micro-batches, pass the count over <i>all</i> micro-batches of the step to
 * both forward and backward: the summed gradients are then exactly those of the mean over the
 * whole accumulated batch (a per-micro-batch mean would weight short micro-batches up).
 *
 * <p>Legend: N rows (B*T), V vocabulary.
 */
public final class CrossEntropy {
    /** The target id of a row that is not scored (PyTorch's default ignore_index). */
    public static final int IGNORE = -100;

    private CrossEntropy() {
    }

    /** Number of rows among the first N whose target is not {@link #IGNORE}. */
    public static int countTargets(int[] targets, int N) {
        Require.sizes(N);
        Require.length("targets", targets, N);
        int count = 0;
        for (int n = 0; n < N; n++) {
            if (targets[n] != IGNORE) {
                count++;
            }
        }
        return count;
    }

    /**
     * The mean loss over the non-ignored rows (NaN when every row is ignored, as PyTorch).
     *
     * @param losses  [N] overwritten: each row's loss, 0 for ignored rows
     * @param logits  [N,V]
     * @param targets [N] ids in [0, V) or {@link #IGNORE}
     */
    public static double forward(float[] losses, float[] logits, int[] targets, int N, int V) {
        int count = countTargets(targets, N);
        double sum = forward(losses, logits, targets, 1.0, N, V);
        return count == 0 ? Double.NaN : sum / count;
    }

    /**
     * sum of the non-ignored rows' losses / normaliser (see the class comment).
     *
     * @param losses     [N] overwritten: each row's loss, 0 for ignored rows
     * @param logits     [N,V]
     * @param targets    [N] ids in [0, V) or {@link #IGNORE}
     * @param normaliser positive, usually the count of non-ignored targets in the optimizer step
     */
    public static double forward(float[] losses, float[] logits, int[] targets, double normaliser, int N, int V) {
        check(logits, targets, normaliser, N, V);
        Require.length("losses", losses, N);
        Require.distinct("CrossEntropy.forward", "losses, logits", losses, logits);
        Parallel.forRange(N, Grain.rows(V), (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                // loss_n = logsumexp(logits_n) - logits_n[target_n]
                losses[n] = targets[n] == IGNORE ? 0f : (float) (logSumExp(logits, n * V, V) - logits[n * V + targets[n]]);
            }
        });
        double sum = 0;
        for (int n = 0; n < N; n++) {
            sum += losses[n];
        }
        return sum / normaliser;
    }

    /**
     * dLogits += (softmax(logits) - onehot(target)) / normaliser for non-ignored rows (ignored rows
     * get nothing).
     *
     * @param dLogits    [N,V] accumulated
     * @param logits     [N,V]
     * @param targets    [N]
     * @param normaliser the forward's normaliser ({@link #countTargets} for the plain mean)
     */
    public static void backward(float[] dLogits, float[] logits, int[] targets, double normaliser, int N, int V) {
        check(logits, targets, normaliser, N, V);
        Require.length("dLogits", dLogits, (long) N * V);
        Require.distinct("CrossEntropy.backward", "dLogits, logits", dLogits, logits);
        gradient(dLogits, logits, targets, normaliser, N, V, true);
    }

    /**
     * The same gradient as {@link #backward}, overwriting the logits with it (0 rows for ignored
     * targets): saves an [N,V] buffer when the vocabulary is large and the logits are not needed
     * afterwards.
     *
     * @param logits     [N,V] in: logits; out: d(loss)/d(logits)
     * @param targets    [N]
     * @param normaliser the forward's normaliser
     */
    public static void backwardInPlace(float[] logits, int[] targets, double normaliser, int N, int V) {
        check(logits, targets, normaliser, N, V);
        gradient(logits, logits, targets, normaliser, N, V, false);
    }

    private static void gradient(float[] dLogits, float[] logits, int[] targets, double normaliser, int N, int V,
                                 boolean accumulate) {
        Parallel.forRange(N, Grain.rows(V), (n0, n1) -> {
            for (int n = n0; n < n1; n++) {
                int row = n * V;
                int target = targets[n];
                if (target == IGNORE) {
                    if (!accumulate) {
                        Arrays.fill(dLogits, row, row + V, 0f);
                    }
                    continue;
                }
                // loss = logsumexp(x) - x[target]  ->  dx_i = (softmax(x)_i - [i == target]) / normaliser
                double lse = logSumExp(logits, row, V);
                for (int i = 0; i < V; i++) {
                    double p = Math.exp(logits[row + i] - lse);
                    float d = (float) ((p - (i == target ? 1.0 : 0.0)) / normaliser);
                    dLogits[row + i] = accumulate ? dLogits[row + i] + d : d;
                }
            }
        });
    }

    /** log(sum_i exp(x[off+i])), max-subtracted, summed in float64. */
    private static double logSumExp(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp((double) x[off + i] - max);
        }
        return max + Math.log(sum);
    }

    private static void check(float[] logits, int[] targets, double normaliser, int N, int V) {
        Require.sizes(N, V);
        Require.length("logits", logits, (long) N * V);
        Require.length("targets", targets, N);
        if (!(normaliser > 0) || Double.isInfinite(normaliser)) {
            throw new IllegalArgumentException("cross-entropy normaliser must be positive and finite, got " + normaliser);
        }
        for (int n = 0; n < N; n++) {
            if (targets[n] != IGNORE && (targets[n] < 0 || targets[n] >= V)) {
                throw new IllegalArgumentException("target " + targets[n] + " at row " + n + " is outside [0, " + V
                        + ") and is not the ignore index " + IGNORE);
            }
        }
    }
}
