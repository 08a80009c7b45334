package dev.lorakit.eval;

import java.util.Map;

/**
 * The metrics of one evaluated task file.
 *
 * @param task task name (file name without .jsonl)
 * @param kind the examples' kind
 * @param examples number of examples evaluated
 * @param metrics metric name to value: exact_match, nll (prompt/completion); accuracy,
 *     accuracy_norm (multiple choice); perplexity, bits_per_byte, nll (text)
 * @param score the task's headline score in [0, 1] (exact_match or accuracy), or NaN for text
 *     tasks, whose headline is perplexity
 */
public record TaskResult(String task, TaskFile.Kind kind, int examples, Map<String, Double> metrics, double score) {
}
