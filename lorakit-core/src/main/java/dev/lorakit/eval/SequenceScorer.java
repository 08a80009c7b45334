package dev.lorakit.eval;

import dev.lorakit.model.LanguageModel;
import dev.lorakit.model.SequenceCache;
import java.util.ArrayList;
import java.util.List;

/**
 * Teacher-forced scoring of token sequences: for each position t >= from, log p(token[t] |
 * tokens before t) and whether the model's top prediction there was token[t]. Sequences are
 * packed into batched forward passes of a bounded number of rows (logits memory = rows x V).
 */
public final class SequenceScorer {
    private final LanguageModel model;
    private final int maxRows;

    /**
     * Scores of one sequence.
     *
     * @param logProbs log p(token[t] | prefix) for t = from .. length-1 (natural log)
     * @param topMatches whether argmax of the logits at t-1 was token[t]
     * @param topTokens the argmax of the logits at t-1 (the model's greedy choice for position t)
     */
    public record Scored(double[] logProbs, boolean[] topMatches, int[] topTokens) {
        /** Sum of the log-probabilities. */
        public double total() {
            double s = 0;
            for (double v : logProbs) {
                s += v;
            }
            return s;
        }

        /** True when every scored token was the model's top prediction. */
        public boolean allTop() {
            for (boolean b : topMatches) {
                if (!b) {
                    return false;
                }
            }
            return true;
        }
    }

    public SequenceScorer(LanguageModel model) {
        this.model = model;
        int vocab = model.vocabSize();
        this.maxRows = Math.max(1, Math.min(4096, (16 << 20) / vocab));
    }

    /** Scores every sequence from its own start index (>= 1: the first token has no prediction). */
    public Scored[] score(int[][] seqs, int[] from) {
        Scored[] out = new Scored[seqs.length];
        int vocab = model.vocabSize();
        int i = 0;
        while (i < seqs.length) {
            // Pack sequences until the row budget is used (at least one sequence per batch).
            List<Integer> batch = new ArrayList<>();
            int rows = 0;
            while (i < seqs.length && (batch.isEmpty() || rows + seqs[i].length <= maxRows)) {
                if (from[i] < 1 || from[i] > seqs[i].length) {
                    throw new IllegalArgumentException("sequence " + i + ": scoring must start in [1, " + seqs[i].length + "], got " + from[i]);
                }
                batch.add(i);
                rows += seqs[i].length;
                i++;
            }
            SequenceCache[] caches = new SequenceCache[batch.size()];
            int[][] tokens = new int[batch.size()][];
            for (int b = 0; b < batch.size(); b++) {
                tokens[b] = seqs[batch.get(b)];
                caches[b] = model.newCache(tokens[b].length);
            }
            float[] logits = model.forward(caches, tokens, true);
            int rowBase = 0;
            for (int b = 0; b < batch.size(); b++) {
                int s = batch.get(b);
                int[] seq = seqs[s];
                int n = seq.length - from[s];
                double[] lp = new double[n];
                boolean[] top = new boolean[n];
                int[] topTokens = new int[n];
                for (int t = from[s]; t < seq.length; t++) {
                    int off = (rowBase + t - 1) * vocab; // logits at t-1 predict token t
                    lp[t - from[s]] = logSoftmaxAt(logits, off, vocab, seq[t]);
                    topTokens[t - from[s]] = argmax(logits, off, vocab);
                    top[t - from[s]] = topTokens[t - from[s]] == seq[t];
                }
                out[s] = new Scored(lp, top, topTokens);
                rowBase += seq.length;
            }
        }
        return out;
    }

    /** log softmax(row)[target], in float64. */
    static double logSoftmaxAt(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, logits[off + j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += Math.exp(logits[off + j] - max);
        }
        return logits[off + target] - max - Math.log(sum);
    }

    /** Index of the largest logit (the first one on ties). */
    static int argmax(float[] logits, int off, int n) {
        int best = 0;
        for (int j = 1; j < n; j++) {
            if (logits[off + j] > logits[off + best]) {
                best = j;
            }
        }
        return best;
    }
}
