package dev.lorakit.eval;

import dev.lorakit.BadInputException;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LanguageModel;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.model.SequenceCache;
import dev.lorakit.tensor.Parallel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The output ensemble of n models (typically one base model with one adapter each): its next-token
 * distribution is the mean of the members' distributions, so its "logits" are
 * {@code log(mean_i softmax(logits_i))} (a log-probability vector: its softmax is itself). Greedy
 * decoding, teacher-forced scoring and the {@link Evaluator} use it like any {@link LanguageModel};
 * every step runs every member (n forward passes).
 *
 * <p>Each sequence's cache holds one cache per member. The members must share the vocabulary;
 * they are closed with the ensemble only when it opened them ({@link #open}).
 */
public final class EnsembleModel implements LanguageModel, AutoCloseable {
    private final List<LanguageModel> members;
    private final List<AutoCloseable> owned;
    private final int vocab;
    private final double logN;

    /** An ensemble of {@code members} (at least one, same vocabulary); the caller keeps ownership of them. */
    public EnsembleModel(List<? extends LanguageModel> members) {
        this(members, List.of());
    }

    private EnsembleModel(List<? extends LanguageModel> members, List<AutoCloseable> owned) {
        if (members.isEmpty()) {
            throw new IllegalArgumentException("an ensemble needs at least one member");
        }
        this.members = List.copyOf(members);
        this.owned = List.copyOf(owned);
        this.vocab = members.get(0).vocabSize();
        for (int i = 1; i < members.size(); i++) {
            if (members.get(i).vocabSize() != vocab) {
                throw new BadInputException("ensemble member " + (i + 1) + " has a vocabulary of " + members.get(i).vocabSize()
                        + " tokens, member 1 has " + vocab + "; the members must share one vocabulary");
            }
        }
        this.logN = Math.log(members.size());
    }

    /**
     * Opens {@code modelDir} once per member, with that member's adapters (unmerged, or folded into
     * private weight copies when {@code merge}); the ensemble owns and closes them.
     */
    public static EnsembleModel open(Path modelDir, List<List<AdapterRef>> memberAdapters, boolean merge) {
        List<LlamaModel> opened = new ArrayList<>();
        try {
            for (List<AdapterRef> adapters : memberAdapters) {
                opened.add(LlamaModel.open(modelDir, adapters, merge));
            }
            return new EnsembleModel(opened, List.copyOf(opened));
        } catch (RuntimeException | Error e) {
            opened.forEach(LlamaModel::close);
            throw e;
        }
    }

    /** The members, in order. */
    public List<LanguageModel> members() {
        return members;
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public SequenceCache newCache(int initialCapacity) {
        SequenceCache[] parts = new SequenceCache[members.size()];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = members.get(i).newCache(initialCapacity);
        }
        return new MemberCaches(parts);
    }

    /** Runs every member on its own caches, then combines the rows (see the class comment). */
    @Override
    public float[] forward(SequenceCache[] caches, int[][] tokens, boolean allPositions) {
        int n = members.size();
        float[][] memberLogits = new float[n][];
        for (int i = 0; i < n; i++) {
            SequenceCache[] own = new SequenceCache[caches.length];
            for (int s = 0; s < caches.length; s++) {
                if (!(caches[s] instanceof MemberCaches m) || m.parts.length != n) {
                    throw new IllegalArgumentException("cache " + s + " was not made by this ensemble's newCache");
                }
                own[s] = m.parts[i];
            }
            memberLogits[i] = members.get(i).forward(own, tokens, allPositions);
        }
        int rows = memberLogits[0].length / vocab;
        float[] out = new float[rows * vocab];
        Parallel.forRange(rows, 8, (from, to) -> {
            double[] lse = new double[n];
            for (int r = from; r < to; r++) {
                combineRow(memberLogits, r * vocab, lse, out);
            }
        });
        return out;
    }

    /**
     * out[j] = log(mean_i exp(l_ij - lse_i)) for one row at {@code off}, in float64: lse_i is
     * member i's log-sum-exp, and the mean is taken after shifting by the largest term.
     */
    private void combineRow(float[][] logits, int off, double[] lse, float[] out) {
        int n = logits.length;
        for (int i = 0; i < n; i++) {
            lse[i] = logSumExp(logits[i], off, vocab);
        }
        for (int j = 0; j < vocab; j++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, logits[i][off + j] - lse[i]);
            }
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += Math.exp(logits[i][off + j] - lse[i] - max);
            }
            out[off + j] = (float) (max + Math.log(sum) - logN);
        }
    }

    private static double logSumExp(float[] x, int off, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            max = Math.max(max, x[off + j]);
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            sum += Math.exp(x[off + j] - max);
        }
        return max + Math.log(sum);
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** One sequence's caches: one per member, advanced together. */
    private static final class MemberCaches implements SequenceCache {
        private final SequenceCache[] parts;

        MemberCaches(SequenceCache[] parts) {
            this.parts = parts;
        }

        @Override
        public int length() {
            return parts[0].length();
        }

        @Override
        public int maxPositions() {
            int m = Integer.MAX_VALUE;
            for (SequenceCache p : parts) {
                m = Math.min(m, p.maxPositions());
            }
            return m;
        }

        @Override
        public void clear() {
            for (SequenceCache p : parts) {
                p.clear();
            }
        }

        @Override
        public void truncate(int n) {
            for (SequenceCache p : parts) {
                p.truncate(n);
            }
        }
    }
}
