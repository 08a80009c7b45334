package dev.lorakit.train;

import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * The training loop, for LoRA and full-parameter runs alike (the difference lives in
 * {@link TrainableParameters}): data -> batches (gradient accumulation) -> forward/backward ->
 * clipping -> optimizer step with the scheduled learning rate -> log, evaluation and atomic
 * checkpoints; at the end (or when stopped) the result in the output directory. A run resumed
 * from its checkpoint continues bit for bit: the checkpoint holds the trainable tensors, the
 * optimizer moments, the dropout RNG state and the data position.
 *
 * <p>Output directory: the result (LoRA: adapter_config.json + adapter_model.safetensors; full:
 * config.json, model.safetensors and the base model's tokenizer files), training_log.jsonl, and
 * checkpoint/ (the latest checkpoint).
 */
public final class Trainer {
    /** The checkpoint directory inside the output directory. */
    public static final String CHECKPOINT_DIR = "checkpoint";
    private static final String DROPOUT_RNG = "dropout";

    /** Progress callbacks (the CLI draws its progress bar from them). */
    public interface Listener {
        /** After every optimizer step. */
        void step(TrainingLog.Entry entry, long totalSteps);

        /** After an evaluation. */
        default void evaluated(long step, double evalLoss) {
        }

        /** Once, before the first step of this process: the steps already done (resumed) and the total. */
        default void started(long step, long totalSteps) {
        }
    }

    /**
     * What a run did.
     *
     * @param steps optimizer steps completed (in total, across resumes)
     * @param totalSteps steps the run was configured for
     * @param lastLoss training loss of the last step
     * @param evalLoss the last evaluation loss, or NaN
     * @param tokens target tokens trained on in this process
     * @param seconds wall time in this process
     * @param stoppedEarly true when a stop was requested before the last step
     */
    public record Result(long steps, long totalSteps, double lastLoss, double evalLoss, long tokens, double seconds,
                         boolean stoppedEarly) {
    }

    private Trainer() {
    }

    /**
     * Trains a LoRA (or with {@link TrainConfig#full()} every weight) on {@code train} (and
     * evaluates on {@code eval} if given) and writes the output directory. With {@code resume},
     * continues from {@code out/checkpoint} (its config must equal {@code cfg}). {@code stop} is
     * polled between steps (Ctrl-C): a checkpoint and the result so far are saved before
     * returning.
     */
    public static Result run(Path modelDir, TrainConfig cfg, Path train, Path eval, Path out, boolean resume,
                             Listener listener, BooleanSupplier stop) throws IOException {
        return run(TrainingSetup.of(modelDir, cfg), train, eval, out, resume, listener, stop);
    }

    /**
     * Runs the training loop for any {@link TrainingSetup} (plain or CA-LoRA): as
     * {@link #run(Path, TrainConfig, Path, Path, Path, boolean, Listener, BooleanSupplier)}, with
     * the setup's parameters, extra checkpoint files and optional distillation. With
     * distillation, each step's loss is CE + lambda * KD, where KD is the mean squared error
     * over the step's real positions and hidden dimensions ({@link Distillation}); micro-batches
     * without targets still contribute their KD part.
     */
    public static Result run(TrainingSetup setup, Path train, Path eval, Path out, boolean resume, Listener listener,
                             BooleanSupplier stop) throws IOException {
        long t0 = System.nanoTime();
        Path modelDir = setup.modelDir();
        TrainConfig cfg = setup.config();
        List<Path> inputs = new ArrayList<>(List.of(modelDir, train));
        if (eval != null) {
            inputs.add(eval);
        }
        if (cfg.initAdapter() != null) {
            inputs.add(Path.of(cfg.initAdapter()));
        }
        inputs.addAll(setup.otherInputs());
        AtomicFiles.requireNotAnInput(out, inputs, "the training output");
        Path ckptDir = out.resolve(CHECKPOINT_DIR);
        Checkpoint ckpt = null;
        if (resume) {
            if (!Files.isDirectory(ckptDir)) {
                throw new BadInputException(ckptDir + ": no checkpoint to resume from");
            }
            ckpt = Checkpoint.load(ckptDir);
            List<String> diff = ckpt.config().differingKeys(cfg);
            if (!diff.isEmpty()) {
                throw new BadInputException(ckptDir.resolve(Checkpoint.CONFIG_FILE) + ": the run was started with other "
                        + "options " + diff + "; resume with the same options");
            }
            setup.checkResume(ckptDir);
        }
        ModelConfig mc;
        TrainingData trainData;
        TrainingData evalData = null;
        try (HfModelDirectory dir = HfModelDirectory.open(modelDir)) {
            mc = dir.config();
        }
        try (TextTokenizer tok = TextTokenizer.load(modelDir, SpecialTokenIds.of(mc.bosTokenId(), mc.eosTokenIds(), mc.padTokenId()))) {
            ExampleEncoder encoder = ExampleEncoder.forTokenizer(tok, mc.vocabSize());
            trainData = TrainingData.read(train, encoder, cfg.seqLen());
            if (eval != null) {
                evalData = TrainingData.read(eval, encoder, cfg.seqLen());
            }
        }
        if (trainData.examples().isEmpty()) {
            throw new BadInputException(train + ": no example has a token to learn after truncation to --seq-len " + cfg.seqLen());
        }
        TrainableParameters params = setup.initialParameters(mc);
        if (ckpt != null) {
            params.restore(ckpt, ckptDir);
        }
        List<NamedParameter> named = params.parameters();
        Optimizer optimizer = cfg.createOptimizer(named);
        long totalSteps = cfg.totalSteps(trainData.size());
        LearningRateSchedule schedule = cfg.lrSchedule(totalSteps);
        int padId = mc.padTokenId() != null && mc.padTokenId() >= 0 ? mc.padTokenId() : 0;
        Batcher batcher = new Batcher(trainData.examples(), cfg.batchSize(), padId, cfg.seed(), cfg.shuffle());
        TrainRng dropoutRng = TrainRng.seeded(cfg.seed(), 1);
        long step = 0;
        double elapsedBefore = 0;
        if (ckpt != null) {
            ckpt.restoreOptimizer(ckptDir, optimizer);
            batcher.seek(ckpt.position());
            dropoutRng = ckpt.rng(ckptDir, DROPOUT_RNG);
            step = ckpt.globalStep();
        }
        Files.createDirectories(out);
        Path logFile = out.resolve(TrainingLog.FILE_NAME);
        if (ckpt != null) {
            List<TrainingLog.Entry> earlier = Files.exists(logFile) ? TrainingLog.read(logFile) : List.of();
            elapsedBefore = earlier.isEmpty() ? 0 : earlier.getLast().elapsedSeconds();
        }
        double lastLoss = Double.NaN;
        double lastEval = Double.NaN;
        long tokens = 0;
        boolean stopped = false;
        try (LlamaTrainingModel model = LlamaTrainingModel.open(modelDir, params);
             Distillation distill = setup.openDistillation();
             TrainingLog log = ckpt != null ? TrainingLog.resume(logFile, step) : TrainingLog.start(logFile)) {
            listener.started(step, totalSteps);
            while (step < totalSteps) {
                if (stop.getAsBoolean()) {
                    stopped = true;
                    break;
                }
                long s0 = System.nanoTime();
                List<Batch> micro = batcher.nextStep(cfg.gradAccum());
                long normaliser = 0;
                long positions = 0;
                for (Batch b : micro) {
                    normaliser += b.targetCount();
                    positions += b.tokenCount();
                }
                model.zeroGrad();
                double ce = 0;
                double kd = 0;
                for (Batch b : micro) {
                    if (b.targetCount() == 0 && (distill == null || b.tokenCount() == 0)) {
                        continue;
                    }
                    long seed = dropoutRng.nextLong();
                    ce += model.forward(b.inputIds(), b.shiftedTargets(), b.size(), b.width(),
                            Math.max(1, normaliser), (float) cfg.loraDropout(), seed);
                    if (distill != null) {
                        kd += distill.apply(model, b, positions);
                    }
                    model.backward();
                }
                double loss = distill == null ? ce : ce + distill.weight() * kd;
                if (!Double.isFinite(loss)) {
                    throw new IllegalStateException("training loss became " + loss + " at step " + (step + 1)
                            + "; lower --lr or set --max-grad-norm");
                }
                double gradNorm = GradientClipping.clip(named, cfg.maxGradNorm());
                double lr = schedule.lr(step);
                optimizer.step(lr);
                step++;
                tokens += normaliser;
                lastLoss = loss;
                double stepSeconds = (System.nanoTime() - s0) / 1e9;
                int processed = 0;
                for (Batch b : micro) {
                    processed += b.size() * b.width();
                }
                double epoch = batcher.epochProgress();
                TrainingLog.Entry entry = TrainingLog.Entry.train(step, epoch, loss, lr, gradNorm, processed / stepSeconds,
                        elapsedBefore + (System.nanoTime() - t0) / 1e9);
                if (setup.logsLossParts()) {
                    entry = entry.withLossParts(ce, distill == null ? null : kd);
                }
                boolean evalNow = evalData != null && (cfg.evalEvery() > 0 && step % cfg.evalEvery() == 0 || step == totalSteps);
                if (evalNow) {
                    lastEval = evaluate(model, evalData, cfg, padId);
                    entry = entry.withEvalLoss(lastEval);
                    listener.evaluated(step, lastEval);
                }
                log.append(entry);
                listener.step(entry, totalSteps);
                if (cfg.saveEvery() > 0 && step % cfg.saveEvery() == 0 && step < totalSteps) {
                    saveCheckpoint(ckptDir, setup, step, batcher, params, optimizer, dropoutRng);
                }
            }
        }
        saveCheckpoint(ckptDir, setup, step, batcher, params, optimizer, dropoutRng);
        params.writeOutput(out, modelDir, cfg);
        return new Result(step, totalSteps, lastLoss, lastEval, tokens, (System.nanoTime() - t0) / 1e9, stopped);
    }

    /** Mean cross-entropy over every target of the evaluation data (no dropout, no gradients). */
    static double evaluate(LlamaTrainingModel model, TrainingData data, TrainConfig cfg, int padId) {
        Batcher b = new Batcher(data.examples(), cfg.batchSize(), padId, 0, false);
        double sum = 0;
        long count = 0;
        for (int i = 0; i < b.batchesPerEpoch(); i++) {
            Batch batch = b.next();
            if (batch.targetCount() == 0) {
                continue;
            }
            sum += model.forward(batch.inputIds(), batch.shiftedTargets(), batch.size(), batch.width(), 1.0, 0f, 0);
            count += batch.targetCount();
        }
        return count == 0 ? Double.NaN : sum / count;
    }

    private static void saveCheckpoint(Path dir, TrainingSetup setup, long step, Batcher batcher, TrainableParameters params,
                                       Optimizer optimizer, TrainRng dropoutRng) throws IOException {
        Map<String, String> extra = setup.checkpointFiles();
        new Checkpoint(setup.config(), step, batcher.position(), params.tensors(), optimizer.exportState(),
                Map.of(DROPOUT_RNG, dropoutRng.state())).save(dir, tmp -> {
                    for (Map.Entry<String, String> f : extra.entrySet()) {
                        Files.writeString(tmp.resolve(f.getKey()), f.getValue());
                    }
                });
    }
}
