package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class TrainConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static TrainConfig custom() {
        return TrainConfig.builder().rank(16).alpha(32).rslora(true).targets(List.of("q_proj", "k_proj", "down_proj"))
                .loraDropout(0.05).optimizer("sgd").lr(3e-4).weightDecay(0.01).beta1(0.85).beta2(0.95).eps(1e-6)
                .warmupSteps(7).schedule(LearningRateSchedule.Kind.COSINE).maxGradNorm(0.5).batchSize(3).gradAccum(2)
                .seqLen(300).epochs(4).maxSteps(0).seed(-1234567890123L).shuffle(false).evalEvery(10).saveEvery(20)
                .initAdapter("/tmp/adapter").build();
    }

    @Test
    void jsonRoundTripKeepsEveryOption() throws Exception {
        for (TrainConfig c : List.of(TrainConfig.builder().build(), custom())) {
            ObjectNode json = c.toJson();
            assertEquals(TrainConfig.KEYS, iterableToList(json.fieldNames()));
            TrainConfig back = TrainConfig.fromJson(JSON.readTree(JSON.writeValueAsString(json)), "cfg.json");
            assertEquals(c, back);
            assertEquals(List.of(), c.differingKeys(back));
            assertEquals(c, c.toBuilder().build());
        }
        assertEquals(List.of("r", "lora_alpha", "use_rslora", "target_modules", "lora_dropout", "optimizer", "lr",
                        "weight_decay", "beta1", "beta2", "eps", "warmup_steps", "lr_schedule", "max_grad_norm",
                        "batch_size", "grad_accum", "seq_len", "epochs", "seed", "shuffle", "eval_every", "save_every",
                        "init_adapter"),
                TrainConfig.builder().build().differingKeys(custom()));
    }

    private static List<String> iterableToList(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void defaultsFollowPeftAndTheHuggingFaceTrainer() {
        TrainConfig d = TrainConfig.builder().build();
        assertEquals(8, d.rank());
        assertEquals(List.of("q_proj", "v_proj"), d.targets());
        assertEquals("adamw", d.optimizer());
        assertEquals(0.9, d.beta1());
        assertEquals(0.999, d.beta2());
        assertEquals(1e-8, d.eps());
        assertEquals(1.0, d.maxGradNorm());
        assertEquals(LearningRateSchedule.Kind.LINEAR, d.schedule());
        assertEquals(42, d.seed());
        assertEquals(null, d.initAdapter());
    }

    @Test
    void derivedValues() {
        TrainConfig c = custom();
        assertEquals(32 / Math.sqrt(16), c.loraScaling());
        assertEquals(2.0, c.toBuilder().rslora(false).build().loraScaling());
        // 10 examples, B = 3: 4 batches per epoch, 2 steps per epoch with accumulation 2, 4 epochs
        assertEquals(8, c.totalSteps(10));
        assertEquals(new Batcher(BatcherTest.examples(10, 1), 3, 0, 1, true).stepsPerEpoch(2) * 4L, c.totalSteps(10));
        assertEquals(5, c.toBuilder().maxSteps(5).build().totalSteps(10));
        assertInstanceOf(Sgd.class, c.createOptimizer(List.of()));
        assertInstanceOf(AdamW.class, c.toBuilder().optimizer("adamw").build().createOptimizer(List.of()));
        assertEquals(new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 3e-4, 7, 8), c.lrSchedule(8));
    }

    @Test
    void invalidOptionsNameTheFieldAndValue() {
        assertInvalid(b -> b.rank(0), "training option \"r\" must be a positive integer, got 0");
        assertInvalid(b -> b.alpha(Double.NaN), "\"lora_alpha\" must be a positive number, got NaN");
        assertInvalid(b -> b.targets(List.of()), "\"target_modules\" must be a non-empty list");
        assertInvalid(b -> b.loraDropout(1), "\"lora_dropout\" must be in [0, 1), got 1.0");
        assertInvalid(b -> b.optimizer("adam"), "\"optimizer\" must be adamw or sgd, got adam");
        assertInvalid(b -> b.lr(-1), "\"lr\" must be a positive number, got -1.0");
        assertInvalid(b -> b.weightDecay(-0.1), "\"weight_decay\" must be a number >= 0");
        assertInvalid(b -> b.beta2(1), "\"beta2\" must be in [0, 1), got 1.0");
        assertInvalid(b -> b.eps(0), "\"eps\" must be a positive number");
        assertInvalid(b -> b.warmupSteps(-1), "\"warmup_steps\" must be an integer >= 0");
        assertInvalid(b -> b.schedule(null), "\"lr_schedule\" must be constant, cosine or linear");
        assertInvalid(b -> b.maxGradNorm(-1), "\"max_grad_norm\" must be a number >= 0 (0: no clipping)");
        assertInvalid(b -> b.batchSize(0), "\"batch_size\" must be a positive integer");
        assertInvalid(b -> b.gradAccum(0), "\"grad_accum\" must be a positive integer");
        assertInvalid(b -> b.seqLen(1), "\"seq_len\" must be an integer >= 2, got 1");
        assertInvalid(b -> b.epochs(0), "\"epochs\" must be a positive integer");
        assertInvalid(b -> b.maxSteps(-2), "\"max_steps\" must be an integer >= 0");
        assertInvalid(b -> b.evalEvery(-1), "\"eval_every\" must be an integer >= 0");
        assertInvalid(b -> b.saveEvery(-1), "\"save_every\" must be an integer >= 0");
        assertInvalid(b -> b.initAdapter(" "), "\"init_adapter\" must be an adapter directory or null");
    }

    private static void assertInvalid(UnaryOperator<TrainConfig.Builder> change, String expected) {
        BadInputException e = assertThrows(BadInputException.class, () -> change.apply(TrainConfig.builder()).build());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void fromJsonNamesTheSourceAndKey() {
        assertJsonError(o -> o.remove("lr"), "cfg.json: training option \"lr\" is missing");
        assertJsonError(o -> o.put("r", "8"), "cfg.json: training option \"r\" must be an integer, got \"8\"");
        assertJsonError(o -> o.put("r", 8.5), "cfg.json: training option \"r\" must be an integer, got 8.5");
        assertJsonError(o -> o.put("shuffle", 1), "cfg.json: training option \"shuffle\" must be true or false");
        assertJsonError(o -> o.put("lr_schedule", "step"), "cfg.json: training option \"lr_schedule\" must be constant, cosine or linear");
        assertJsonError(o -> o.put("target_modules", "q_proj"), "cfg.json: training option \"target_modules\" must be an array");
        assertJsonError(o -> o.put("init_adapter", 3), "cfg.json: training option \"init_adapter\" must be a string or null");
        assertJsonError(o -> o.put("lora_dropout", 2.0), "cfg.json: training option \"lora_dropout\" must be in [0, 1), got 2.0");
        BadInputException e = assertThrows(BadInputException.class, () -> TrainConfig.fromJson(JSON.readTree("[]"), "cfg.json"));
        assertEquals("cfg.json: expected a JSON object of training options", e.getMessage());
        ObjectNode extra = custom().toJson();
        extra.put("future_option", true);  // unknown keys are ignored
        assertEquals(custom(), TrainConfig.fromJson(extra, "cfg.json"));
    }

    private static void assertJsonError(java.util.function.Consumer<ObjectNode> change, String expected) {
        ObjectNode o = custom().toJson();
        change.accept(o);
        BadInputException e = assertThrows(BadInputException.class, () -> TrainConfig.fromJson(o, "cfg.json"));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
    }
}
