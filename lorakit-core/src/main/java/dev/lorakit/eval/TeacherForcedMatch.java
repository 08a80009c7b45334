package dev.lorakit.eval;

import dev.lorakit.io.tokenizer.StreamingDecoder;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.util.Arrays;
import java.util.Set;

/**
 * What teacher forcing proves about greedy exact match, so that most examples need no generation.
 * Greedy decoding from the prompt reproduces the completion's tokens for as long as the
 * teacher-forced argmax equals them: if the argmax is every completion token and then EOS, greedy
 * decoding outputs exactly the completion; otherwise its output starts with the completion's first
 * k tokens followed by the argmax x at the first difference k. Then:
 * <ul>
 *   <li>x is a stop token: the output is exactly those k tokens, compared directly;</li>
 *   <li>else the output's text starts with the text of those k tokens and x (streaming decode: for
 *       valid UTF-8 it is a prefix of the whole decode; an output that is not valid UTF-8 decodes
 *       with U+FFFD and cannot match a completion without one). After leading whitespace, that
 *       text must be a prefix of the stripped completion, or the stripped completion followed by
 *       whitespace, for any continuation to match; if it is neither the example is a certain
 *       mismatch.</li>
 * </ul>
 * (A stop token inside the completion ends greedy decoding there.) Anything else (e.g. the model
 * adds a newline where EOS belongs) is left to generation.
 */
final class TeacherForcedMatch {
    /** The verdict. */
    enum Outcome {
        MATCH, MISMATCH, UNKNOWN
    }

    private TeacherForcedMatch() {
    }

    /**
     * The outcome for one example scored on prompt + completion (+ EOS when {@code eosAppended}),
     * scoring from the first completion token.
     *
     * @param completionTokens the completion's tokens
     * @param scored the teacher-forced scores of the completion tokens (and the EOS)
     * @param eosAppended whether the scored sequence ends with an EOS token
     * @param stopIds the tokens greedy generation stops at
     * @param completion the completion text (compared after stripping)
     * @param tokenizer the tokenizer (decoding skips special tokens, as the evaluator does)
     */
    static Outcome decide(int[] completionTokens, SequenceScorer.Scored scored, boolean eosAppended, Set<Integer> stopIds,
                          String completion, TextTokenizer tokenizer) {
        int[] top = scored.topTokens();
        int k = 0;
        while (k < top.length && scored.topMatches()[k]) {
            k++;
        }
        String target = completion.strip();
        for (int t = 0; t < Math.min(k, completionTokens.length); t++) {
            if (stopIds.contains(completionTokens[t])) {
                return decidedBy(Arrays.copyOf(completionTokens, t), target, tokenizer); // greedy stops at it
            }
        }
        if (k == top.length) {
            return eosAppended ? Outcome.MATCH : Outcome.UNKNOWN;
        }
        if (k > completionTokens.length) {
            return Outcome.UNKNOWN; // cannot happen: at most completion + EOS are scored
        }
        int x = top[k];
        if (stopIds.contains(x)) {
            return decidedBy(Arrays.copyOf(completionTokens, k), target, tokenizer);
        }
        if (target.indexOf('\uFFFD') >= 0) {
            return Outcome.UNKNOWN;
        }
        StreamingDecoder decoder = tokenizer.streamingDecoder(true);
        StringBuilder emitted = new StringBuilder();
        for (int t = 0; t < k; t++) {
            emitted.append(decoder.push(completionTokens[t]));
        }
        emitted.append(decoder.push(x));
        String head = emitted.toString().stripLeading();
        boolean canMatch = target.startsWith(head)
                || (head.startsWith(target) && head.substring(target.length()).isBlank());
        return canMatch ? Outcome.UNKNOWN : Outcome.MISMATCH;
    }

    /** The outcome when greedy decoding outputs exactly {@code output}. */
    private static Outcome decidedBy(int[] output, String target, TextTokenizer tokenizer) {
        return tokenizer.decode(output, true).strip().equals(target) ? Outcome.MATCH : Outcome.MISMATCH;
    }
}
