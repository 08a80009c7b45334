package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.tensor.DType;
import dev.lorakit.train.LearningRateSchedule;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import dev.lorakit.train.TrainingLog;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit train}: trains a LoRA adapter (or, with --full, every weight of the model) on the CPU. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a LoRA adapter on a model, or with --full every weight of it (hand-written backward,",
                "AdamW or SGD, checkpoints).", "",
                "Data: JSONL with {\"prompt\",\"completion\"}, {\"messages\"}, {\"text\"} or {\"input_ids\",\"labels\"}.",
                "Output: a PEFT adapter directory (with --full: a Hugging Face model directory) with training_log.jsonl,",
                "loss.png and checkpoint/ (for --resume).",
                "Ctrl-C saves a checkpoint and the adapter (model) so far before exiting."},
        footer = {"", "Examples:", "  lorakit train --model M --data train.jsonl --eval dev.jsonl --rank 8 --epochs 3 -o my-lora",
                "  lorakit train --model M --data train.jsonl -o my-lora --resume",
                "  lorakit synth model --preset base6m --dtype f32 -o base && \\",
                "    lorakit train --full --model base --data text.jsonl --lr 1e-3 --weight-decay 0.1 --warmup 100 \\",
                "    --schedule cosine --seq-len 256 --steps 2000 --save-every 200 -o pretrained"})
public final class TrainCommand implements Callable<Integer> {
    /** The LoRA-only options, refused with --full. */
    static final List<String> LORA_OPTIONS = List.of("--rank", "--alpha", "--rslora", "--targets", "--lora-dropout",
            "--init-adapter");

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base Hugging Face model directory.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "TRAIN.jsonl", description = "Training data.")
    Path data;

    @Option(names = "--eval", paramLabel = "DEV.jsonl", description = "Evaluation data (loss logged at --eval-every and at the end).")
    Path eval;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT_DIR",
            description = "Output directory (the adapter, or with --full the model).")
    Path output;

    @Option(names = "--rank", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--alpha", description = "lora_alpha (default: 2 x rank).")
    Double alpha;

    @Option(names = "--rslora", description = "rsLoRA scaling alpha/sqrt(r).")
    boolean rslora;

    @Option(names = "--targets", split = ",", defaultValue = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            description = "Projections to adapt (default: all seven).")
    List<String> targets = new ArrayList<>();

    @Option(names = "--lora-dropout", defaultValue = "0", description = "Dropout on the LoRA input (default: ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(names = "--init-adapter", paramLabel = "DIR", description = "Start from this adapter instead of a fresh init.")
    Path initAdapter;

    @Option(names = "--full", description = "Train every weight of the model (no LoRA); the output is a model directory.")
    boolean full;

    @Option(names = "--save-dtype", paramLabel = "DTYPE", description = "With --full: dtype of the saved weights, f32, bf16 or f16 (default: f32).")
    String saveDtype;

    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw or sgd (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--lr", defaultValue = "2e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0",
            description = "Decoupled weight decay, on matrices only, not norms or biases (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--betas", defaultValue = "0.9,0.999", split = ",", description = "AdamW betas (default: ${DEFAULT-VALUE}).")
    List<Double> betas = new ArrayList<>();

    @Option(names = "--warmup", defaultValue = "0", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--schedule", defaultValue = "constant", description = "constant, cosine or linear (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Clip the global gradient norm; 0 = off (default: ${DEFAULT-VALUE}).")
    double maxGradNorm;

    @Option(names = "--batch-size", defaultValue = "8", description = "Sequences per micro-batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "1", description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--seq-len", defaultValue = "512", description = "Truncate examples to this many tokens (default: ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the data (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--steps", description = "Optimizer steps (overrides --epochs).")
    Long steps;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of init, shuffling and dropout (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--no-shuffle", description = "Keep the data in file order.")
    boolean noShuffle;

    @Option(names = "--eval-every", defaultValue = "0", description = "Evaluate every N steps; 0 = only at the end (default: ${DEFAULT-VALUE}).")
    long evalEvery;

    @Option(names = "--save-every", defaultValue = "0", description = "Checkpoint every N steps; 0 = only at the end (default: ${DEFAULT-VALUE}).")
    long saveEvery;

    @Option(names = "--resume", description = "Continue from OUT_DIR/checkpoint (same options required).")
    boolean resume;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (betas.size() != 2) {
            throw new BadInputException("--betas: expected two numbers like 0.9,0.999, got " + betas);
        }
        checkModeOptions();
        TrainConfig cfg = TrainConfig.builder().rank(rank).alpha(alpha == null ? 2.0 * rank : alpha).rslora(rslora)
                .targets(List.copyOf(targets)).loraDropout(loraDropout).optimizer(optimizer.toLowerCase(Locale.ROOT)).lr(lr)
                .weightDecay(weightDecay).beta1(betas.get(0)).beta2(betas.get(1)).warmupSteps(warmup)
                .schedule(LearningRateSchedule.Kind.fromOptionName(schedule)).maxGradNorm(maxGradNorm).batchSize(batchSize)
                .gradAccum(gradAccum).seqLen(seqLen).epochs(epochs).maxSteps(steps == null ? 0 : steps).seed(seed)
                .shuffle(!noShuffle).evalEvery(evalEvery).saveEvery(saveEvery)
                .initAdapter(initAdapter == null ? null : initAdapter.toString()).full(full)
                .saveDtype(saveDtype == null ? DType.F32 : parseSaveDtype(saveDtype)).build();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.set(true);
            try {
                finished.await(120, TimeUnit.SECONDS); // let the loop save its checkpoint
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "lorakit-train-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        List<TrainingLog.Entry> entries = new ArrayList<>();
        Trainer.Result result;
        try (Progress progress = Progress.start("train", 1, global)) {
            result = Trainer.run(model, cfg, data, eval, output, resume, new Trainer.Listener() {
                boolean sized;

                @Override
                public void step(TrainingLog.Entry e, long totalSteps) {
                    if (!sized) {
                        progress.resize(totalSteps, e.step() - 1);
                        sized = true;
                    }
                    progress.step(1);
                    progress.message(String.format(Locale.ROOT, "loss %.4f, %.0f tok/s", e.loss(), e.tokensPerSecond()));
                }
            }, stop::get);
            entries.addAll(TrainingLog.read(output.resolve(TrainingLog.FILE_NAME)));
            writeLossChart(output.resolve("loss.png"), entries);
        } finally {
            finished.countDown(); // after the checkpoint, adapter and chart: a Ctrl-C exit may proceed now
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down (Ctrl-C): the hook is running
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("output", output.toString());
            root.put("steps", result.steps());
            root.put("total_steps", result.totalSteps());
            root.put("last_loss", result.lastLoss());
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
            Json.print(out, root);
        } else {
            out.printf(Locale.ROOT, "%s %d/%d steps in %.1f s, last loss %.4f%s -> %s%n",
                    result.stoppedEarly() ? "stopped after" : "trained", result.steps(), result.totalSteps(), result.seconds(),
                    result.lastLoss(), Double.isNaN(result.evalLoss()) ? "" : String.format(Locale.ROOT, ", eval loss %.4f", result.evalLoss()),
                    output);
        }
        return 0;
    }

    /** --full takes no LoRA option; --save-dtype needs --full. */
    private void checkModeOptions() {
        if (full) {
            for (String o : LORA_OPTIONS) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new BadInputException(o + ": not a --full option (--full trains every weight of the model, "
                            + "without a LoRA); remove " + o + " or --full");
                }
            }
        } else if (saveDtype != null) {
            throw new BadInputException("--save-dtype: only with --full (an adapter is saved in float32)");
        }
    }

    static DType parseSaveDtype(String s) {
        DType d = DType.fromTorchName(s.toLowerCase(Locale.ROOT));
        if (d == null) {
            d = DType.fromSafetensorsName(s.toUpperCase(Locale.ROOT));
        }
        if (d == null || !d.isCompute()) {
            throw new BadInputException("--save-dtype: expected f32, bf16 or f16, got \"" + s + "\"");
        }
        return d;
    }

    /** The process's peak resident set size (Linux VmHWM), or -1 where unknown. */
    static long peakRssBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** loss.png: training loss (and evaluation loss) per step. */
    static void writeLossChart(Path file, List<TrainingLog.Entry> entries) throws java.io.IOException {
        if (entries.isEmpty()) {
            return;
        }
        XYChart chart = new XYChartBuilder().width(800).height(500).title("lorakit train").xAxisTitle("step")
                .yAxisTitle("loss").build();
        chart.getStyler().setMarkerSize(0);
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        List<Double> ex = new ArrayList<>();
        List<Double> ey = new ArrayList<>();
        for (TrainingLog.Entry e : entries) {
            if (e.loss() != null) {
                xs.add((double) e.step());
                ys.add(e.loss());
            }
            if (e.evalLoss() != null) {
                ex.add((double) e.step());
                ey.add(e.evalLoss());
            }
        }
        if (!xs.isEmpty()) {
            chart.addSeries("train", xs, ys);
        }
        if (!ex.isEmpty()) {
            XYSeries s = chart.addSeries("eval", ex, ey);
            s.setMarker(org.knowm.xchart.style.markers.SeriesMarkers.CIRCLE);
        }
        AtomicFiles.writeFile(file, o -> BitmapEncoder.saveBitmap(chart, o, BitmapEncoder.BitmapFormat.PNG));
    }
}
