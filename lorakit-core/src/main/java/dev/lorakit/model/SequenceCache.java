package dev.lorakit.model;

/**
 * The state a {@link LanguageModel} keeps for one sequence between forward calls (for a
 * {@link LlamaModel}: its {@link KvCache}): how many positions it holds and how many it may hold.
 */
public interface SequenceCache {
    /** Number of positions processed so far. */
    int length();

    /** The largest number of positions this cache may hold (the model's context length). */
    int maxPositions();

    /** Forgets every position (reuse the cache for a new sequence). */
    void clear();

    /** Drops positions past {@code n}. */
    void truncate(int n);
}
