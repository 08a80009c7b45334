package dev.lorakit.tasks;

import java.util.List;
import java.util.Random;

/**
 * Plain continuation, which measures how much of the base model's language knowledge survives an
 * adapter: the prompt is the start of a corpus sentence as written (3 to 8 tokens, case and
 * punctuation kept, no instruction), the completion is a space and the sentence's next
 * {@link #CONTINUATION_WORDS} tokens, e.g. {@code "And God said, Let"} then {@code " there be light:"}.
 *
 * <p>An example's key is its prompt: a sentence start that occurs twice in the text (with
 * different continuations) gives at most one example, in one split.
 *
 * <p>A pretrained model does not stop after a few words (it never learned an end-of-sequence
 * there), so judge this task by the completion's per-token NLL rather than exact match.
 */
public final class ContinuationTask implements CorpusTask {
    /** The task's name. */
    public static final String NAME = "continuation";
    /** Tokens in the completion. */
    public static final int CONTINUATION_WORDS = 3;
    /** Fewest tokens of the sentence start in the prompt. */
    public static final int MIN_PROMPT_WORDS = 3;
    /** Most tokens of the sentence start in the prompt. */
    public static final int MAX_PROMPT_WORDS = 8;

    @Override
    public String taskName() {
        return NAME;
    }

    @Override
    public String instruction() {
        return "";
    }

    @Override
    public String promptFormat() {
        return "<sentence start>";
    }

    @Override
    public String description() {
        return "a space and the next " + CONTINUATION_WORDS + " words of the sentence whose start is the prompt, as written";
    }

    @Override
    public List<String> interferesWith() {
        return List.of();
    }

    /** The example whose prompt is the sentence's first {@code promptWords} tokens, or null if the sentence is too short. */
    public static Example example(Sentence sentence, int promptWords) {
        int end = promptWords + CONTINUATION_WORDS;
        if (promptWords < 1 || sentence.size() < end) {
            return null;
        }
        String completion = " " + sentence.text(promptWords, end);
        if (completion.length() > MAX_COMPLETION_BYTES) {
            return null;
        }
        String prompt = sentence.text(0, promptWords);
        return new Example(prompt, prompt, completion);
    }

    @Override
    public Example draw(Sentence sentence, Random rng) {
        return example(sentence, MIN_PROMPT_WORDS + rng.nextInt(MAX_PROMPT_WORDS - MIN_PROMPT_WORDS + 1));
    }
}
