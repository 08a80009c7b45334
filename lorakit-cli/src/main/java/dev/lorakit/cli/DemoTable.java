package dev.lorakit.cli;

import dev.lorakit.demo.DemoReport;
import dev.lorakit.demo.MultiTaskReport;
import dev.lorakit.demo.PruneReport;
import dev.lorakit.demo.SystemResult;
import dev.lorakit.demo.TaskAdapter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * table.txt (and the terminal output) of {@code lorakit demo}: systems x tasks for the multi-task
 * scenarios, scores per rank for the prune scenario; scores in percent.
 */
final class DemoTable {
    private DemoTable() {
    }

    /** The report as text. */
    static String render(DemoReport report) {
        StringWriter sw = new StringWriter();
        PrintWriter out = new PrintWriter(sw);
        switch (report) {
            case MultiTaskReport m -> multiTask(m, out);
            case PruneReport p -> prune(p, out);
        }
        out.flush();
        return sw.toString();
    }

    private static void multiTask(MultiTaskReport r, PrintWriter out) {
        List<TaskAdapter> tasks = r.world().tasks();
        List<Integer> ranks = tasks.stream().map(TaskAdapter::rank).distinct().toList();
        out.printf(Locale.ROOT, "lorakit demo, scenario %s: %d task adapters (%s), %s split, %d examples per task, seed %d%n",
                r.options().scenario().cliName(), tasks.size(), ranks.size() == 1 ? "rank " + ranks.get(0)
                        : "ranks " + String.join(", ", tasks.stream().map(t -> t.task() + " " + t.rank()).toList()),
                r.options().split().fileStem(), r.options().limit(), r.options().seed());
        out.println("score % (exact match; accuracy for multiple choice); vs own = mean over tasks of score / own adapter's score");
        out.println();
        List<String> headers = new ArrayList<>();
        headers.add("system");
        for (TaskAdapter t : tasks) {
            headers.add(">" + t.task());
        }
        headers.add(">average");
        headers.add(">vs own");
        TextTable table = new TextTable(headers.toArray(String[]::new));
        List<String> notes = new ArrayList<>();
        for (SystemResult s : r.systems()) {
            List<Object> cells = new ArrayList<>();
            cells.add(s.system());
            if (s.skipped() != null) {
                for (int i = 0; i < tasks.size() + 2; i++) {
                    cells.add("n/a");
                }
                notes.add(s.system() + " skipped: " + s.skipped());
            } else {
                for (TaskAdapter t : tasks) {
                    cells.add(percent(s.score(t.task())));
                }
                cells.add(percent(s.average()));
                double rel = r.averageRelative(s);
                cells.add(Double.isNaN(rel) ? "-" : String.format(Locale.ROOT, "%.2f", rel));
            }
            table.row(cells.toArray());
        }
        table.print(out);
        for (String note : notes) {
            out.println(note);
        }
        out.printf(Locale.ROOT, "(%.1f s)%n", r.seconds());
    }

    private static void prune(PruneReport r, PrintWriter out) {
        TaskAdapter t = r.task();
        out.printf(Locale.ROOT, "lorakit demo, scenario prune: the %s adapter (rank %d) pruned to ranks 1..%d, %s split, %d examples, seed %d%n",
                t.task(), t.rank(), t.rank(), r.options().split().fileStem(), t.data().examples().size(), r.options().seed());
        out.println("score % (exact match; accuracy for multiple choice); err = mean relative error of dW over modules");
        out.println();
        List<String> headers = new ArrayList<>();
        headers.add(">rank");
        for (PruneReport.Curve c : r.curves()) {
            headers.add(">" + c.method());
            headers.add(">" + c.method() + " err");
        }
        TextTable table = new TextTable(headers.toArray(String[]::new));
        for (int k = 0; k < t.rank(); k++) {
            List<Object> cells = new ArrayList<>();
            cells.add(k + 1);
            for (PruneReport.Curve c : r.curves()) {
                PruneReport.Point p = c.points().get(k);
                cells.add(percent(p.result().score()));
                cells.add(String.format(Locale.ROOT, "%.3f", p.merge().meanRelativeError()));
            }
            table.row(cells.toArray());
        }
        table.print(out);
        out.printf(Locale.ROOT, "own adapter (rank %d): %s %%, base model: %s %%  (%.1f s)%n", t.rank(), percent(r.own().score()),
                percent(r.base().score()), r.seconds());
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", 100 * v);
    }
}
