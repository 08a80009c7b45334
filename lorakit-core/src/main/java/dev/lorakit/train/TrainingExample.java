package dev.lorakit.train;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tokenized training sequence: input ids and, per position, its label in the Hugging Face
 * convention. {@code labels[t]} is the token position {@code t} holds if it counts towards the
 * loss, or {@link #IGNORE} (-100) if it does not; the loss shifts, so position {@code t}
 * predicts {@code labels[t + 1]} and {@code labels[0]} is never a target.
 *
 * <p>The arrays are owned by the example: callers must not modify them.
 *
 * @param inputIds the token ids, length T
 * @param labels   the labels, length T: -100 or a token id
 */
public record TrainingExample(int[] inputIds, int[] labels) {
    /** The label of a position that does not count towards the loss (PyTorch's ignore_index). */
    public static final int IGNORE = -100;

    public TrainingExample {
        Objects.requireNonNull(inputIds, "inputIds");
        Objects.requireNonNull(labels, "labels");
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException("input_ids has " + inputIds.length + " tokens but labels has "
                    + labels.length);
        }
    }

    /** Number of tokens T. */
    public int length() {
        return inputIds.length;
    }

    /**
     * Number of loss terms this example contributes: labels at positions 1..T-1 that are not
     * {@link #IGNORE} (position 0 has no prediction before it, so its label never counts).
     */
    public int targetCount() {
        int n = 0;
        for (int t = 1; t < labels.length; t++) {
            if (labels[t] != IGNORE) {
                n++;
            }
        }
        return n;
    }

    /** The first {@code maxTokens} tokens (this example itself if it is not longer). */
    public TrainingExample truncate(int maxTokens) {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        if (inputIds.length <= maxTokens) {
            return this;
        }
        return new TrainingExample(Arrays.copyOf(inputIds, maxTokens), Arrays.copyOf(labels, maxTokens));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrainingExample e && Arrays.equals(inputIds, e.inputIds) && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "TrainingExample(input_ids=" + Arrays.toString(inputIds) + ", labels=" + Arrays.toString(labels) + ")";
    }
}
