package dev.lorakit.cli;

import dev.lorakit.BadInputException;
import dev.lorakit.train.LearningRateSchedule;
import dev.lorakit.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * The training options shared by {@code lorakit train} and {@code lorakit adapt} (a picocli
 * mixin): data, output, the LoRA's shape, the optimizer, schedule, batching, checkpoints and
 * resume. Each command adds its own (--model, --full, ...; --teacher, --adapter, ...).
 */
public final class TrainingOptions {
    /** The options that shape a LoRA (refused by train --full; by adapt only with --no-inherit). */
    static final List<String> LORA_SHAPE_OPTIONS = List.of("--rank", "--alpha", "--rslora", "--targets");

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

    @Option(names = "--stop-at", paramLabel = "STEP",
            description = "Stop once STEP optimizer steps are done, as Ctrl-C would (checkpoint and output saved, --resume"
                    + " continues); the schedule is unchanged. Default: run to the end.")
    Long stopAt;

    /** --stop-at, checked: null or at least 1. */
    Long stopAt() {
        if (stopAt != null && stopAt < 1) {
            throw new BadInputException("--stop-at: expected a step count of at least 1, got " + stopAt);
        }
        return stopAt;
    }

    /** A config builder holding every option here (the command adds its own, e.g. full, init_adapter). */
    TrainConfig.Builder configBuilder() {
        if (betas.size() != 2) {
            throw new BadInputException("--betas: expected two numbers like 0.9,0.999, got " + betas);
        }
        return TrainConfig.builder().rank(rank).alpha(alpha == null ? 2.0 * rank : alpha).rslora(rslora)
                .targets(List.copyOf(targets)).loraDropout(loraDropout).optimizer(optimizer.toLowerCase(Locale.ROOT)).lr(lr)
                .weightDecay(weightDecay).beta1(betas.get(0)).beta2(betas.get(1)).warmupSteps(warmup)
                .schedule(LearningRateSchedule.Kind.fromOptionName(schedule)).maxGradNorm(maxGradNorm).batchSize(batchSize)
                .gradAccum(gradAccum).seqLen(seqLen).epochs(epochs).maxSteps(steps == null ? 0 : steps).seed(seed)
                .shuffle(!noShuffle).evalEvery(evalEvery).saveEvery(saveEvery);
    }
}
