package dev.lorakit.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * The multi-task (and mixed-rank) table: every system (base, own, ensemble, each merge method)
 * on every task, with averages and scores relative to each task's own adapter.
 *
 * @param options what was run
 * @param world the inputs
 * @param systems the rows: base, own, ensemble, then the merge methods in option order
 * @param seconds wall time of the run
 */
public record MultiTaskReport(DemoOptions options, DemoWorld world, List<SystemResult> systems, double seconds)
        implements DemoReport {
    public MultiTaskReport {
        systems = List.copyOf(systems);
    }

    /** The row called {@code name}. */
    public SystemResult system(String name) {
        return systems.stream().filter(s -> s.system().equals(name)).findFirst()
                .orElseThrow(() -> new NoSuchElementException("no system " + name));
    }

    /**
     * {@code row}'s score on {@code task} divided by the task's own adapter's score; NaN when the own
     * adapter scores 0 there (no reference) or the row has no score.
     */
    public double relative(SystemResult row, String task) {
        double own = system("own").score(task);
        double s = row.score(task);
        return own > 0 && !Double.isNaN(s) ? s / own : Double.NaN;
    }

    /** Mean of {@link #relative} over the tasks where it is defined; NaN if none. */
    public double averageRelative(SystemResult row) {
        return world.tasks().stream().mapToDouble(t -> relative(row, t.task())).filter(d -> !Double.isNaN(d)).average()
                .orElse(Double.NaN);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode root = DemoReport.header(options, world);
        root.put("score", "exact_match for prompt/completion tasks, accuracy for multiple choice");
        root.put("relative", "score / the task's own adapter's score (null where that is 0); average_relative is their mean");
        ArrayNode rows = root.putArray("systems");
        for (SystemResult s : systems) {
            ObjectNode n = rows.addObject();
            n.put("system", s.system());
            n.put("kind", s.kind().name().toLowerCase(Locale.ROOT));
            if (s.skipped() != null) {
                n.put("skipped", s.skipped());
                continue;
            }
            if (s.kind() == SystemResult.Kind.ENSEMBLE) {
                n.put("members", world.tasks().size());
            }
            if (s.merge() != null) {
                ObjectNode m = n.putObject("merge");
                m.put("rank", s.merge().rank());
                ArrayNode w = m.putArray("weights");
                s.merge().weights().forEach(w::add);
                DemoReport.putNumber(m, "mean_relative_error", s.merge().meanRelativeError());
                DemoReport.putNumber(m, "max_relative_error", s.merge().maxRelativeError());
                m.put("seconds", s.merge().seconds());
            }
            DemoReport.putNumber(n, "average", s.average());
            DemoReport.putNumber(n, "average_relative", averageRelative(s));
            DemoReport.putNumber(n, "average_nll", s.averageNll());
            ObjectNode scores = n.putObject("scores");
            ObjectNode relative = n.putObject("relative");
            ObjectNode metrics = n.putObject("metrics");
            s.results().forEach((task, r) -> {
                DemoReport.putNumber(scores, task, r.score());
                DemoReport.putNumber(relative, task, relative(s, task));
                metrics.set(task, DemoReport.metrics(r));
            });
            n.put("seconds", s.seconds());
        }
        root.put("seconds", seconds);
        return root;
    }
}
