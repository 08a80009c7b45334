package dev.lorakit.perf;

import dev.lorakit.model.KvCache;
import dev.lorakit.model.LlamaModel;
import java.util.Random;

/**
 * Times a model's prefill (one prompt of P tokens through the matmul path) and decode (G single
 * tokens through the KV cache, optionally B sequences at once), after a warm-up run. Reports
 * seconds; the caller turns them into tokens/s, GFLOP/s and ratios.
 */
public final class DecodeBenchmark {
    /**
     * @param prefillSeconds best time of one P-token prefill
     * @param decodeSecondsPerStep median time of one decode step (B tokens, one per sequence)
     * @param promptTokens P
     * @param decodeSteps G
     * @param batch B
     */
    public record Result(double prefillSeconds, double decodeSecondsPerStep, int promptTokens, int decodeSteps, int batch) {
    }

    private DecodeBenchmark() {
    }

    /** Runs the benchmark {@code reps} times (plus one warm-up) and keeps the best/median. */
    public static Result run(LlamaModel model, int promptTokens, int decodeSteps, int batch, int reps, long seed) {
        Random rnd = new Random(seed);
        int vocab = model.config().vocabSize();
        int[] prompt = new int[promptTokens];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = rnd.nextInt(vocab);
        }
        double bestPrefill = Double.MAX_VALUE;
        double[] stepTimes = new double[reps * decodeSteps];
        int k = 0;
        for (int r = 0; r < reps + 1; r++) {
            KvCache[] caches = new KvCache[batch];
            int[][] first = new int[batch][];
            for (int b = 0; b < batch; b++) {
                caches[b] = model.newCache(promptTokens + decodeSteps);
                first[b] = prompt;
            }
            long t0 = System.nanoTime();
            model.forward(new KvCache[] {caches[0]}, new int[][] {prompt}, false);
            double prefill = (System.nanoTime() - t0) / 1e9;
            for (int b = 1; b < batch; b++) {
                model.forward(new KvCache[] {caches[b]}, new int[][] {prompt}, false);
            }
            int[][] next = new int[batch][1];
            for (int s = 0; s < decodeSteps; s++) {
                for (int b = 0; b < batch; b++) {
                    next[b][0] = rnd.nextInt(vocab);
                }
                long t1 = System.nanoTime();
                model.forward(caches, next, false);
                double dt = (System.nanoTime() - t1) / 1e9;
                if (r > 0) {
                    stepTimes[k++] = dt;
                }
            }
            if (r > 0) {
                bestPrefill = Math.min(bestPrefill, prefill);
            }
        }
        java.util.Arrays.sort(stepTimes);
        return new Result(bestPrefill, stepTimes[stepTimes.length / 2], promptTokens, decodeSteps, batch);
    }
}
