package dev.lorakit.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.eval.TaskResult;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ca-lora scenario's ablation grid: for each compression setting, the seven rows of
 * {@link CaLoraRow} on every task, with the trained rows' cost and storage.
 *
 * @param options what was run
 * @param world the inputs (the tasks and their existing adapters)
 * @param settings one grid per compression setting, in option order
 * @param seconds wall time of the run
 */
public record CaLoraReport(DemoOptions options, DemoWorld world, List<Setting> settings, double seconds)
        implements DemoReport {
    /**
     * One compression setting's grid.
     *
     * @param compression the setting
     * @param diskBytes size of the compressed model directory
     * @param inputWeightBytes bytes of the uncompressed model's tensors
     * @param weightBytes bytes of the compressed model's tensors
     * @param projectionBitsPerWeight stored bits per weight of the seven projections
     * @param unquantized projections the quantization left in their dtype (input dimension not a
     *     multiple of the block size; e.g. the bundled model's down_proj, 688 inputs)
     * @param rows the seven rows, in {@link CaLoraRow} order
     */
    public record Setting(CompressionSetting compression, long diskBytes, long inputWeightBytes, long weightBytes,
                          double projectionBitsPerWeight, List<String> unquantized, List<Row> rows) {
        public Setting {
            unquantized = List.copyOf(unquantized);
            rows = List.copyOf(rows);
        }

        /** The row of {@code kind}. */
        public Row row(CaLoraRow kind) {
            return rows.stream().filter(r -> r.kind() == kind).findFirst().orElseThrow();
        }

        /**
         * How much of the compression's damage a row repairs, on the average score:
         * (row - plugged) / (uncompressed - plugged); NaN when compression did not lower the average.
         */
        public double gapClosed(Row row) {
            double top = row(CaLoraRow.UNCOMPRESSED).average();
            double bottom = row(CaLoraRow.PLUGGED).average();
            return top > bottom ? (row.average() - bottom) / (top - bottom) : Double.NaN;
        }
    }

    /**
     * One row of a grid.
     *
     * @param kind which row
     * @param cells task name to the row's result there, in task order
     */
    public record Row(CaLoraRow kind, Map<String, Cell> cells) {
        public Row {
            cells = Collections.unmodifiableMap(new LinkedHashMap<>(cells));
        }

        /** Mean score over the tasks. */
        public double average() {
            return cells.values().stream().mapToDouble(c -> c.result().score()).filter(d -> !Double.isNaN(d)).average()
                    .orElse(Double.NaN);
        }

        /**
         * Mean over the tasks of the completion's mean negative log-likelihood per token (the
         * evaluator's "nll"): a continuous view of the same comparison, telling rows apart where
         * exact match is 0 for all of them. Tasks without an nll (multiple choice) are left out; NaN if none has one.
         */
        public double averageNll() {
            return DemoReport.meanNll(cells.values().stream().map(Cell::result).toList());
        }

        /** Total evaluation wall time over the tasks (the recovery branches' inference cost shows here). */
        public double evalSeconds() {
            return cells.values().stream().mapToDouble(Cell::evalSeconds).sum();
        }

        /** The row's score on {@code task}, NaN if absent. */
        public double score(String task) {
            Cell c = cells.get(task);
            return c == null ? Double.NaN : c.result().score();
        }
    }

    /**
     * A row's result on one task.
     *
     * @param result the evaluation
     * @param training the adapt run, or null for the untrained rows
     * @param evalSeconds wall time of the evaluation
     */
    public record Cell(TaskResult result, Training training, double evalSeconds) {
    }

    /**
     * What one adapt run cost and produced.
     *
     * @param steps optimizer steps
     * @param lastLoss the last step's training loss
     * @param seconds wall time of the run
     * @param loraParameters parameters of the task LoRA
     * @param loraBytes bytes of adapter_model.safetensors
     * @param recoveryParameters parameters of the recovery modules (0 without)
     * @param recoveryBytes bytes of recovery.safetensors (0 without)
     */
    public record Training(long steps, double lastLoss, double seconds, long loraParameters, long loraBytes,
                           long recoveryParameters, long recoveryBytes) {
    }

    public CaLoraReport {
        settings = List.copyOf(settings);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode root = DemoReport.header(options, world);
        CaLoraSettings ca = options.caLora();
        ObjectNode budget = root.putObject("training");
        budget.put("steps", ca.steps());
        budget.put("batch_size", ca.batchSize());
        budget.put("lr", ca.lr());
        budget.put("schedule", "cosine, 10% warm-up, AdamW");
        root.put("score", "exact_match for prompt/completion tasks, accuracy for multiple choice");
        root.put("gap_closed", "(row average - plugged average) / (uncompressed average - plugged average)");
        ArrayNode arr = root.putArray("settings");
        for (Setting s : settings) {
            ObjectNode sn = arr.addObject();
            sn.put("compression", s.compression().name());
            sn.put("disk_bytes", s.diskBytes());
            sn.put("input_weight_bytes", s.inputWeightBytes());
            sn.put("weight_bytes", s.weightBytes());
            sn.put("projection_bits_per_weight", s.projectionBitsPerWeight());
            ArrayNode kept = sn.putArray("modules_not_quantized");
            s.unquantized().forEach(kept::add);
            ArrayNode rows = sn.putArray("rows");
            for (Row r : s.rows()) {
                ObjectNode rn = rows.addObject();
                rn.put("row", r.kind().key());
                rn.put("description", r.kind().description());
                DemoReport.putNumber(rn, "average", r.average());
                DemoReport.putNumber(rn, "gap_closed", s.gapClosed(r));
                DemoReport.putNumber(rn, "average_nll", r.averageNll());
                rn.put("eval_seconds", r.evalSeconds());
                ObjectNode scores = rn.putObject("scores");
                ObjectNode metrics = rn.putObject("metrics");
                ObjectNode training = r.kind().trained() ? rn.putObject("training") : null;
                r.cells().forEach((task, c) -> {
                    DemoReport.putNumber(scores, task, c.result().score());
                    metrics.set(task, DemoReport.metrics(c.result()));
                    if (training != null && c.training() != null) {
                        Training t = c.training();
                        ObjectNode tn = training.putObject(task);
                        tn.put("steps", t.steps());
                        DemoReport.putNumber(tn, "last_loss", t.lastLoss());
                        tn.put("seconds", t.seconds());
                        tn.put("lora_parameters", t.loraParameters());
                        tn.put("lora_bytes", t.loraBytes());
                        tn.put("recovery_parameters", t.recoveryParameters());
                        tn.put("recovery_bytes", t.recoveryBytes());
                    }
                });
            }
        }
        root.put("seconds", seconds);
        return root;
    }
}
