package dev.lorakit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Every option of a training run (LoRA or full-parameter), validated, and its JSON form (saved
 * in each checkpoint so a run can be resumed and audited). JSON keys are snake_case, PEFT's
 * names where PEFT has one ({@code r}, {@code lora_alpha}, {@code use_rslora},
 * {@code target_modules}, {@code lora_dropout}). Defaults ({@link #builder()}) follow PEFT and
 * the Hugging Face Trainer where they have one. With {@code full}, the LoRA options (r,
 * lora_alpha, use_rslora, target_modules) are unused; init_adapter must be null and lora_dropout
 * 0. The keys {@code full} and {@code save_dtype} may be absent from older JSON (false,
 * float32).
 *
 * @param rank         LoRA rank r (>= 1)
 * @param alpha        lora_alpha (> 0)
 * @param rslora       scale by alpha / sqrt(r) instead of alpha / r
 * @param targets      target modules: name suffixes such as q_proj, or "all-linear"
 * @param loraDropout  dropout on the LoRA branch input, in [0, 1)
 * @param optimizer    "adamw" or "sgd"
 * @param lr           peak learning rate (> 0)
 * @param weightDecay  weight decay (>= 0; decoupled for AdamW, L2 for SGD), applied to matrices
 *                     only (LoRA factors, embeddings, projections, LM head; not RMSNorm weights or
 *                     biases)
 * @param beta1        AdamW beta1 in [0, 1)
 * @param beta2        AdamW beta2 in [0, 1)
 * @param eps          AdamW epsilon (> 0)
 * @param warmupSteps  linear warmup steps (>= 0)
 * @param schedule     the learning-rate shape after warmup
 * @param maxGradNorm  global gradient-norm clipping threshold; 0 turns clipping off
 * @param batchSize    examples per micro-batch (>= 1)
 * @param gradAccum    micro-batches per optimizer step (>= 1)
 * @param seqLen       maximum tokens per example (>= 2); longer examples are truncated
 * @param epochs       passes over the data (>= 1), used when maxSteps is 0
 * @param maxSteps     optimizer steps of the run; 0 means epochs decide
 * @param seed         seed of every random choice (shuffles, dropout, LoRA init)
 * @param shuffle      shuffle the examples each epoch
 * @param evalEvery    evaluate every this many steps; 0 never (except at the end, if the trainer does)
 * @param saveEvery    save a checkpoint every this many steps; 0 only at the end
 * @param initAdapter  adapter directory to start from instead of a fresh LoRA init, or null
 * @param full         train every weight of the model instead of a LoRA (the output is a model directory)
 * @param saveDtype    dtype of the saved model's weights with {@code full} (F32, BF16, F16); F32 otherwise
 */
public record TrainConfig(int rank, double alpha, boolean rslora, List<String> targets, double loraDropout,
                          String optimizer, double lr, double weightDecay, double beta1, double beta2, double eps,
                          long warmupSteps, LearningRateSchedule.Kind schedule, double maxGradNorm, int batchSize,
                          int gradAccum, int seqLen, int epochs, long maxSteps, long seed, boolean shuffle,
                          long evalEvery, long saveEvery, String initAdapter, boolean full, DType saveDtype) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The JSON keys, in the order {@link #toJson()} writes them. */
    public static final List<String> KEYS = List.of("r", "lora_alpha", "use_rslora", "target_modules", "lora_dropout",
            "optimizer", "lr", "weight_decay", "beta1", "beta2", "eps", "warmup_steps", "lr_schedule", "max_grad_norm",
            "batch_size", "grad_accum", "seq_len", "epochs", "max_steps", "seed", "shuffle", "eval_every",
            "save_every", "init_adapter", "full", "save_dtype");

    public TrainConfig {
        targets = List.copyOf(Objects.requireNonNull(targets, "targets"));
        require(rank >= 1, "r", rank, "a positive integer");
        require(alpha > 0 && Double.isFinite(alpha), "lora_alpha", alpha, "a positive number");
        require(!targets.isEmpty() && targets.stream().noneMatch(String::isBlank), "target_modules", targets,
                "a non-empty list of module names (e.g. q_proj, v_proj) or all-linear");
        require(loraDropout >= 0 && loraDropout < 1, "lora_dropout", loraDropout, "in [0, 1)");
        require(AdamW.KIND.equals(optimizer) || Sgd.KIND.equals(optimizer), "optimizer", optimizer, "adamw or sgd");
        require(lr > 0 && Double.isFinite(lr), "lr", lr, "a positive number");
        require(weightDecay >= 0 && Double.isFinite(weightDecay), "weight_decay", weightDecay, "a number >= 0");
        require(beta1 >= 0 && beta1 < 1, "beta1", beta1, "in [0, 1)");
        require(beta2 >= 0 && beta2 < 1, "beta2", beta2, "in [0, 1)");
        require(eps > 0 && Double.isFinite(eps), "eps", eps, "a positive number");
        require(warmupSteps >= 0, "warmup_steps", warmupSteps, "an integer >= 0");
        require(schedule != null, "lr_schedule", schedule, "constant, cosine or linear");
        require(maxGradNorm >= 0 && Double.isFinite(maxGradNorm), "max_grad_norm", maxGradNorm, "a number >= 0 (0: no clipping)");
        require(batchSize >= 1, "batch_size", batchSize, "a positive integer");
        require(gradAccum >= 1, "grad_accum", gradAccum, "a positive integer");
        require(seqLen >= 2, "seq_len", seqLen, "an integer >= 2");
        require(epochs >= 1, "epochs", epochs, "a positive integer");
        require(maxSteps >= 0, "max_steps", maxSteps, "an integer >= 0 (0: run for --epochs)");
        require(evalEvery >= 0, "eval_every", evalEvery, "an integer >= 0 (0: never)");
        require(saveEvery >= 0, "save_every", saveEvery, "an integer >= 0 (0: only at the end)");
        require(initAdapter == null || !initAdapter.isBlank(), "init_adapter", initAdapter, "an adapter directory or null");
        require(!full || initAdapter == null, "init_adapter", initAdapter, "null when full is true (no LoRA in full training)");
        require(!full || loraDropout == 0, "lora_dropout", loraDropout, "0 when full is true (no LoRA in full training)");
        require(saveDtype != null && saveDtype.isCompute(), "save_dtype", saveDtype, "float32, bfloat16 or float16");
        require(full || saveDtype == DType.F32, "save_dtype", saveDtype == null ? null : saveDtype.torchName(),
                "float32 unless full is true (an adapter is saved in float32)");
    }

    private static void require(boolean ok, String key, Object value, String expected) {
        if (!ok) {
            throw new BadInputException("training option \"" + key + "\" must be " + expected + ", got " + value);
        }
    }

    /** LoRA's scaling: alpha / sqrt(r) with rsLoRA, else alpha / r. */
    public double loraScaling() {
        return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * Optimizer steps of the run over {@code exampleCount} examples: maxSteps if set, else
     * epochs x ceil(ceil(examples / batchSize) / gradAccum) (as {@link Batcher#stepsPerEpoch}).
     */
    public long totalSteps(int exampleCount) {
        if (maxSteps > 0) {
            return maxSteps;
        }
        long batches = (exampleCount + (long) batchSize - 1) / batchSize;
        return epochs * ((batches + gradAccum - 1) / gradAccum);
    }

    /** The configured optimizer over {@code params}. */
    public Optimizer createOptimizer(List<NamedParameter> params) {
        return AdamW.KIND.equals(optimizer) ? new AdamW(params, beta1, beta2, eps, weightDecay) : new Sgd(params, weightDecay);
    }

    /** The learning-rate schedule of a run of {@code totalSteps} steps. */
    public LearningRateSchedule lrSchedule(long totalSteps) {
        return new LearningRateSchedule(schedule, lr, warmupSteps, Math.max(1, totalSteps));
    }

    /** The JSON form (every key of {@link #KEYS}; init_adapter null when unset). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("r", rank);
        o.put("lora_alpha", alpha);
        o.put("use_rslora", rslora);
        ArrayNode t = o.putArray("target_modules");
        targets.forEach(t::add);
        o.put("lora_dropout", loraDropout);
        o.put("optimizer", optimizer);
        o.put("lr", lr);
        o.put("weight_decay", weightDecay);
        o.put("beta1", beta1);
        o.put("beta2", beta2);
        o.put("eps", eps);
        o.put("warmup_steps", warmupSteps);
        o.put("lr_schedule", schedule.optionName());
        o.put("max_grad_norm", maxGradNorm);
        o.put("batch_size", batchSize);
        o.put("grad_accum", gradAccum);
        o.put("seq_len", seqLen);
        o.put("epochs", epochs);
        o.put("max_steps", maxSteps);
        o.put("seed", seed);
        o.put("shuffle", shuffle);
        o.put("eval_every", evalEvery);
        o.put("save_every", saveEvery);
        if (initAdapter == null) {
            o.putNull("init_adapter");
        } else {
            o.put("init_adapter", initAdapter);
        }
        o.put("full", full);
        o.put("save_dtype", saveDtype.torchName());
        return o;
    }

    /**
     * Reads the JSON form: every key of {@link #KEYS} must be present with the right type
     * (unknown keys are ignored).
     *
     * @param where names the source in errors (e.g. the file path)
     */
    public static TrainConfig fromJson(JsonNode node, String where) {
        if (node == null || !node.isObject()) {
            throw new BadInputException(where + ": expected a JSON object of training options");
        }
        JsonReader r = new JsonReader(node, where);
        List<String> targets = new ArrayList<>();
        JsonNode t = r.get("target_modules");
        if (!t.isArray()) {
            throw r.bad("target_modules", "an array of module names");
        }
        for (JsonNode x : t) {
            if (!x.isTextual()) {
                throw r.bad("target_modules", "an array of module names");
            }
            targets.add(x.asText());
        }
        String scheduleName = r.string("lr_schedule");
        LearningRateSchedule.Kind schedule = LearningRateSchedule.Kind.fromOptionName(scheduleName);
        if (schedule == null) {
            throw r.bad("lr_schedule", "constant, cosine or linear");
        }
        JsonNode init = r.get("init_adapter");
        if (!init.isNull() && !init.isTextual()) {
            throw r.bad("init_adapter", "a string or null");
        }
        boolean full = node.has("full") && r.bool("full"); // absent in checkpoints of LoRA-only lorakit
        DType saveDtype = DType.F32;
        if (node.has("save_dtype")) {
            saveDtype = DType.fromTorchName(r.string("save_dtype"));
            if (saveDtype == null || !saveDtype.isCompute()) {
                throw r.bad("save_dtype", "float32, bfloat16 or float16");
            }
        }
        try {
            return new TrainConfig(r.integer("r"), r.number("lora_alpha"), r.bool("use_rslora"), targets,
                    r.number("lora_dropout"), r.string("optimizer"), r.number("lr"), r.number("weight_decay"),
                    r.number("beta1"), r.number("beta2"), r.number("eps"), r.longInteger("warmup_steps"), schedule,
                    r.number("max_grad_norm"), r.integer("batch_size"), r.integer("grad_accum"), r.integer("seq_len"),
                    r.integer("epochs"), r.longInteger("max_steps"), r.longInteger("seed"), r.bool("shuffle"),
                    r.longInteger("eval_every"), r.longInteger("save_every"), init.isNull() ? null : init.asText(), full,
                    saveDtype);
        } catch (BadInputException e) {
            // a field read failed (already located) or the constructor's validation did (not yet)
            throw e.getMessage().startsWith(where + ": ") ? e : new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    /** The JSON keys whose values differ between this config and {@code other}, in {@link #KEYS} order. */
    public List<String> differingKeys(TrainConfig other) {
        ObjectNode a = toJson();
        ObjectNode b = other.toJson();
        List<String> out = new ArrayList<>();
        for (String key : KEYS) {
            if (!a.get(key).equals(b.get(key))) {
                out.add(key);
            }
        }
        return out;
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Typed access to the fields of a JSON object, with errors naming the source and key. */
    private record JsonReader(JsonNode node, String where) {
        JsonNode get(String key) {
            JsonNode v = node.get(key);
            if (v == null) {
                throw new BadInputException(where + ": training option \"" + key + "\" is missing");
            }
            return v;
        }

        BadInputException bad(String key, String expected) {
            return new BadInputException(where + ": training option \"" + key + "\" must be " + expected + ", got "
                    + node.get(key));
        }

        int integer(String key) {
            JsonNode v = get(key);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw bad(key, "an integer");
            }
            return v.intValue();
        }

        long longInteger(String key) {
            JsonNode v = get(key);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw bad(key, "an integer");
            }
            return v.longValue();
        }

        double number(String key) {
            JsonNode v = get(key);
            if (!v.isNumber()) {
                throw bad(key, "a number");
            }
            return v.doubleValue();
        }

        boolean bool(String key) {
            JsonNode v = get(key);
            if (!v.isBoolean()) {
                throw bad(key, "true or false");
            }
            return v.booleanValue();
        }

        String string(String key) {
            JsonNode v = get(key);
            if (!v.isTextual()) {
                throw bad(key, "a string");
            }
            return v.asText();
        }
    }

    /** Builds a {@link TrainConfig}; every setter returns the builder; {@link #build()} validates. */
    public static final class Builder {
        private int rank = 8;
        private double alpha = 16;
        private boolean rslora;
        private List<String> targets = List.of("q_proj", "v_proj");
        private double loraDropout = 0.0;
        private String optimizer = AdamW.KIND;
        private double lr = 2e-4;
        private double weightDecay = 0.0;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private long warmupSteps = 0;
        private LearningRateSchedule.Kind schedule = LearningRateSchedule.Kind.LINEAR;
        private double maxGradNorm = 1.0;
        private int batchSize = 4;
        private int gradAccum = 1;
        private int seqLen = 512;
        private int epochs = 1;
        private long maxSteps = 0;
        private long seed = 42;
        private boolean shuffle = true;
        private long evalEvery = 0;
        private long saveEvery = 0;
        private String initAdapter;
        private boolean full;
        private DType saveDtype = DType.F32;

        private Builder() {
        }

        private Builder(TrainConfig c) {
            rank = c.rank;
            alpha = c.alpha;
            rslora = c.rslora;
            targets = c.targets;
            loraDropout = c.loraDropout;
            optimizer = c.optimizer;
            lr = c.lr;
            weightDecay = c.weightDecay;
            beta1 = c.beta1;
            beta2 = c.beta2;
            eps = c.eps;
            warmupSteps = c.warmupSteps;
            schedule = c.schedule;
            maxGradNorm = c.maxGradNorm;
            batchSize = c.batchSize;
            gradAccum = c.gradAccum;
            seqLen = c.seqLen;
            epochs = c.epochs;
            maxSteps = c.maxSteps;
            seed = c.seed;
            shuffle = c.shuffle;
            evalEvery = c.evalEvery;
            saveEvery = c.saveEvery;
            initAdapter = c.initAdapter;
            full = c.full;
            saveDtype = c.saveDtype;
        }

        public Builder rank(int v) {
            rank = v;
            return this;
        }

        public Builder alpha(double v) {
            alpha = v;
            return this;
        }

        public Builder rslora(boolean v) {
            rslora = v;
            return this;
        }

        public Builder targets(List<String> v) {
            targets = v;
            return this;
        }

        public Builder loraDropout(double v) {
            loraDropout = v;
            return this;
        }

        public Builder optimizer(String v) {
            optimizer = v;
            return this;
        }

        public Builder lr(double v) {
            lr = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder beta1(double v) {
            beta1 = v;
            return this;
        }

        public Builder beta2(double v) {
            beta2 = v;
            return this;
        }

        public Builder eps(double v) {
            eps = v;
            return this;
        }

        public Builder warmupSteps(long v) {
            warmupSteps = v;
            return this;
        }

        public Builder schedule(LearningRateSchedule.Kind v) {
            schedule = v;
            return this;
        }

        public Builder maxGradNorm(double v) {
            maxGradNorm = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        public Builder gradAccum(int v) {
            gradAccum = v;
            return this;
        }

        public Builder seqLen(int v) {
            seqLen = v;
            return this;
        }

        public Builder epochs(int v) {
            epochs = v;
            return this;
        }

        public Builder maxSteps(long v) {
            maxSteps = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder shuffle(boolean v) {
            shuffle = v;
            return this;
        }

        public Builder evalEvery(long v) {
            evalEvery = v;
            return this;
        }

        public Builder saveEvery(long v) {
            saveEvery = v;
            return this;
        }

        public Builder initAdapter(String v) {
            initAdapter = v;
            return this;
        }

        public Builder full(boolean v) {
            full = v;
            return this;
        }

        public Builder saveDtype(DType v) {
            saveDtype = v;
            return this;
        }

        /** The validated config. */
        public TrainConfig build() {
            return new TrainConfig(rank, alpha, rslora, targets, loraDropout, optimizer, lr, weightDecay, beta1, beta2,
                    eps, warmupSteps, schedule, maxGradNorm, batchSize, gradAccum, seqLen, epochs, maxSteps, seed,
                    shuffle, evalEvery, saveEvery, initAdapter, full, saveDtype);
        }
    }
}
