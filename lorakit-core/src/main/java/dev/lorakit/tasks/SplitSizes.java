package dev.lorakit.tasks;

import dev.lorakit.BadInputException;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * How many examples each task gets per split: one size per split for every task, except that a
 * task may get its own train size (a task that needs more training data than the others). The
 * sentence pools are cut in proportion to the common sizes, so a per-task train size changes no
 * pool.
 *
 * @param train examples in train.jsonl
 * @param dev examples in dev.jsonl
 * @param test examples in test.jsonl
 * @param trainByTask train examples of the tasks named here instead of {@code train} (sorted by name)
 */
public record SplitSizes(int train, int dev, int test, Map<String, Integer> trainByTask) {
    /** The suite's default: 2000 / 200 / 200. */
    public static final SplitSizes DEFAULT = new SplitSizes(2000, 200, 200);

    public SplitSizes {
        check("train", train);
        check("dev", dev);
        check("test", test);
        TreeMap<String, Integer> copy = new TreeMap<>();
        trainByTask.forEach((task, n) -> {
            if (n == null || n < 1) {
                throw new BadInputException("--train-for " + task + "=" + n + ": the number of train examples must be at least 1");
            }
            copy.put(task, n);
        });
        trainByTask = Collections.unmodifiableMap(copy);
    }

    /** The same size for every task. */
    public SplitSizes(int train, int dev, int test) {
        this(train, dev, test, Map.of());
    }

    /** The common size of one split. */
    public int of(TaskSplit split) {
        return switch (split) {
            case TRAIN -> train;
            case DEV -> dev;
            case TEST -> test;
        };
    }

    /** The size of one split of one task. */
    public int of(TaskSplit split, String taskName) {
        return split == TaskSplit.TRAIN ? trainByTask.getOrDefault(taskName, train) : of(split);
    }

    /** Examples per task over all splits, at the common sizes (what the sentence pools are cut by). */
    public long total() {
        return (long) train + dev + test;
    }

    private static void check(String name, int n) {
        if (n < 1) {
            throw new BadInputException("--" + name + ": the number of " + name + " examples per task must be at least 1, got " + n);
        }
    }
}
