package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.train.Trainer;
import dev.lorakit.train.TrainingLog;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

/**
 * What {@code lorakit train} and {@code lorakit adapt} do around the trainer loop: a progress
 * bar with the loss, Ctrl-C handling (a shutdown hook asks the loop to stop and waits until it
 * has saved its checkpoint and result), loss.png from the log, and the final report (text or
 * --json).
 */
final class TrainingSession {
    private TrainingSession() {
    }

    /** The training call: given a progress listener and a stop flag, runs and returns the result. */
    @FunctionalInterface
    interface Call {
        Trainer.Result run(Trainer.Listener listener, BooleanSupplier stop) throws IOException;
    }

    /**
     * Runs {@code call} with progress and Ctrl-C handling, writes loss.png into {@code output},
     * and prints the report; {@code extraJson} may add fields to the --json report.
     *
     * @param command "train" or "adapt" (the bar's and chart's title)
     * @param stopAt stop (as Ctrl-C would) once this many optimizer steps are done; null: run to the end
     */
    static Trainer.Result run(String command, GlobalOptions global, PrintWriter out, Path output, Long stopAt, Call call,
                              Function<ObjectNode, ObjectNode> extraJson) throws IOException {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong done = new AtomicLong();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.set(true);
            try {
                finished.await(120, TimeUnit.SECONDS); // let the loop save its checkpoint
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "lorakit-" + command + "-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        Trainer.Result result;
        try (Progress progress = Progress.start(command, 1, global)) {
            result = call.run(new Trainer.Listener() {
                boolean sized;

                @Override
                public void started(long step, long totalSteps) {
                    done.set(step);
                }

                @Override
                public void step(TrainingLog.Entry e, long totalSteps) {
                    done.set(e.step());
                    if (!sized) {
                        progress.resize(totalSteps, e.step() - 1);
                        sized = true;
                    }
                    progress.step(1);
                    progress.message(String.format(Locale.ROOT, "loss %.4f%s, %.0f tok/s", e.loss(),
                            e.kdLoss() == null ? "" : String.format(Locale.ROOT, " (ce %.4f, kd %.4g)", e.ceLoss(), e.kdLoss()),
                            e.tokensPerSecond()));
                }
            }, () -> stop.get() || (stopAt != null && done.get() >= stopAt));
            writeLossChart(output.resolve("loss.png"), TrainingLog.read(output.resolve(TrainingLog.FILE_NAME)),
                    "lorakit " + command);
        } finally {
            finished.countDown(); // after the checkpoint, result and chart: a Ctrl-C exit may proceed now
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down (Ctrl-C): the hook is running
            }
        }
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("output", output.toString());
            root.put("steps", result.steps());
            root.put("total_steps", result.totalSteps());
            if (Double.isNaN(result.lastLoss())) {
                root.putNull("last_loss"); // no step in this run (resumed at its end, or --stop-at reached)
            } else {
                root.put("last_loss", result.lastLoss());
            }
            if (!Double.isNaN(result.evalLoss())) {
                root.put("eval_loss", result.evalLoss());
            }
            root.put("tokens", result.tokens());
            root.put("seconds", result.seconds());
            root.put("stopped_early", result.stoppedEarly());
            long rss = peakRssBytes();
            if (rss > 0) {
                root.put("peak_rss_bytes", rss);
            }
            Json.print(out, extraJson.apply(root));
        } else {
            out.printf(Locale.ROOT, "%s %d/%d steps in %.1f s, last loss %s%s -> %s%n",
                    result.stoppedEarly() ? "stopped after" : (command.equals("adapt") ? "adapted" : "trained"), result.steps(),
                    result.totalSteps(), result.seconds(),
                    Double.isNaN(result.lastLoss()) ? "- (no step in this run)" : String.format(Locale.ROOT, "%.4f", result.lastLoss()),
                    Double.isNaN(result.evalLoss()) ? "" : String.format(Locale.ROOT, ", eval loss %.4f", result.evalLoss()),
                    output);
        }
        return result;
    }

    /** The process's peak resident set size (Linux VmHWM), or -1 where unknown. */
    static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** loss.png: training loss (and evaluation loss; with distillation its CE and KD parts) per step. */
    static void writeLossChart(Path file, List<TrainingLog.Entry> entries, String title) throws IOException {
        if (entries.isEmpty()) {
            return;
        }
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("step").yAxisTitle("loss").build();
        chart.getStyler().setMarkerSize(0);
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        List<Double> cs = new ArrayList<>();
        List<Double> ks = new ArrayList<>();
        List<Double> ex = new ArrayList<>();
        List<Double> ey = new ArrayList<>();
        for (TrainingLog.Entry e : entries) {
            if (e.loss() != null) {
                xs.add((double) e.step());
                ys.add(e.loss());
                if (e.kdLoss() != null && e.ceLoss() != null) {
                    cs.add(e.ceLoss());
                    ks.add(e.kdLoss());
                }
            }
            if (e.evalLoss() != null) {
                ex.add((double) e.step());
                ey.add(e.evalLoss());
            }
        }
        if (!xs.isEmpty()) {
            chart.addSeries("train", xs, ys);
            if (cs.size() == xs.size()) {
                chart.addSeries("train CE", xs, cs);
                chart.addSeries("train KD (MSE)", xs, ks);
            }
        }
        if (!ex.isEmpty()) {
            XYSeries s = chart.addSeries("eval", ex, ey);
            s.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.CIRCLE);
        }
        AtomicFiles.writeFile(file, o -> BitmapEncoder.saveBitmap(chart, o, BitmapEncoder.BitmapFormat.PNG));
    }
}
