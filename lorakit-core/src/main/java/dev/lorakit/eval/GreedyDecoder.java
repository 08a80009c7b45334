package dev.lorakit.eval;

import dev.lorakit.model.LanguageModel;
import dev.lorakit.model.SequenceCache;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Greedy generation for several prompts at once: one batched prefill, then decode steps that
 * advance every unfinished sequence together, each stopping at a stop token (not included) or
 * after its own token budget.
 */
public final class GreedyDecoder {
    private GreedyDecoder() {
    }

    /** The generated tokens of each prompt. */
    public static int[][] generate(LanguageModel model, int[][] prompts, int[] maxNew, Set<Integer> stopIds) {
        int n = prompts.length;
        int vocab = model.vocabSize();
        SequenceCache[] caches = new SequenceCache[n];
        List<List<Integer>> out = new ArrayList<>();
        for (int s = 0; s < n; s++) {
            caches[s] = model.newCache(prompts[s].length + maxNew[s]);
            out.add(new ArrayList<>());
        }
        float[] logits = model.forward(caches, prompts, false);
        int[] next = new int[n];
        boolean[] done = new boolean[n];
        for (int s = 0; s < n; s++) {
            next[s] = SequenceScorer.argmax(logits, s * vocab, vocab);
            done[s] = maxNew[s] == 0;
        }
        while (true) {
            List<Integer> active = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                if (done[s]) {
                    continue;
                }
                if (stopIds.contains(next[s])) {
                    done[s] = true;
                    continue;
                }
                out.get(s).add(next[s]);
                if (out.get(s).size() >= maxNew[s] || caches[s].length() >= caches[s].maxPositions()) {
                    done[s] = true;
                    continue;
                }
                active.add(s);
            }
            if (active.isEmpty()) {
                break;
            }
            SequenceCache[] c = new SequenceCache[active.size()];
            int[][] tok = new int[active.size()][];
            for (int a = 0; a < active.size(); a++) {
                c[a] = caches[active.get(a)];
                tok[a] = new int[] {next[active.get(a)]};
            }
            float[] step = model.forward(c, tok, false);
            for (int a = 0; a < active.size(); a++) {
                next[active.get(a)] = SequenceScorer.argmax(step, a * vocab, vocab);
            }
        }
        int[][] result = new int[n][];
        for (int s = 0; s < n; s++) {
            result[s] = out.get(s).stream().mapToInt(Integer::intValue).toArray();
        }
        return result;
    }
}
