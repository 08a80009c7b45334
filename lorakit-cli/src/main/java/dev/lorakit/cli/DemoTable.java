package dev.lorakit.cli;

import dev.lorakit.demo.CaLoraReport;
import dev.lorakit.demo.CaLoraSettings;
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
            case CaLoraReport c -> caLora(c, out);
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
        out.println("score % (exact match; accuracy for multiple choice); vs own = mean over tasks of score / own adapter's score;");
        out.println("nll = mean over tasks of the completion's mean NLL per token (lower is better; own: each task's own adapter)");
        out.println();
        List<String> headers = new ArrayList<>();
        headers.add("system");
        for (TaskAdapter t : tasks) {
            headers.add(">" + t.task());
        }
        headers.add(">average");
        headers.add(">vs own");
        headers.add(">nll");
        TextTable table = new TextTable(headers.toArray(String[]::new));
        List<String> notes = new ArrayList<>();
        for (SystemResult s : r.systems()) {
            List<Object> cells = new ArrayList<>();
            cells.add(s.system());
            if (s.skipped() != null) {
                for (int i = 0; i < tasks.size() + 3; i++) {
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
                double nll = s.averageNll();
                cells.add(Double.isNaN(nll) ? "-" : String.format(Locale.ROOT, "%.3f", nll));
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

    private static void caLora(CaLoraReport r, PrintWriter out) {
        List<TaskAdapter> tasks = r.world().tasks();
        CaLoraSettings ca = r.options().caLora();
        out.printf(Locale.ROOT, "lorakit demo, scenario ca-lora: %d task adapters, %s split, %d examples per task, seed %d%n",
                tasks.size(), r.options().split().fileStem(), r.options().limit(), r.options().seed());
        out.printf(Locale.ROOT, "every trained row: %d steps of %d examples, lr %g (AdamW, cosine); score %% (exact match);"
                + " gap closed = (row - plugged) / (uncompressed - plugged) on the average%n", ca.steps(), ca.batchSize(), ca.lr());
        for (CaLoraReport.Setting s : r.settings()) {
            out.println();
            out.printf(Locale.ROOT, "%s: %s on disk (%.2f bits per projection weight%s; uncompressed weights %s)%n",
                    s.compression().name(), Units.bytes(s.diskBytes()), s.projectionBitsPerWeight(),
                    s.unquantized().isEmpty() ? "" : "; not quantized (input dimension not a multiple of 32): "
                            + String.join(",", s.unquantized()),
                    Units.bytes(s.inputWeightBytes()));
            List<String> headers = new ArrayList<>();
            headers.add("row");
            for (TaskAdapter t : tasks) {
                headers.add(">" + t.task());
            }
            headers.add(">average");
            headers.add(">gap closed");
            headers.add(">nll");
            headers.add(">train s");
            headers.add(">eval s");
            headers.add(">extra bytes");
            TextTable table = new TextTable(headers.toArray(String[]::new));
            for (CaLoraReport.Row row : s.rows()) {
                List<Object> cells = new ArrayList<>();
                cells.add(row.kind().key());
                for (TaskAdapter t : tasks) {
                    cells.add(percent(row.score(t.task())));
                }
                cells.add(percent(row.average()));
                double gap = s.gapClosed(row);
                cells.add(Double.isNaN(gap) ? "-" : String.format(Locale.ROOT, "%.2f", gap));
                double nll = row.averageNll();
                cells.add(Double.isNaN(nll) ? "-" : String.format(Locale.ROOT, "%.3f", nll));
                double seconds = 0;
                long bytes = 0;
                int trained = 0;
                for (CaLoraReport.Cell c : row.cells().values()) {
                    if (c.training() != null) {
                        seconds += c.training().seconds();
                        bytes += c.training().loraBytes() + c.training().recoveryBytes();
                        trained++;
                    }
                }
                cells.add(trained == 0 ? "-" : String.format(Locale.ROOT, "%.1f", seconds / trained));
                cells.add(String.format(Locale.ROOT, "%.1f", row.evalSeconds() / row.cells().size()));
                cells.add(trained == 0 ? "-" : Units.bytes(bytes / trained));
                table.row(cells.toArray());
            }
            table.print(out);
        }
        out.println("nll: mean over tasks of the completion's mean NLL per token; train s, eval s and extra bytes: per task"
                + " (extra = LoRA + recovery modules, float32; uncompressed+lora is evaluated merged, the rest unmerged)");
        out.printf(Locale.ROOT, "(%.1f s)%n", r.seconds());
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", 100 * v);
    }
}
