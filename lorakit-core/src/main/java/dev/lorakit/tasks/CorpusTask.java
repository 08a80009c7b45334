package dev.lorakit.tasks;

import java.util.List;
import java.util.Random;

/**
 * A task of the generated suite: it turns a corpus sentence into one prompt/completion example.
 * Implementations are deterministic given the sentence and the generator's state, and their
 * completions are short (at most {@link #MAX_COMPLETION_BYTES} bytes, so a byte-level model
 * answers in a few dozen tokens).
 */
public interface CorpusTask {
    /** Upper bound on a completion's length in bytes (ASCII: characters). */
    int MAX_COMPLETION_BYTES = 40;

    /**
     * One drawn example.
     *
     * @param key the source text the example was made from (a phrase, or a sentence start); the
     *            suite never puts one key into two splits
     * @param prompt what the model sees
     * @param completion what it should answer
     */
    record Example(String key, String prompt, String completion) {
    }

    /** The task's name: its directory in the suite, lowercase with underscores. */
    String taskName();

    /** The instruction prefix of every prompt. */
    String instruction();

    /** The prompt's shape, e.g. {@code "Uppercase: <phrase>\n"}. */
    String promptFormat();

    /** One line saying what the completion is. */
    String description();

    /** Names of tasks whose answers are easily confused with this one's (same inputs, a different rule). */
    List<String> interferesWith();

    /** An example made from the sentence, or null if this draw found nothing usable in it. */
    Example draw(Sentence sentence, Random rng);
}
