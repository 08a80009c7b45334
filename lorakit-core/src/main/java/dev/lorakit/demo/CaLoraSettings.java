package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the ca-lora scenario compresses, on which tasks, and the training budget every trained row
 * of its ablation grid gets (the same for all: {@code steps} optimizer steps of {@code batchSize}
 * examples of the task's train split at learning rate {@code lr}, cosine schedule). Null arguments
 * of {@link #of} take the defaults, which make the short version of {@code lorakit demo --scenario
 * ca-lora} (about 5 minutes on 2 cores).
 *
 * @param compressions the compression settings, in table order
 * @param tasks the tasks, by name, in table order (each needs an example adapter)
 * @param steps optimizer steps of every trained row
 * @param lr peak learning rate (AdamW, 10 % warm-up, cosine decay)
 * @param batchSize training examples per step
 */
public record CaLoraSettings(List<CompressionSetting> compressions, List<String> tasks, int steps, double lr, int batchSize) {
    /** Default --compressions. */
    public static final List<String> DEFAULT_COMPRESSIONS = List.of("q4_0+2:4");
    /** Default --task: tasks that compression hurts on the bundled model (docs/results.md). */
    public static final List<String> DEFAULT_TASKS = List.of("uppercase", "reverse_words", "last_word");
    /** Default --train-steps. */
    public static final int DEFAULT_STEPS = 30;
    /** Default --train-lr. */
    public static final double DEFAULT_LR = 1e-3;
    /** Default --train-batch-size. */
    public static final int DEFAULT_BATCH_SIZE = 8;

    public CaLoraSettings {
        compressions = List.copyOf(compressions);
        tasks = List.copyOf(tasks);
        if (compressions.isEmpty()) {
            throw new BadInputException("--compressions: give at least one compression (e.g. q4_0,2:4,q4_0+2:4)");
        }
        Set<String> seen = new HashSet<>();
        for (CompressionSetting c : compressions) {
            if (!seen.add(c.name())) {
                throw new BadInputException("--compressions: \"" + c.name() + "\" is listed twice");
            }
        }
        if (tasks.isEmpty() || new HashSet<>(tasks).size() != tasks.size()) {
            throw new BadInputException("--task: give one or more distinct task names");
        }
        if (steps < 1) {
            throw new BadInputException("--train-steps: must be at least 1, got " + steps);
        }
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new BadInputException("--train-lr: must be a positive number, got " + lr);
        }
        if (batchSize < 1) {
            throw new BadInputException("--train-batch-size: must be at least 1, got " + batchSize);
        }
    }

    /** The settings with the defaults for null arguments; {@code tasks} may be ["all"]: every task with an adapter. */
    public static CaLoraSettings of(List<String> compressions, List<String> tasks, Integer steps, Double lr, Integer batchSize) {
        List<CompressionSetting> settings = new ArrayList<>();
        for (String c : compressions == null ? DEFAULT_COMPRESSIONS : compressions) {
            settings.add(CompressionSetting.parse(c));
        }
        return new CaLoraSettings(settings, tasks == null ? DEFAULT_TASKS : tasks, steps == null ? DEFAULT_STEPS : steps,
                lr == null ? DEFAULT_LR : lr, batchSize == null ? DEFAULT_BATCH_SIZE : batchSize);
    }

    /** Whether the tasks are "every task that has an adapter" ({@code --task all}). */
    public boolean allTasks() {
        return tasks.equals(List.of("all"));
    }

    /** The compression settings' names. */
    public List<String> compressionNames() {
        return compressions.stream().map(CompressionSetting::name).toList();
    }
}
