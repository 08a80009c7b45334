package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.eval.Evaluator;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop end to end: exact SGD steps, bit-for-bit resume, and learning a task. */
class TrainerTest {
    @TempDir
    static Path dir;
    static Path model;
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"};

    @BeforeAll
    static void setup() throws Exception {
        model = dir.resolve("model");
        SyntheticModel.write(model, ModelPreset.TINY.config(DType.F32), DType.F32, 1, Long.MAX_VALUE, true);
    }

    static Path uppercaseTask(String name, int n, long seed) throws Exception {
        Random rnd = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String w = WORDS[rnd.nextInt(WORDS.length)];
            sb.append(JSON.writeValueAsString(Map.of("prompt", "Up: " + w + " =", "completion", " " + w.toUpperCase()))).append('\n');
        }
        Path f = dir.resolve(name);
        Files.writeString(f, sb);
        return f;
    }

    static TrainConfig.Builder base() {
        return TrainConfig.builder().rank(4).alpha(8).targets(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                "down_proj")).batchSize(4).gradAccum(1).seqLen(64).seed(3).maxGradNorm(0).weightDecay(0);
    }

    static final Trainer.Listener QUIET = (e, total) -> { };

    @Test
    void oneSgdStepIsInitMinusLrTimesTheGradient() throws Exception {
        Path init = TinyAdapters.llama(7, 2, 64, 32, 128).rank(3).alpha(6).stdB(0.2).write(dir.resolve("init"));
        // three pre-tokenized examples of equal length: the batch is exactly these rows, unpadded
        int[][] ids = {{0, 10, 20, 30, 40, 50}, {0, 11, 21, 31, 41, 51}, {0, 12, 22, 32, 42, 52}};
        int[][] labels = {{-100, -100, 20, 30, 40, 50}, {-100, 11, 21, -100, 41, 51}, {-100, -100, -100, 32, 42, 52}};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            sb.append(JSON.writeValueAsString(Map.of("input_ids", ids[i], "labels", labels[i]))).append('\n');
        }
        Path data = dir.resolve("tok.jsonl");
        Files.writeString(data, sb);
        double lr = 0.05;
        TrainConfig cfg = base().optimizer("sgd").lr(lr).maxSteps(1).shuffle(false).loraDropout(0).batchSize(3)
                .initAdapter(init.toString()).build();
        Path out = dir.resolve("sgd-out");
        Trainer.run(model, cfg, data, null, out, false, QUIET, () -> false);
        Map<String, float[]> grads = LoraGradients.compute(model, init, ids, labels);
        try (LoraAdapter before = LoraAdapter.open(init); LoraAdapter after = LoraAdapter.open(out)) {
            for (LoraModule m : before.modules()) {
                LoraModule t = after.module(m.name());
                checkSgd(m.a().toFloatArray(), t.a().toFloatArray(), grads.get(PeftKeys.loraA(m.name())), lr, m.name());
                checkSgd(m.b().toFloatArray(), t.b().toFloatArray(), grads.get(PeftKeys.loraB(m.name())), lr, m.name());
            }
        }
    }

    static void checkSgd(float[] init, float[] trained, float[] grad, double lr, String what) {
        for (int i = 0; i < init.length; i++) {
            float expected = (float) (init[i] - lr * grad[i]);
            assertEquals(expected, trained[i], Math.ulp(expected), what + "[" + i + "]");
        }
    }

    @Test
    void resumedRunIsBitForBitTheUninterruptedRun() throws Exception {
        Path data = uppercaseTask("resume.jsonl", 24, 5);
        TrainConfig cfg = base().optimizer("adamw").lr(5e-3).maxSteps(8).loraDropout(0.1).shuffle(true).build();
        Path full = dir.resolve("full");
        Trainer.run(model, cfg, data, null, full, false, QUIET, () -> false);
        Path split = dir.resolve("split");
        AtomicInteger steps = new AtomicInteger();
        Trainer.Result first = Trainer.run(model, cfg, data, null, split, false, (e, t) -> steps.incrementAndGet(),
                () -> steps.get() >= 3);
        assertEquals(3, first.steps());
        assertTrue(first.stoppedEarly());
        Trainer.Result second = Trainer.run(model, cfg, data, null, split, true, QUIET, () -> false);
        assertEquals(8, second.steps());
        assertArrayEquals(Files.readAllBytes(full.resolve(PeftKeys.WEIGHTS_FILE)), Files.readAllBytes(split.resolve(PeftKeys.WEIGHTS_FILE)),
                "resumed adapter equals the uninterrupted one, bit for bit");
        List<TrainingLog.Entry> a = TrainingLog.read(full.resolve(TrainingLog.FILE_NAME));
        List<TrainingLog.Entry> b = TrainingLog.read(split.resolve(TrainingLog.FILE_NAME));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).loss(), b.get(i).loss(), 0.0, "loss at step " + (i + 1));
        }
    }

    @Test
    void trainingLearnsATinyTask() throws Exception {
        Path train = uppercaseTask("train.jsonl", 64, 1);
        Path dev = uppercaseTask("dev.jsonl", 16, 2);
        TrainConfig cfg = base().optimizer("adamw").lr(1e-2).epochs(8).batchSize(8).maxGradNorm(0).build();
        Path out = dir.resolve("learned");
        Trainer.Result r = Trainer.run(model, cfg, train, dev, out, false, QUIET, () -> false);
        List<TrainingLog.Entry> log = TrainingLog.read(out.resolve(TrainingLog.FILE_NAME));
        assertTrue(log.getLast().loss() < 0.2 * log.getFirst().loss(), "loss falls: " + log.getFirst().loss() + " -> " + log.getLast().loss());
        assertTrue(r.evalLoss() < 1.0, "eval loss " + r.evalLoss());
        try (LlamaModel base = LlamaModel.open(model, List.of()); LlamaModel tuned = LlamaModel.open(model, List.of(new AdapterRef(out, 1)))) {
            ModelConfig c = base.config();
            try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()))) {
                double before = new Evaluator(base, tok, 8).evaluate(TaskFile.read(dev), n -> { }).score();
                double after = new Evaluator(tuned, tok, 8).evaluate(TaskFile.read(dev), n -> { }).score();
                assertTrue(after >= 0.5 && after > before, "exact match " + before + " -> " + after);
            }
        }
    }
}
