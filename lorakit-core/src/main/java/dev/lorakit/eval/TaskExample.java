package dev.lorakit.eval;

import java.util.List;

/** One line of a JSONL task file: the three kinds lorakit evaluates. */
public sealed interface TaskExample {
    /** {"prompt", "completion"}: greedy exact match and per-token NLL of the completion. */
    record PromptCompletion(String prompt, String completion) implements TaskExample {
    }

    /** {"prompt", "choices": [...], "answer": i}: the choice with the highest log-likelihood wins. */
    record MultipleChoice(String prompt, List<String> choices, int answer) implements TaskExample {
    }

    /** {"text"}: perplexity (and bits per byte) of the whole text. */
    record PlainText(String text) implements TaskExample {
    }
}
