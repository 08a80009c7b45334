package dev.lorakit.demo;

import dev.lorakit.eval.Evaluator;
import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LanguageModel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Evaluates one model (or ensemble) on some of the demo's tasks, reporting progress per batch. */
final class SuiteEvaluation {
    private SuiteEvaluation() {
    }

    /**
     * The model's result on each task, by task name in the given order; {@code unitsPerExample} is
     * what one example costs in progress units (the number of models behind {@code model}).
     */
    static Map<String, TaskResult> run(String system, LanguageModel model, TextTokenizer tokenizer, List<TaskAdapter> tasks,
                                       int batchSize, int unitsPerExample, DemoListener listener) {
        Evaluator evaluator = new Evaluator(model, tokenizer, batchSize);
        Map<String, TaskResult> results = new LinkedHashMap<>();
        for (TaskAdapter t : tasks) {
            listener.stage("eval " + system + ": " + t.task());
            results.put(t.task(), evaluator.evaluate(t.data(), n -> listener.advance((long) n * unitsPerExample)));
        }
        return results;
    }

    /** The model's result on one task (one unit per example). */
    static TaskResult runOne(String system, LanguageModel model, TextTokenizer tokenizer, TaskAdapter task, int batchSize,
                             DemoListener listener) {
        return run(system, model, tokenizer, List.of(task), batchSize, 1, listener).get(task.task());
    }
}
