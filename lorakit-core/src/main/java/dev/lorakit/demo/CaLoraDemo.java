package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import dev.lorakit.adapt.Adaptation;
import dev.lorakit.compress.CompressionListener;
import dev.lorakit.compress.CompressionResult;
import dev.lorakit.compress.ModelCompressor;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.recovery.RecoveryAdapter;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.io.recovery.RecoveryModule;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tasks.TaskSplit;
import dev.lorakit.train.LearningRateSchedule;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import dev.lorakit.train.TrainingLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ca-lora scenario: the CA-LoRA ablation grid on the bundled world. For each compression
 * setting the base model is compressed once ({@link ModelCompressor}); then, for each task, its
 * existing adapter is evaluated on the uncompressed model and plugged into the compressed one, and
 * five {@link Adaptation} runs with the same budget (fresh LoRA, inheritance, + recovery,
 * + distillation, full CA-LoRA) are trained on the task's train split and evaluated on the
 * chosen split. Adapted adapters are evaluated unmerged (recovery branches cannot be folded).
 */
public final class CaLoraDemo {
    /** Longest training sequence: the suite's prompts and completions are far shorter. */
    static final int SEQ_LEN = 128;

    private CaLoraDemo() {
    }

    /** Runs the grid for {@code world} (located from {@code options}). */
    public static CaLoraReport run(DemoOptions options, DemoWorld world, DemoListener listener) {
        long t0 = System.nanoTime();
        CaLoraSettings ca = options.caLora();
        List<TaskAdapter> tasks = world.tasks();
        List<CaLoraRow> trainedRows = List.of(CaLoraRow.values()).stream().filter(CaLoraRow::trained).toList();
        long examples = tasks.stream().mapToLong(t -> t.data().examples().size()).sum();
        long settings = ca.compressions().size();
        long trainUnits = (long) ca.steps() * ca.batchSize();
        listener.planned(examples * (1 + settings * (1 + trainedRows.size()))
                + settings * tasks.size() * trainedRows.size() * trainUnits);
        for (TaskAdapter t : tasks) {
            Path train = trainFile(options, t);
            if (!Files.isRegularFile(train)) {
                throw new BadInputException(train + " not found: task \"" + t.task() + "\" has no train split, which the"
                        + " ca-lora scenario trains on (run tools/build-examples.sh)");
            }
            TaskFile.Kind kind = TaskFile.read(train).kind();
            if (kind != TaskFile.Kind.PROMPT_COMPLETION) {
                throw new BadInputException(train + ": the ca-lora scenario trains on prompt/completion examples; task \""
                        + t.task() + "\" is " + kind.name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        Path base = world.base();
        int batch = options.batchSize();
        List<CaLoraReport.Setting> out = new ArrayList<>();
        try (DemoWorkspace ws = DemoWorkspace.open(options.keepMerged());
             TextTokenizer tok = openTokenizer(base)) {
            // every setting compressed (and so checked against the model) before any long work
            Map<CompressionSetting, CompressionResult> compressedModels = new LinkedHashMap<>();
            for (CompressionSetting setting : ca.compressions()) {
                listener.stage("compress " + setting.name());
                compressedModels.put(setting, compress(base, setting,
                        ws.resolve(directoryName(setting.name())).resolve("model")));
            }
            Map<String, CaLoraReport.Cell> uncompressed = new LinkedHashMap<>();
            for (TaskAdapter t : tasks) {
                try (LlamaModel m = LlamaModel.open(base, List.of(new AdapterRef(t.adapter(), 1.0)), true)) {
                    uncompressed.put(t.task(), evaluate("uncompressed", m, tok, t, batch, listener, null));
                }
            }
            for (CompressionSetting setting : ca.compressions()) {
                Path dir = ws.resolve(directoryName(setting.name()));
                CompressionResult cr = compressedModels.get(setting);
                Path compressed = cr.output();
                Map<CaLoraRow, Map<String, CaLoraReport.Cell>> cells = new LinkedHashMap<>();
                for (CaLoraRow row : CaLoraRow.values()) {
                    cells.put(row, new LinkedHashMap<>());
                }
                cells.get(CaLoraRow.UNCOMPRESSED).putAll(uncompressed);
                for (TaskAdapter t : tasks) {
                    try (LlamaModel m = LlamaModel.open(compressed, List.of(new AdapterRef(t.adapter(), 1.0)))) {
                        cells.get(CaLoraRow.PLUGGED).put(t.task(),
                                evaluate(setting.name() + " plugged", m, tok, t, batch, listener, null));
                    }
                    for (CaLoraRow row : trainedRows) {
                        String what = setting.name() + " " + row.key() + ": " + t.task();
                        Path adapted = dir.resolve(t.task()).resolve(row.key());
                        CaLoraReport.Training training = adapt(options, t, row, base, compressed, adapted, what, listener);
                        try (LlamaModel m = LlamaModel.open(compressed, List.of(new AdapterRef(adapted, 1.0)))) {
                            cells.get(row).put(t.task(), evaluate(what, m, tok, t, batch, listener, training));
                        }
                    }
                }
                List<CaLoraReport.Row> rows = new ArrayList<>();
                cells.forEach((row, byTask) -> rows.add(new CaLoraReport.Row(row, byTask)));
                List<String> unquantized = cr.record().quantization() == null ? List.of()
                        : cr.record().quantization().unquantized();
                out.add(new CaLoraReport.Setting(setting, cr.diskBytes(), cr.inputWeightBytes(), cr.weightBytes(),
                        cr.projectionBitsPerWeight(), unquantized, rows));
            }
        }
        return new CaLoraReport(options, world, out, MultiTaskDemo.since(t0));
    }

    /** The training configuration every trained row shares (only the adapt ingredients differ). */
    static TrainConfig trainConfig(CaLoraSettings ca, long seed) {
        return TrainConfig.builder().maxSteps(ca.steps()).batchSize(ca.batchSize()).seqLen(SEQ_LEN).lr(ca.lr())
                .warmupSteps(ca.steps() / 10).schedule(LearningRateSchedule.Kind.COSINE).maxGradNorm(1.0)
                .seed(seed).build();
    }

    private static CaLoraReport.Training adapt(DemoOptions options, TaskAdapter t, CaLoraRow row, Path base, Path compressed,
                                               Path out, String what, DemoListener listener) {
        CaLoraSettings ca = options.caLora();
        listener.stage("adapt " + what);
        Trainer.Result r;
        try {
            r = Adaptation.run(row.adaptConfig(base.toString(), t.adapter().toString()), compressed,
                    trainConfig(ca, options.seed()), trainFile(options, t), null, out, false, new Trainer.Listener() {
                        @Override
                        public void step(TrainingLog.Entry entry, long totalSteps) {
                            listener.advance(ca.batchSize());
                        }
                    }, () -> false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long loraParams;
        try (LoraAdapter lora = LoraAdapter.open(out)) {
            loraParams = lora.modules().stream().mapToLong(LoraModule::parameterCount).sum();
        }
        long recParams = 0;
        if (Files.isRegularFile(out.resolve(RecoveryConfig.CONFIG_FILE))) {
            try (RecoveryAdapter rec = RecoveryAdapter.open(out)) {
                recParams = rec.modules().stream().mapToLong(RecoveryModule::parameterCount).sum();
            }
        }
        return new CaLoraReport.Training(r.steps(), r.lastLoss(), r.seconds(), loraParams,
                size(out.resolve(PeftKeys.WEIGHTS_FILE)), recParams, size(out.resolve(RecoveryConfig.WEIGHTS_FILE)));
    }

    private static CompressionResult compress(Path base, CompressionSetting setting, Path out) {
        try {
            return ModelCompressor.compress(base, setting.options(), out, CompressionListener.NONE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The model on the task, with the evaluation's wall time (the recovery branches' cost shows there). */
    private static CaLoraReport.Cell evaluate(String system, LlamaModel model, TextTokenizer tok, TaskAdapter task, int batch,
                                              DemoListener listener, CaLoraReport.Training training) {
        long t0 = System.nanoTime();
        TaskResult r = SuiteEvaluation.runOne(system, model, tok, task, batch, listener);
        return new CaLoraReport.Cell(r, training, MultiTaskDemo.since(t0));
    }

    private static TextTokenizer openTokenizer(Path base) {
        try (HfModelDirectory dir = HfModelDirectory.open(base)) {
            return MultiTaskDemo.tokenizer(base, dir.config());
        }
    }

    private static Path trainFile(DemoOptions options, TaskAdapter t) {
        return options.tasks().resolve(t.task()).resolve(TaskSplit.TRAIN.fileName());
    }

    /** A directory name for a setting: q4_0+2:4 -> q4_0+2-4 (no ':' in paths). */
    static String directoryName(String setting) {
        return setting.replace(':', '-');
    }

    private static long size(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
