package dev.lorakit.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.eval.TaskResult;

/**
 * The result of a demo run, one kind per scenario family; {@link #toJson} is report.json (format
 * in docs/demo.md: the common header of {@link #header}, then the scenario's own fields).
 */
public sealed interface DemoReport permits MultiTaskReport, PruneReport, CaLoraReport {
    /** Version of the report's JSON layout. */
    int FORMAT = 1;

    /** What was run. */
    DemoOptions options();

    /** The inputs located for the run. */
    DemoWorld world();

    /** Wall time of the whole run. */
    double seconds();

    /** The report as JSON. */
    ObjectNode toJson();

    /** The fields every report starts with: format, scenario, inputs, split, limit, seed, methods, tasks. */
    static ObjectNode header(DemoOptions o, DemoWorld w) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("format", "lorakit-demo");
        root.put("version", FORMAT);
        root.put("scenario", o.scenario().cliName());
        root.put("base_model", o.base().toString());
        root.put("adapters_dir", w.adapterRoot().toString());
        root.put("tasks_dir", o.tasks().toString());
        root.put("split", o.split().fileStem());
        root.put("limit", o.limit());
        root.put("seed", o.seed());
        root.put("batch_size", o.batchSize());
        ArrayNode methods = root.putArray("methods");
        o.methods().forEach(methods::add);
        ArrayNode tasks = root.putArray("tasks");
        for (TaskAdapter t : w.tasks()) {
            ObjectNode n = tasks.addObject();
            n.put("task", t.task());
            n.put("kind", t.data().kind().name().toLowerCase(java.util.Locale.ROOT));
            n.put("examples", t.data().examples().size());
            n.put("adapter", t.adapter().toString());
            n.put("rank", t.rank());
        }
        return root;
    }

    /** {@code value}, or JSON null when NaN or infinite. */
    static void putNumber(ObjectNode node, String field, double value) {
        if (Double.isFinite(value)) {
            node.put(field, value);
        } else {
            node.putNull(field);
        }
    }

    /**
     * Mean over {@code results} of the completion's mean NLL per token (the evaluator's "nll"),
     * leaving out results without one (multiple choice); NaN if none has one.
     */
    static double meanNll(java.util.Collection<TaskResult> results) {
        return results.stream().mapToDouble(r -> r.metrics().getOrDefault("nll", Double.NaN)).filter(d -> !Double.isNaN(d))
                .average().orElse(Double.NaN);
    }

    /** A task result's metrics as an object (score first). */
    static ObjectNode metrics(TaskResult r) {
        ObjectNode m = JsonNodeFactory.instance.objectNode();
        putNumber(m, "score", r.score());
        r.metrics().forEach((k, v) -> putNumber(m, k, v));
        return m;
    }
}
