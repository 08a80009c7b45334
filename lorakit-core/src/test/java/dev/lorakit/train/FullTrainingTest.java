package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Full-parameter training end to end: an SGD step is exactly w - lr * grad for every tensor,
 * weight decay skips norms and biases, a resumed run is bit for bit the uninterrupted one, and
 * the output is a model directory in the asked dtype that the inference engine loads.
 */
class FullTrainingTest {
    @TempDir
    static Path dir;
    /** The tiny preset: Llama, separate LM head, byte tokenizer. */
    static Path llama;
    /** Qwen2 of the tiny preset's sizes: tied embeddings, q/k/v biases, byte tokenizer. */
    static Path qwen;
    static final ObjectMapper JSON = new ObjectMapper();
    static final Trainer.Listener QUIET = (e, total) -> { };

    @BeforeAll
    static void setup() throws Exception {
        llama = dir.resolve("llama");
        SyntheticModel.write(llama, ModelPreset.TINY.config(DType.F32), DType.F32, 1, Long.MAX_VALUE, true);
        qwen = dir.resolve("qwen");
        ModelConfig qc = TinyModels.config(TinyModels.Spec.of(ModelArchitecture.QWEN2).withSizes(64, 128, 2, 4, 2, 259));
        SyntheticModel.write(qwen, qc, DType.F32, 2, Long.MAX_VALUE, true);
    }

    static Path textData(String name, int n, long seed) throws Exception {
        String[] words = {"the cat sat", "a dog ran", "sun is hot", "we read books", "rain falls", "birds sing"};
        Random rnd = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(JSON.writeValueAsString(Map.of("text", words[rnd.nextInt(words.length)] + " " + words[rnd.nextInt(words.length)])))
                    .append('\n');
        }
        Path f = dir.resolve(name);
        Files.writeString(f, sb);
        return f;
    }

    static TrainConfig.Builder base() {
        return TrainConfig.builder().full(true).batchSize(4).seqLen(48).seed(3).maxGradNorm(0).weightDecay(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen"})
    void oneSgdStepIsInitMinusLrTimesTheGradientForEveryTensor(String which) throws Exception {
        Path model = which.equals("llama") ? llama : qwen;
        int[][] ids = {{0, 10, 20, 30, 40, 50}, {0, 11, 21, 31, 41, 51}, {0, 12, 22, 32, 42, 52}};
        int[][] labels = {{-100, -100, 20, 30, 40, 50}, {-100, 11, 21, -100, 41, 51}, {-100, -100, -100, 32, 42, 52}};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            sb.append(JSON.writeValueAsString(Map.of("input_ids", ids[i], "labels", labels[i]))).append('\n');
        }
        Path data = dir.resolve("tok-" + which + ".jsonl");
        Files.writeString(data, sb);
        double lr = 0.05;
        double weightDecay = which.equals("llama") ? 0 : 0.3; // with decay: w - lr * (grad + wd * w) for matrices only
        TrainConfig cfg = base().optimizer("sgd").lr(lr).maxSteps(1).shuffle(false).batchSize(3)
                .weightDecay(weightDecay).build();
        Path out = dir.resolve("sgd-" + which);
        Trainer.run(model, cfg, data, null, out, false, QUIET, () -> false);

        // the gradient of the same batch through the public API
        int T = ids[0].length;
        int[] tokens = new int[3 * T];
        int[] targets = new int[3 * T];
        for (int b = 0; b < 3; b++) {
            for (int t = 0; t < T; t++) {
                tokens[b * T + t] = ids[b][t];
                targets[b * T + t] = t + 1 < T ? labels[b][t + 1] : CrossEntropy.IGNORE;
            }
        }
        FullParameters params = FullParameters.load(model);
        try (LlamaTrainingModel m = LlamaTrainingModel.full(params)) {
            m.forward(tokens, targets, 3, T, CrossEntropy.countTargets(targets, targets.length), 0f, 0);
            m.backward();
        }
        try (SafetensorsFile trained = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(params.tensors().keySet(), trained.names(), "the input's tensor names, no more, no less");
            for (NamedParameter p : params.parameters()) {
                float[] after = trained.get(p.name()).toFloatArray();
                double wd = p.decay() ? weightDecay : 0;
                for (int i = 0; i < p.size(); i++) {
                    double w = p.value(i);
                    float expected = (float) (w - lr * (p.grad(i) + wd * w));
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(after[i]),
                            p.name() + "[" + i + "]: " + expected + " vs " + after[i]);
                }
            }
        }
        if (which.equals("qwen")) {
            assertTrue(params.contains("model.layers.0.self_attn.q_proj.bias"));
            assertFalse(params.contains(WeightLayout.LM_HEAD), "tied: one tensor for the embedding and the LM head");
        }
    }

    @Test
    void weightDecayShrinksMatricesOnly() {
        FullParameters params = FullParameters.load(qwen);
        Map<String, float[]> before = new java.util.LinkedHashMap<>();
        for (NamedParameter p : params.parameters()) {
            before.put(p.name(), p.values().clone());
            assertEquals(!p.name().endsWith("norm.weight") && !p.name().endsWith(".bias"), p.decay(), p.name());
        }
        double lr = 0.01;
        double wd = 0.5;
        for (String kind : List.of("adamw", "sgd")) {
            FullParameters fresh = FullParameters.load(qwen);
            Optimizer opt = base().optimizer(kind).lr(lr).weightDecay(wd).build().createOptimizer(fresh.parameters());
            opt.step(lr); // zero gradients: only the decay moves anything
            for (NamedParameter p : fresh.parameters()) {
                float[] init = before.get(p.name());
                for (int i = 0; i < p.size(); i++) {
                    float expected = p.decay()
                            ? (float) (kind.equals("sgd") ? init[i] - lr * (0 + wd * init[i]) : init[i] * (1 - lr * wd))
                            : init[i];
                    assertEquals(expected, p.value(i), kind + " " + p.name() + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void resumedRunIsBitForBitTheUninterruptedRun() throws Exception {
        Path data = textData("resume.jsonl", 40, 5);
        TrainConfig cfg = base().optimizer("adamw").lr(3e-3).weightDecay(0.1).warmupSteps(2)
                .schedule(LearningRateSchedule.Kind.COSINE).maxGradNorm(1.0).gradAccum(2).maxSteps(6).shuffle(true).build();
        Path straight = dir.resolve("straight");
        Trainer.run(qwen, cfg, data, null, straight, false, QUIET, () -> false);
        Path split = dir.resolve("split");
        AtomicInteger steps = new AtomicInteger();
        Trainer.Result first = Trainer.run(qwen, cfg, data, null, split, false, (e, t) -> steps.incrementAndGet(),
                () -> steps.get() >= 3);
        assertEquals(3, first.steps());
        assertTrue(first.stoppedEarly());
        assertTrue(Files.isRegularFile(split.resolve("model.safetensors")), "a stopped run writes the model so far");
        byte[] halfway = Files.readAllBytes(split.resolve("model.safetensors"));
        Trainer.Result second = Trainer.run(qwen, cfg, data, null, split, true, QUIET, () -> false);
        assertEquals(6, second.steps());
        byte[] resumed = Files.readAllBytes(split.resolve("model.safetensors"));
        assertArrayEquals(Files.readAllBytes(straight.resolve("model.safetensors")), resumed,
                "resumed weights equal the uninterrupted run's, byte for byte");
        assertFalse(java.util.Arrays.equals(halfway, resumed), "the second half trained");
        for (String f : List.of("checkpoint/trainable.safetensors", "checkpoint/optimizer.safetensors", "config.json")) {
            assertArrayEquals(Files.readAllBytes(straight.resolve(f)), Files.readAllBytes(split.resolve(f)), f);
        }
        List<TrainingLog.Entry> a = TrainingLog.read(straight.resolve(TrainingLog.FILE_NAME));
        List<TrainingLog.Entry> b = TrainingLog.read(split.resolve(TrainingLog.FILE_NAME));
        assertEquals(6, a.size());
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).loss(), b.get(i).loss(), 0.0, "loss at step " + (i + 1));
            assertEquals(a.get(i).gradNorm(), b.get(i).gradNorm(), 0.0, "grad norm at step " + (i + 1));
        }
        // the checkpoint holds every weight, the optimizer's two moments of each, and the data position
        Checkpoint ckpt = Checkpoint.load(split.resolve(Trainer.CHECKPOINT_DIR));
        assertEquals(FullParameters.load(qwen).tensors().keySet(), ckpt.trainable().keySet());
        assertEquals(2 * ckpt.trainable().size(), ckpt.optimizer().buffers().size());
        assertEquals(6, ckpt.globalStep());
        // a LoRA run cannot resume a full run's checkpoint
        BadInputException e = assertThrows(BadInputException.class, () -> Trainer.run(qwen, cfg.toBuilder().full(false).build(),
                data, null, split, true, QUIET, () -> false));
        assertTrue(e.getMessage().contains("[full]"), e.getMessage());
    }

    @Test
    void outputIsAModelDirectoryInTheSaveDtypeThatTheInferenceEngineLoads() throws Exception {
        Path data = textData("out.jsonl", 16, 6);
        Path out = dir.resolve("bf16-out");
        TrainConfig cfg = base().optimizer("adamw").lr(1e-3).maxSteps(2).saveDtype(DType.BF16).build();
        Trainer.run(llama, cfg, data, null, out, false, QUIET, () -> false);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "generation_config.json", "training_log.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertArrayEquals(Files.readAllBytes(llama.resolve("tokenizer.json")), Files.readAllBytes(out.resolve("tokenizer.json")));
        ModelConfig saved = ModelConfig.read(out.resolve("config.json"));
        assertEquals(DType.BF16, saved.torchDtype());
        assertEquals(ModelConfig.read(llama.resolve("config.json")).withTorchDtype(DType.BF16), saved);
        Checkpoint ckpt = Checkpoint.load(out.resolve(Trainer.CHECKPOINT_DIR));
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            for (Map.Entry<String, Tensor> e : ckpt.trainable().entrySet()) {
                Tensor t = f.get(e.getKey());
                assertEquals(DType.BF16, t.dtype(), e.getKey());
                assertArrayEquals(e.getValue().to(DType.BF16).toFloatArray(), t.toFloatArray(), e.getKey()
                        + ": the trained float32 weights rounded to bfloat16");
            }
        }
        try (LlamaModel m = LlamaModel.open(out, List.of())) {
            float[] logits = m.logits(new int[] {0, 10, 20, 30});
            assertEquals(4 * m.config().vocabSize(), logits.length);
            for (float v : logits) {
                assertTrue(Float.isFinite(v));
            }
        }
        // trained weights differ from the base model's
        try (SafetensorsFile a = SafetensorsFile.open(llama.resolve("model.safetensors"));
             SafetensorsFile b = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertFalse(java.util.Arrays.equals(a.get(WeightLayout.LM_HEAD).to(DType.BF16).toFloatArray(),
                    b.get(WeightLayout.LM_HEAD).toFloatArray()));
        }
    }

    @Test
    void configRefusesLoraOptionsWithFullAndReadsOlderJson() {
        assertThrows(BadInputException.class, () -> base().initAdapter("/some/adapter").build());
        assertThrows(BadInputException.class, () -> base().loraDropout(0.1).build());
        BadInputException e = assertThrows(BadInputException.class,
                () -> TrainConfig.builder().saveDtype(DType.BF16).build());
        assertTrue(e.getMessage().contains("save_dtype"), e.getMessage());
        TrainConfig full = base().saveDtype(DType.F16).build();
        assertEquals(full, TrainConfig.fromJson(full.toJson(), "cfg.json"));
        ObjectNode older = TrainConfig.builder().build().toJson();
        older.remove("full");
        older.remove("save_dtype");
        TrainConfig read = TrainConfig.fromJson(older, "cfg.json");
        assertFalse(read.full());
        assertEquals(DType.F32, read.saveDtype());
        ObjectNode bad = full.toJson();
        bad.put("save_dtype", "int8");
        e = assertThrows(BadInputException.class, () -> TrainConfig.fromJson(bad, "cfg.json"));
        assertEquals("cfg.json: training option \"save_dtype\" must be float32, bfloat16 or float16, got \"int8\"", e.getMessage());
    }
}
