package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The outcome of a merge: the output rank, every module's result, and the report JSON
 * ({@code --report}) built from them.
 *
 * @param method the method's CLI name
 * @param plan the inputs and modules merged
 * @param rank the merged adapter's rank (r = lora_alpha)
 * @param modules per-module results in plan order
 * @param seconds wall time of the whole merge including writing
 */
public record MergeResult(String method, MergePlan plan, int rank, List<ModuleResult> modules, double seconds) {
    public MergeResult {
        modules = List.copyOf(modules);
    }

    /** The mean relative reconstruction error over modules (finite ones). */
    public double meanRelativeError() {
        return modules.stream().mapToDouble(ModuleResult::relativeError).filter(Double::isFinite).average().orElse(0);
    }

    /** The largest relative reconstruction error over modules. */
    public double maxRelativeError() {
        return modules.stream().mapToDouble(ModuleResult::relativeError).max().orElse(0);
    }

    /**
     * The report: method, options, inputs with weights, output rank, summary figures and, per
     * module, its inputs, rank, relative error, time and the method's key figures.
     */
    public ObjectNode toJson(ObjectNode options) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("method", method);
        if (options != null) {
            root.set("options", options);
        }
        ArrayNode inputs = root.putArray("inputs");
        for (int i = 0; i < plan.inputs().size(); i++) {
            ObjectNode in = inputs.addObject();
            in.put("path", plan.inputs().get(i).toString());
            in.put("weight", plan.weights().get(i));
        }
        root.put("rank", rank);
        root.put("module_count", modules.size());
        putNumber(root, "mean_relative_error", meanRelativeError());
        putNumber(root, "max_relative_error", maxRelativeError());
        root.put("seconds", seconds);
        ArrayNode list = root.putArray("modules");
        for (ModuleResult m : modules) {
            ObjectNode node = list.addObject();
            node.put("name", m.name());
            ArrayNode ins = node.putArray("inputs");
            m.inputs().forEach(ins::add);
            node.put("rank", m.rank());
            putNumber(node, "relative_error", m.relativeError());
            node.put("seconds", m.seconds());
            node.setAll(m.figures());
        }
        return root;
    }

    /** JSON has no infinity: a non-finite value is written as null. */
    private static void putNumber(ObjectNode node, String key, double v) {
        if (Double.isFinite(v)) {
            node.put(key, v);
        } else {
            node.putNull(key);
        }
    }
}
