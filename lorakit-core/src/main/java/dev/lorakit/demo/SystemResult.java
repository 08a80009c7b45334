package dev.lorakit.demo;

import dev.lorakit.eval.TaskResult;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One row of the multi-task table: a system (the base model, each task's own adapter, the output
 * ensemble, or one merge method's adapter) and its result on every task, or why it was skipped.
 *
 * @param system the row's name: base, own, ensemble, or the merge method's name
 * @param kind what the system is
 * @param results task name to result, in task order (empty when skipped)
 * @param merge for a merge method: the merge's figures; else null
 * @param skipped why the method does not apply to these adapters (e.g. fusion with mixed ranks); else null
 * @param seconds wall time of the row (merge and evaluation)
 */
public record SystemResult(String system, Kind kind, Map<String, TaskResult> results, MergeSummary merge, String skipped,
                           double seconds) {
    /** What a row's system is. */
    public enum Kind {
        /** The base model without adapters. */
        BASE,
        /** Each task evaluated with its own adapter (the reference of the relative scores). */
        OWN,
        /** The output ensemble of every task's adapter (mean of the output distributions). */
        ENSEMBLE,
        /** One merged adapter, evaluated on every task. */
        MERGE
    }

    /**
     * A merge's figures.
     *
     * @param rank the merged adapter's rank
     * @param weights the weight of each input adapter, in task order
     * @param meanRelativeError mean over modules of ||dW_merged - sum_i w_i dW_i||_F / ||sum_i w_i dW_i||_F
     * @param maxRelativeError the largest module's relative error
     * @param seconds the merge's wall time
     */
    public record MergeSummary(int rank, List<Double> weights, double meanRelativeError, double maxRelativeError,
                               double seconds) {
        public MergeSummary {
            weights = List.copyOf(weights);
        }
    }

    public SystemResult {
        results = Collections.unmodifiableMap(new LinkedHashMap<>(results));
    }

    /** A row for a method that does not apply to the inputs. */
    public static SystemResult skipped(String method, String reason) {
        return new SystemResult(method, Kind.MERGE, Map.of(), null, reason, 0);
    }

    /** The headline score (exact match or accuracy) on a task, or NaN when skipped or absent. */
    public double score(String task) {
        TaskResult r = results.get(task);
        return r == null ? Double.NaN : r.score();
    }

    /**
     * Mean over the tasks of the completion's mean NLL per token (the evaluator's "nll"), a
     * continuous companion of the scores, over the tasks that have one (not multiple choice); NaN if none.
     */
    public double averageNll() {
        return DemoReport.meanNll(results.values());
    }

    /** Mean score over the tasks it was evaluated on, or NaN when skipped. */
    public double average() {
        return results.values().stream().mapToDouble(TaskResult::score).filter(d -> !Double.isNaN(d)).average()
                .orElse(Double.NaN);
    }
}
