package dev.lorakit.cli;

import dev.lorakit.demo.CaLoraReport;
import dev.lorakit.demo.DemoReport;
import dev.lorakit.demo.MultiTaskReport;
import dev.lorakit.demo.PruneReport;
import dev.lorakit.demo.SystemResult;
import dev.lorakit.demo.TaskAdapter;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * chart.png of {@code lorakit demo}: a grouped bar chart of every system's score per task (and
 * the average) for the multi-task scenarios, a line chart of score vs rank for the prune scenario,
 * the average score of each ablation row per compression setting for the ca-lora scenario.
 */
final class DemoChart {
    private DemoChart() {
    }

    /** Writes the report's chart as PNG to {@code out}. */
    static void writePng(DemoReport report, OutputStream out) throws IOException {
        Chart<?, ?> chart = switch (report) {
            case MultiTaskReport m -> bars(m);
            case PruneReport p -> lines(p);
            case CaLoraReport c -> grid(c);
        };
        BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
    }

    private static String title(DemoReport r) {
        return String.format(Locale.ROOT, "lorakit demo: %s (%s split, %d examples per task)", r.options().scenario().cliName(),
                r.options().split().fileStem(), r.options().limit());
    }

    private static CategoryChart bars(MultiTaskReport report) {
        List<String> categories = new ArrayList<>();
        for (TaskAdapter t : report.world().tasks()) {
            categories.add(t.task());
        }
        categories.add("average");
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(900, 120 * categories.size() + 300)).height(600)
                .title(title(report)).xAxisTitle("task").yAxisTitle("score (%)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(100.0);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setOverlapped(false);
        for (SystemResult s : report.systems()) {
            if (s.skipped() != null) {
                continue;
            }
            List<Double> ys = new ArrayList<>();
            for (TaskAdapter t : report.world().tasks()) {
                double v = s.score(t.task());
                ys.add(Double.isNaN(v) ? 0.0 : 100 * v);
            }
            ys.add(Double.isNaN(s.average()) ? 0.0 : 100 * s.average());
            chart.addSeries(s.system(), categories, ys);
        }
        return chart;
    }

    private static XYChart lines(PruneReport report) {
        XYChart chart = new XYChartBuilder().width(900).height(600).title(title(report) + ", task " + report.task().task())
                .xAxisTitle("rank k").yAxisTitle("score (%)").build();
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(100.0);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
        int r = report.task().rank();
        for (PruneReport.Curve c : report.curves()) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (PruneReport.Point p : c.points()) {
                xs.add((double) p.rank());
                ys.add(100 * p.result().score());
            }
            XYSeries s = chart.addSeries(c.method(), xs, ys);
            s.setMarker(SeriesMarkers.CIRCLE);
        }
        XYSeries own = chart.addSeries("own adapter (rank " + r + ")", List.of(1.0, (double) r),
                List.of(100 * report.own().score(), 100 * report.own().score()));
        own.setMarker(SeriesMarkers.NONE);
        XYSeries base = chart.addSeries("base model", List.of(1.0, (double) r),
                List.of(100 * report.base().score(), 100 * report.base().score()));
        base.setMarker(SeriesMarkers.NONE);
        return chart;
    }

    private static CategoryChart grid(CaLoraReport report) {
        List<String> rows = new ArrayList<>();
        for (CaLoraReport.Row r : report.settings().get(0).rows()) {
            rows.add(r.kind().key());
        }
        CategoryChart chart = new CategoryChartBuilder().width(1000).height(600)
                .title(title(report) + ", " + report.world().tasks().size() + " tasks")
                .xAxisTitle("row").yAxisTitle("average score (%)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(100.0);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setOverlapped(false);
        for (CaLoraReport.Setting s : report.settings()) {
            List<Double> ys = new ArrayList<>();
            for (CaLoraReport.Row r : s.rows()) {
                ys.add(Double.isNaN(r.average()) ? 0.0 : 100 * r.average());
            }
            chart.addSeries(s.compression().name(), rows, ys);
        }
        return chart;
    }
}
