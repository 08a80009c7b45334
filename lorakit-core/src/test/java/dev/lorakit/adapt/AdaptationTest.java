package dev.lorakit.adapt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.compress.CompressOptions;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.recovery.RecoveryAdapter;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import dev.lorakit.train.LlamaTrainingModel;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import dev.lorakit.train.TrainingLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CA-LoRA runs end to end on the tiny model: a resumed run is bit for bit the uninterrupted one
 * (LoRA, recovery modules and log), the ablation switches change exactly what they name, the
 * log carries ce_loss and kd_loss with loss = ce_loss + lambda * kd_loss, and bad input fails
 * before anything is written.
 */
class AdaptationTest {
    @TempDir
    static Path dir;
    static Path teacher;
    static Path student;
    static Path adapter;
    static Path data;
    static final Trainer.Listener QUIET = (e, total) -> { };

    @BeforeAll
    static void setup() throws Exception {
        teacher = AdaptFixtures.teacher(dir.resolve("teacher"));
        student = AdaptFixtures.compress(teacher, CompressOptions.builder().ffnKeep(96).quantize(DType.Q4_0).build(),
                dir.resolve("student"));
        adapter = AdaptFixtures.adapterSpec(11).write(dir.resolve("lora"));
        data = AdaptFixtures.uppercaseTask(dir.resolve("train.jsonl"), 24, 1);
    }

    static TrainConfig.Builder cfg() {
        return TrainConfig.builder().batchSize(4).gradAccum(2).seqLen(48).lr(3e-3).seed(4).loraDropout(0.05).maxGradNorm(1.0);
    }

    static AdaptConfig full(double kdWeight) {
        return new AdaptConfig(teacher.toString(), adapter.toString(), true, false, true, null, AdaptConfig.ALL_PROJECTIONS,
                true, kdWeight, LlamaTrainingModel.FINAL_HIDDEN);
    }

    @Test
    void resumedAdaptationIsBitForBitTheUninterruptedRun() throws Exception {
        TrainConfig cfg = cfg().maxSteps(5).build();
        AdaptConfig ac = full(0.5);
        Path straight = dir.resolve("straight");
        Adaptation.run(ac, student, cfg, data, null, straight, false, QUIET, () -> false);
        Path split = dir.resolve("split");
        AtomicInteger steps = new AtomicInteger();
        Trainer.Result first = Adaptation.run(ac, student, cfg, data, null, split, false, (e, t) -> steps.incrementAndGet(),
                () -> steps.get() >= 2);
        assertEquals(2, first.steps());
        BadInputException other = assertThrows(BadInputException.class,
                () -> Adaptation.run(full(0.25), student, cfg, data, null, split, true, QUIET, () -> false));
        assertTrue(other.getMessage().contains("kd_weight"), other.getMessage());
        Trainer.Result second = Adaptation.run(ac, student, cfg, data, null, split, true, QUIET, () -> false);
        assertEquals(5, second.steps());
        for (String f : List.of(PeftKeys.WEIGHTS_FILE, PeftKeys.CONFIG_FILE, RecoveryConfig.WEIGHTS_FILE, RecoveryConfig.CONFIG_FILE)) {
            assertArrayEquals(Files.readAllBytes(straight.resolve(f)), Files.readAllBytes(split.resolve(f)), f);
        }
        List<TrainingLog.Entry> a = TrainingLog.read(straight.resolve(TrainingLog.FILE_NAME));
        List<TrainingLog.Entry> b = TrainingLog.read(split.resolve(TrainingLog.FILE_NAME));
        assertEquals(5, a.size());
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).loss(), b.get(i).loss(), 0.0);
            assertEquals(a.get(i).ceLoss(), b.get(i).ceLoss(), 0.0);
            assertEquals(a.get(i).kdLoss(), b.get(i).kdLoss(), 0.0);
            TrainingLog.Entry e = a.get(i);
            assertEquals(e.ceLoss() + 0.5 * e.kdLoss(), e.loss(), 1e-12 * e.loss(), "loss = ce + lambda kd");
            assertTrue(e.kdLoss() > 0);
        }
        assertTrue(Files.isRegularFile(split.resolve(Trainer.CHECKPOINT_DIR).resolve(AdaptConfig.FILE_NAME)));
        try (RecoveryAdapter r = RecoveryAdapter.open(split)) {
            assertEquals(14, r.modules().size());
            assertEquals(student.toString(), r.config().baseModel());
            boolean trained = false;
            for (var m : r.modules()) {
                for (float u : m.u().toFloatArray()) {
                    trained |= u != 0;
                }
            }
            assertTrue(trained, "U moved away from zero");
        }
    }

    @Test
    void ablationSwitchesChangeWhatTheyName() throws Exception {
        TrainConfig cfg = cfg().maxSteps(2).build();
        Path out = dir.resolve("ablation");
        // full CA-LoRA first, then --no-recovery --no-distill into the same directory: no stale recovery files
        Adaptation.run(full(1.0), student, cfg, data, null, out, false, QUIET, () -> false);
        assertTrue(RecoveryConfig.isPresent(out));
        AdaptConfig plain = new AdaptConfig(teacher.toString(), adapter.toString(), true, false, false, null,
                AdaptConfig.ALL_PROJECTIONS, false, 1.0, LlamaTrainingModel.FINAL_HIDDEN);
        Adaptation.run(plain, student, cfg, data, null, out, false, QUIET, () -> false);
        assertFalse(Files.exists(out.resolve(RecoveryConfig.CONFIG_FILE)));
        assertFalse(Files.exists(out.resolve(RecoveryConfig.WEIGHTS_FILE)));
        for (TrainingLog.Entry e : TrainingLog.read(out.resolve(TrainingLog.FILE_NAME))) {
            assertNull(e.kdLoss());
            assertEquals(e.loss(), e.ceLoss(), 0.0);
        }
        // --no-inherit: a fresh LoRA on the adapter's modules; recovery only on q,v with rank 2; block 0 distilled
        Path fresh = dir.resolve("fresh");
        AdaptConfig noInherit = new AdaptConfig(teacher.toString(), adapter.toString(), false, false, true, 2,
                List.of("v_proj", "q_proj"), true, 1.0, 0);
        Adaptation.run(noInherit, student, cfg, data, null, fresh, false, QUIET, () -> false);
        try (RecoveryAdapter r = RecoveryAdapter.open(fresh)) {
            assertEquals(List.of("q_proj", "v_proj"), r.config().targetModules());
            assertEquals(4, r.modules().size());
            r.modules().forEach(m -> assertEquals(2, m.rank()));
        }
        for (TrainingLog.Entry e : TrainingLog.read(fresh.resolve(TrainingLog.FILE_NAME))) {
            assertNotNull(e.kdLoss());
        }
    }

    @Test
    void badInputFailsBeforeAnythingIsWritten() throws Exception {
        TrainConfig cfg = cfg().maxSteps(1).build();
        Path out = dir.resolve("never");
        // a teacher of another hidden size
        Path wide = dir.resolve("wide");
        TinyModels.write(wide, TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(96, 128, 2, 4, 2, 259));
        BadInputException e = assertThrows(BadInputException.class, () -> Adaptation.run(
                new AdaptConfig(wide.toString(), adapter.toString(), true, false, true, null, AdaptConfig.ALL_PROJECTIONS, true,
                        1, -1), student, cfg, data, null, out, false, QUIET, () -> false));
        assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
        // FFN sizes differ without a pruning record
        Path ffn = dir.resolve("ffn");
        TinyModels.write(ffn, TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(64, 96, 2, 4, 2, 259));
        e = assertThrows(BadInputException.class, () -> Adaptation.run(full(1), ffn, cfg, data, null, out, false, QUIET,
                () -> false));
        assertTrue(e.getMessage().contains("intermediate_size") && e.getMessage().contains("pruning"), e.getMessage());
        // an adapter for another base
        Path alien = TinyAdapters.llama(3, 2, 48, 24, 128).write(dir.resolve("alien"));
        e = assertThrows(BadInputException.class, () -> Adaptation.run(new AdaptConfig(teacher.toString(), alien.toString(),
                true, false, true, null, AdaptConfig.ALL_PROJECTIONS, true, 1, -1), student, cfg, data, null, out, false, QUIET,
                () -> false));
        assertTrue(e.getMessage().contains("another base model"), e.getMessage());
        // --kd-layer beyond the last block
        e = assertThrows(BadInputException.class, () -> Adaptation.run(new AdaptConfig(teacher.toString(), adapter.toString(),
                true, false, true, null, AdaptConfig.ALL_PROJECTIONS, true, 1, 2), student, cfg, data, null, out, false, QUIET,
                () -> false));
        assertTrue(e.getMessage().startsWith("--kd-layer"), e.getMessage());
        assertFalse(Files.exists(out), "nothing written");
    }
}
