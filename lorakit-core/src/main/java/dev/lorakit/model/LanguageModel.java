package dev.lorakit.model;

/**
 * Anything that gives next-token logits for several sequences at once, each continuing from its
 * own {@link SequenceCache}: a {@link LlamaModel}, or a combination of models such as the output
 * ensemble ({@code dev.lorakit.eval.EnsembleModel}). The evaluator, scorer and greedy decoder
 * work on this interface, so they treat both alike.
 */
public interface LanguageModel {
    /** The vocabulary size V: the width of every logits row. */
    int vocabSize();

    /** A new empty cache for one sequence, with room for {@code initialCapacity} positions before it grows. */
    SequenceCache newCache(int initialCapacity);

    /**
     * Runs {@code tokens[s]} as the next tokens of sequence s (whose cache, made by this model's
     * {@link #newCache}, holds its earlier positions) for every s, advances the caches, and
     * returns logits: [sum of lengths, V] for every new position when {@code allPositions}, else
     * [S, V] for the last new position of each sequence. Logits are unnormalised: only their
     * softmax (or log-softmax) has meaning.
     */
    float[] forward(SequenceCache[] caches, int[][] tokens, boolean allPositions);

    /** Logits [T, V] (row-major) of every position of one sequence, from scratch. */
    default float[] logits(int[] inputIds) {
        return forward(new SequenceCache[] {newCache(inputIds.length)}, new int[][] {inputIds}, true);
    }
}
