package dev.lorakit.tasks;

import dev.lorakit.BadInputException;

/**
 * How many examples each task gets per split.
 *
 * @param train examples in train.jsonl
 * @param dev examples in dev.jsonl
 * @param test examples in test.jsonl
 */
public record SplitSizes(int train, int dev, int test) {
    /** The suite's default: 2000 / 200 / 200. */
    public static final SplitSizes DEFAULT = new SplitSizes(2000, 200, 200);

    public SplitSizes {
        check("train", train);
        check("dev", dev);
        check("test", test);
    }

    /** The size of one split. */
    public int of(TaskSplit split) {
        return switch (split) {
            case TRAIN -> train;
            case DEV -> dev;
            case TEST -> test;
        };
    }

    /** Examples per task over all splits. */
    public long total() {
        return (long) train + dev + test;
    }

    private static void check(String name, int n) {
        if (n < 1) {
            throw new BadInputException("--" + name + ": the number of " + name + " examples per task must be at least 1, got " + n);
        }
    }
}
