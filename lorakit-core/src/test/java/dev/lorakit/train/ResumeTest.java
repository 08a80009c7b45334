package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The pieces together, in a toy training loop (a made-up loss whose gradient depends on the
 * batch and on dropout draws): stopping after any step, saving a checkpoint, loading it into a
 * fresh "process" and continuing gives bit-for-bit the parameters and log of an uninterrupted run.
 */
class ResumeTest {
    private static final int A_ROWS = 3;
    private static final int A_COLS = 5;
    private static final int B_SIZE = 7;

    @TempDir
    Path dir;

    /** Mutable training state of one "process". */
    private static final class Run {
        final TrainConfig config;
        final float[] values = new float[A_ROWS * A_COLS + B_SIZE];  // one buffer for all parameters
        final float[] grads = new float[values.length];
        final List<NamedParameter> params = List.of(
                new NamedParameter("a", values, 0, grads, 0, A_ROWS * A_COLS),
                new NamedParameter("b", values, A_ROWS * A_COLS, grads, A_ROWS * A_COLS, B_SIZE));
        final Optimizer optimizer;
        final Batcher batcher;
        final LearningRateSchedule schedule;
        TrainRng dropout;
        long step;

        Run(TrainConfig config, List<TrainingExample> data) {
            this.config = config;
            TrainRng init = TrainRng.seeded(config.seed(), -1);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (init.nextDouble() - 0.5);
            }
            optimizer = config.createOptimizer(params);
            batcher = new Batcher(data, config.batchSize(), 0, config.seed(), config.shuffle());
            schedule = config.lrSchedule(config.totalSteps(data.size()));
            dropout = TrainRng.seeded(config.seed(), -2);
        }

        /** One optimizer step; returns its log entry. */
        TrainingLog.Entry step() {
            List<Batch> micro = batcher.nextStep(config.gradAccum());
            int targets = 0;
            for (Batch b : micro) {
                targets += b.targetCount();
            }
            double loss = 0;
            for (Batch b : micro) {
                int[] t = b.packedShiftedTargets();
                for (int target : t) {
                    if (target == TrainingExample.IGNORE) {
                        continue;
                    }
                    int i = target % values.length;
                    float keep = dropout.nextFloat() < config.loraDropout() ? 0f : 1f / (1 - (float) config.loraDropout());
                    double diff = values[i] - 0.01 * (target % 13);
                    loss += diff * diff / targets;
                    grads[i] += (float) (2 * diff * keep / targets);
                }
            }
            double norm = GradientClipping.clip(params, config.maxGradNorm());
            double lr = schedule.lr(step);
            optimizer.step(lr);
            optimizer.zeroGrad();
            step++;
            return TrainingLog.Entry.train(step, batcher.epochProgress(), loss, lr, norm, 100.0 * step, 0.25 * step);
        }

        Checkpoint checkpoint() {
            Map<String, Tensor> trainable = new LinkedHashMap<>();
            trainable.put("a", Tensor.view(values, 0, A_ROWS, A_COLS));
            trainable.put("b", Tensor.view(values, A_ROWS * A_COLS, B_SIZE));
            return new Checkpoint(config, step, batcher.position(), trainable, optimizer.exportState(),
                    Map.of("dropout", dropout.state()));
        }

        void restore(Path ckptDir) {
            Checkpoint c = Checkpoint.load(ckptDir);
            c.requireTrainable(ckptDir, Map.of("a", dev.lorakit.tensor.Shape.of(A_ROWS, A_COLS),
                    "b", dev.lorakit.tensor.Shape.of(B_SIZE)));
            System.arraycopy(c.trainable().get("a").floatArray(), c.trainable().get("a").arrayOffset(), values, 0, A_ROWS * A_COLS);
            System.arraycopy(c.trainable().get("b").floatArray(), c.trainable().get("b").arrayOffset(), values, A_ROWS * A_COLS, B_SIZE);
            c.restoreOptimizer(ckptDir, optimizer);
            batcher.seek(c.position());
            dropout = c.rng(ckptDir, "dropout");
            step = c.globalStep();
        }
    }

    @ParameterizedTest
    @CsvSource({"adamw, cosine, 1, 1, 3", "adamw, linear, 3, 2, 5", "sgd, constant, 2, 3, 1", "adamw, constant, 4, 1, 7"})
    void resumingFromACheckpointReproducesTheUninterruptedRun(String optimizer, String schedule, int batchSize,
                                                              int accumulation, int cut) throws IOException {
        TrainConfig config = TrainConfig.builder().optimizer(optimizer).schedule(LearningRateSchedule.Kind.fromOptionName(schedule))
                .batchSize(batchSize).gradAccum(accumulation).epochs(3).warmupSteps(2).lr(0.05).weightDecay(0.01)
                .loraDropout(0.2).maxGradNorm(0.3).seed(cut * 31L).build();
        List<TrainingExample> data = BatcherTest.examples(11, cut);
        long total = config.totalSteps(data.size());

        Run straight = new Run(config, data);
        List<TrainingLog.Entry> straightLog = new ArrayList<>();
        try (TrainingLog log = TrainingLog.start(dir.resolve("straight.jsonl"))) {
            for (long s = 0; s < total; s++) {
                TrainingLog.Entry e = straight.step();
                log.append(e);
                straightLog.add(e);
            }
        }

        Path logFile = dir.resolve(TrainingLog.FILE_NAME);
        Run first = new Run(config, data);
        try (TrainingLog log = TrainingLog.start(logFile)) {
            for (int s = 0; s < cut; s++) {
                log.append(first.step());
            }
            first.checkpoint().save(dir.resolve("checkpoint"));
            log.append(first.step());  // logged after the checkpoint, then the process "crashes"
            log.append(first.step());
        }

        Run second = new Run(config, data);
        second.restore(dir.resolve("checkpoint"));
        try (TrainingLog log = TrainingLog.resume(logFile, second.step)) {
            while (second.step < total) {
                log.append(second.step());
            }
        }
        assertArrayEquals(straight.values, second.values);
        assertEquals(straight.optimizer.exportState(), second.optimizer.exportState());
        assertArrayEquals(straight.dropout.state(), second.dropout.state());
        assertEquals(straight.batcher.position(), second.batcher.position());
        assertEquals(straightLog, TrainingLog.read(logFile));
    }
}
