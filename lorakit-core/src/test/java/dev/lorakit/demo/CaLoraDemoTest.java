package dev.lorakit.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.BadInputException;
import dev.lorakit.eval.Evaluator;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tasks.TaskSplit;
import dev.lorakit.testing.TinyDemoWorld;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ca-lora scenario on the tiny world: grid completeness, rows equal to their models, the ablation switches, bad input. */
class CaLoraDemoTest {
    @TempDir
    static Path root;
    static Path keep;
    static CaLoraReport report;
    static final int LIMIT = 4;
    static final double LR = 1e-12;

    @BeforeAll
    static void runGrid() throws Exception {
        TinyDemoWorld.write(root);
        keep = root.resolve("kept");
        // a learning rate so small that no float32 weight moves measurably: the trained rows must then
        // reproduce their starting points exactly (see trainingFromTheStartingPointChangesNothing)
        report = (CaLoraReport) Demo.run(options(CaLoraSettings.of(List.of("q4_0+2:4"), List.of("alpha", "beta"), 2, LR, 2),
                keep), DemoListener.NONE);
    }

    static DemoOptions options(CaLoraSettings ca, Path keepDir) {
        return new DemoOptions(root.resolve("base"), root.resolve("adapters"), root.resolve("tasks"), TaskSplit.TEST, LIMIT, null,
                DemoScenario.CA_LORA, 0, 3, keepDir, null, ca);
    }

    static TaskResult evaluate(LlamaModel model, String task) {
        try (TextTokenizer tok = MultiTaskDemo.tokenizer(root.resolve("base"), model.config())) {
            TaskFile data = TaskFile.read(root.resolve("tasks").resolve(task).resolve("test.jsonl")).limit(LIMIT, 0);
            return new Evaluator(model, tok, 3).evaluate(data, n -> { });
        }
    }

    static long loraParameters(Path dir) {
        try (LoraAdapter a = LoraAdapter.open(dir)) {
            return a.modules().stream().mapToLong(LoraModule::parameterCount).sum();
        }
    }

    @Test
    void gridHasSevenRowsOnEveryTask() {
        assertEquals(1, report.settings().size());
        CaLoraReport.Setting s = report.settings().get(0);
        assertEquals("q4_0+2:4", s.compression().name());
        assertEquals(Arrays.asList(CaLoraRow.values()), s.rows().stream().map(CaLoraReport.Row::kind).toList());
        assertTrue(s.projectionBitsPerWeight() > 4 && s.projectionBitsPerWeight() < 5, "Q4_0 stores 4.5 bits per weight");
        assertTrue(s.weightBytes() < s.inputWeightBytes());
        for (CaLoraReport.Row row : s.rows()) {
            assertEquals(TinyDemoWorld.TASKS, List.copyOf(row.cells().keySet()), row.kind().key());
            for (CaLoraReport.Cell c : row.cells().values()) {
                assertEquals(LIMIT, c.result().examples());
                assertEquals(row.kind().trained(), c.training() != null, row.kind().key());
            }
            double mean = (row.score("alpha") + row.score("beta")) / 2;
            assertEquals(mean, row.average(), 1e-15);
        }
    }

    @Test
    void untrainedRowsEqualTheirModelsEvaluatedDirectly() {
        CaLoraReport.Setting s = report.settings().get(0);
        Path compressed = keep.resolve("q4_0+2-4").resolve("model");
        for (String task : TinyDemoWorld.TASKS) {
            AdapterRef adapter = new AdapterRef(root.resolve("adapters").resolve(task), 1.0);
            try (LlamaModel m = LlamaModel.open(root.resolve("base"), List.of(adapter), true)) {
                assertEquals(evaluate(m, task).metrics(), s.row(CaLoraRow.UNCOMPRESSED).cells().get(task).result().metrics());
            }
            try (LlamaModel m = LlamaModel.open(compressed, List.of(adapter))) {
                assertEquals(evaluate(m, task).metrics(), s.row(CaLoraRow.PLUGGED).cells().get(task).result().metrics());
            }
            // the adapted adapters were evaluated on the compressed model with both branches
            Path ca = keep.resolve("q4_0+2-4").resolve(task).resolve("ca-lora");
            try (LlamaModel m = LlamaModel.open(compressed, List.of(new AdapterRef(ca, 1.0)))) {
                assertEquals(evaluate(m, task).metrics(), s.row(CaLoraRow.CA_LORA).cells().get(task).result().metrics());
            }
        }
    }

    /**
     * With a vanishing learning rate every trained row is its starting point: the inherited LoRA is the
     * existing adapter (so inherit, + recovery with U = 0, + distillation all score as plugged) and the
     * fresh LoRA has B = 0 (so it scores as the compressed model without any adapter).
     */
    @Test
    void trainingFromTheStartingPointChangesNothing() {
        CaLoraReport.Setting s = report.settings().get(0);
        Path compressed = keep.resolve("q4_0+2-4").resolve("model");
        for (String task : TinyDemoWorld.TASKS) {
            TaskResult plugged = s.row(CaLoraRow.PLUGGED).cells().get(task).result();
            for (CaLoraRow kind : List.of(CaLoraRow.INHERIT, CaLoraRow.RECOVERY, CaLoraRow.DISTILL, CaLoraRow.CA_LORA)) {
                TaskResult r = s.row(kind).cells().get(task).result();
                assertEquals(plugged.score(), r.score(), kind.key() + " " + task);
                assertEquals(plugged.metrics().get("nll"), r.metrics().get("nll"), 1e-6, kind.key() + " " + task);
            }
            try (LlamaModel bare = LlamaModel.open(compressed, List.of())) {
                TaskResult none = evaluate(bare, task);
                TaskResult fresh = s.row(CaLoraRow.FRESH).cells().get(task).result();
                assertEquals(none.score(), fresh.score(), task);
                assertEquals(none.metrics().get("nll"), fresh.metrics().get("nll"), 1e-6, task);
            }
        }
    }

    /** Distillation runs (and logs its loss part) exactly in the rows that have it. */
    @Test
    void onlyTheDistilledRowsLogADistillationLoss() throws Exception {
        for (CaLoraRow kind : CaLoraRow.values()) {
            if (!kind.trained()) {
                continue;
            }
            String log = Files.readString(keep.resolve("q4_0+2-4").resolve("beta").resolve(kind.key()).resolve("training_log.jsonl"));
            boolean distilled = kind == CaLoraRow.DISTILL || kind == CaLoraRow.CA_LORA;
            assertEquals(distilled, log.contains("\"kd_loss\""), kind.key());
        }
    }

    @Test
    void gapClosedAndAveragesFromHandMadeResults() {
        java.util.function.BiFunction<Double, Double, CaLoraReport.Cell> cell = (score, nll) -> new CaLoraReport.Cell(
                new TaskResult("t", TaskFile.Kind.PROMPT_COMPLETION, 10, java.util.Map.of("exact_match", score, "nll", nll), score),
                null, 1.0);
        java.util.List<CaLoraReport.Row> rows = new java.util.ArrayList<>();
        double[][] byRow = {{0.9, 0.7}, {0.3, 0.1}, {0.0, 0.0}, {0.5, 0.3}, {0.6, 0.4}, {0.4, 0.2}, {0.9, 0.9}};
        for (CaLoraRow kind : CaLoraRow.values()) {
            double[] v = byRow[kind.ordinal()];
            java.util.Map<String, CaLoraReport.Cell> cells = new java.util.LinkedHashMap<>();
            cells.put("a", cell.apply(v[0], 1.0 + kind.ordinal()));
            cells.put("b", cell.apply(v[1], 3.0 + kind.ordinal()));
            rows.add(new CaLoraReport.Row(kind, cells));
        }
        CaLoraReport.Setting s = new CaLoraReport.Setting(CompressionSetting.parse("q4_0"), 1, 2, 1, 4.5, List.of(), rows);
        // uncompressed average 0.8, plugged 0.2: a row at 0.5 closes half the gap
        assertEquals(0.8, s.row(CaLoraRow.UNCOMPRESSED).average(), 1e-12);
        assertEquals(0.5, s.gapClosed(s.row(CaLoraRow.RECOVERY)), 1e-12);
        assertEquals(-1.0 / 3, s.gapClosed(s.row(CaLoraRow.FRESH)), 1e-12);
        assertEquals(7.0 / 6, s.gapClosed(s.row(CaLoraRow.CA_LORA)), 1e-12, "beyond the uncompressed model");
        assertEquals(2.0 + CaLoraRow.INHERIT.ordinal(), s.row(CaLoraRow.INHERIT).averageNll(), 1e-12);
        assertEquals(2.0, s.row(CaLoraRow.INHERIT).evalSeconds(), 1e-12);
    }

    @Test
    void trainedRowsFollowTheirIngredients() {
        CaLoraReport.Setting s = report.settings().get(0);
        long existing = loraParameters(root.resolve("adapters").resolve("alpha"));
        for (CaLoraRow kind : CaLoraRow.values()) {
            if (!kind.trained()) {
                continue;
            }
            CaLoraReport.Training t = s.row(kind).cells().get("alpha").training();
            assertEquals(2, t.steps(), kind.key());
            assertTrue(Double.isFinite(t.lastLoss()), kind.key());
            assertEquals(existing, t.loraParameters(), kind.key() + ": same LoRA shape as the existing adapter");
            assertTrue(t.loraBytes() > 4 * existing, kind.key());
            boolean recovery = kind == CaLoraRow.RECOVERY || kind == CaLoraRow.CA_LORA;
            assertEquals(recovery, t.recoveryParameters() > 0, kind.key());
            assertEquals(recovery, t.recoveryBytes() > 0, kind.key());
            Path dir = keep.resolve("q4_0+2-4").resolve("alpha").resolve(kind.key());
            assertEquals(recovery, Files.isRegularFile(dir.resolve("recovery.safetensors")), kind.key());
        }
        // the same budget and the same recovery shape (rank = LoRA rank, all seven projections)
        assertEquals(s.row(CaLoraRow.RECOVERY).cells().get("beta").training().recoveryParameters(),
                s.row(CaLoraRow.CA_LORA).cells().get("beta").training().recoveryParameters());
    }

    @Test
    void gapClosedIsZeroForPluggedAndOneForUncompressed() {
        CaLoraReport.Setting s = report.settings().get(0);
        double gap = s.gapClosed(s.row(CaLoraRow.PLUGGED));
        if (!Double.isNaN(gap)) {
            assertEquals(0.0, gap, 1e-12);
            assertEquals(1.0, s.gapClosed(s.row(CaLoraRow.UNCOMPRESSED)), 1e-12);
        } else {
            assertTrue(s.row(CaLoraRow.UNCOMPRESSED).average() <= s.row(CaLoraRow.PLUGGED).average());
        }
        JsonNode json = report.toJson();
        assertEquals("ca-lora", json.get("scenario").asText());
        assertEquals(2, json.get("training").get("steps").asInt());
        JsonNode rows = json.get("settings").get(0).get("rows");
        assertEquals(7, rows.size());
        assertEquals("ca-lora", rows.get(6).get("row").asText());
        assertTrue(rows.get(6).get("training").get("alpha").get("recovery_bytes").asLong() > 0);
        assertNull(rows.get(1).get("training"), "plugged is not trained");
        assertEquals(0, json.get("methods").size());
    }

    @Test
    void badInput() {
        BadInputException e = assertThrows(BadInputException.class, () -> CompressionSetting.parse("q3_k"));
        assertTrue(e.getMessage().contains("q3_k") && e.getMessage().contains("q4_0+2:4"), e.getMessage());
        assertThrows(BadInputException.class, () -> CompressionSetting.parse("q4_0+q8_0"));
        assertThrows(BadInputException.class, () -> CompressionSetting.parse("4:2"));
        assertThrows(BadInputException.class, () -> CaLoraSettings.of(List.of("q4_0", "q4_0"), null, null, null, null));
        assertThrows(BadInputException.class, () -> CaLoraSettings.of(null, null, 0, null, null));
        assertThrows(BadInputException.class, () -> CaLoraSettings.of(null, null, null, -1.0, null));
        e = assertThrows(BadInputException.class, () -> new DemoOptions(root.resolve("base"), root.resolve("adapters"),
                root.resolve("tasks"), TaskSplit.TEST, 2, List.of("lego"), DemoScenario.CA_LORA, 0, 2, null, null, null));
        assertTrue(e.getMessage().contains("--methods"), e.getMessage());
        CaLoraSettings ca = CaLoraSettings.of(null, List.of("alpha"), 1, null, 1);
        assertThrows(BadInputException.class, () -> new DemoOptions(root.resolve("base"), root.resolve("adapters"),
                root.resolve("tasks"), TaskSplit.TEST, 2, null, DemoScenario.MULTI_TASK, 0, 2, null, null, ca));
        e = assertThrows(BadInputException.class, () -> Demo.run(options(CaLoraSettings.of(null, List.of("gamma"), 1, null, 1),
                null), DemoListener.NONE));
        assertTrue(e.getMessage().contains("gamma"), e.getMessage());
    }
}
