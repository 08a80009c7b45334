package dev.lorakit.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.eval.TaskResult;
import java.util.List;

/**
 * The prune scenario's curves: one adapter compressed to each rank 1..r by each method, its task's
 * score per rank, against the adapter itself and the base model.
 *
 * @param options what was run
 * @param world the inputs (one task)
 * @param base the base model on the task
 * @param own the unpruned adapter on the task
 * @param curves one per method, in option order
 * @param seconds wall time of the run
 */
public record PruneReport(DemoOptions options, DemoWorld world, TaskResult base, TaskResult own, List<Curve> curves,
                          double seconds) implements DemoReport {
    /**
     * One method's scores at ranks 1..r.
     *
     * @param method the merge method
     * @param points one per rank, ascending
     */
    public record Curve(String method, List<Point> points) {
        public Curve {
            points = List.copyOf(points);
        }
    }

    /**
     * The adapter pruned to one rank.
     *
     * @param rank the requested rank k
     * @param result the pruned adapter on the task
     * @param merge the merge's figures (error against the unpruned adapter)
     */
    public record Point(int rank, TaskResult result, SystemResult.MergeSummary merge) {
    }

    public PruneReport {
        curves = List.copyOf(curves);
    }

    /** The pruned task. */
    public TaskAdapter task() {
        return world.tasks().get(0);
    }

    /** {@code score} relative to the unpruned adapter's score; NaN when that is 0. */
    public double relative(double score) {
        return own.score() > 0 ? score / own.score() : Double.NaN;
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode root = DemoReport.header(options, world);
        root.put("task", task().task());
        root.put("adapter_rank", task().rank());
        root.put("score", "exact_match for prompt/completion tasks, accuracy for multiple choice");
        ObjectNode ref = root.putObject("reference");
        ref.set("base", DemoReport.metrics(base));
        ref.set("own", DemoReport.metrics(own));
        ArrayNode arr = root.putArray("curves");
        for (Curve c : curves) {
            ObjectNode cn = arr.addObject();
            cn.put("method", c.method());
            ArrayNode pts = cn.putArray("points");
            for (Point p : c.points()) {
                ObjectNode pn = pts.addObject();
                pn.put("rank", p.rank());
                pn.put("merged_rank", p.merge().rank());
                DemoReport.putNumber(pn, "score", p.result().score());
                DemoReport.putNumber(pn, "relative", relative(p.result().score()));
                DemoReport.putNumber(pn, "mean_relative_error", p.merge().meanRelativeError());
                DemoReport.putNumber(pn, "max_relative_error", p.merge().maxRelativeError());
                pn.set("metrics", DemoReport.metrics(p.result()));
            }
        }
        root.put("seconds", seconds);
        return root;
    }
}
