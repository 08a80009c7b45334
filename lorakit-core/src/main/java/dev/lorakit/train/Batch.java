package dev.lorakit.train;

import java.util.Arrays;

/**
 * B training examples of one step (or micro-step), right-padded to the longest of them, T:
 * {@code inputIds} and {@code labels} are row-major [B, T]; padded positions hold the pad id
 * and label -100. Because padding is on the right and attention is causal, pads never affect
 * real positions; a forward pass may also skip them by using {@link #sequences()} or the packed
 * layout (the real tokens of each row, rows concatenated, no padding).
 *
 * <p>The loss is the mean cross-entropy over {@link #targetCount()} positions; with gradient
 * accumulation, divide each micro-batch's summed loss by the total count of the whole step.
 *
 * @param epoch          the epoch these examples were drawn in (0-based)
 * @param exampleIndices the examples' indices in the training data, one per row
 * @param lengths        real tokens of each row, [B]
 * @param width          T, the longest length
 * @param inputIds       [B, T] token ids, pad id after each row's length
 * @param labels         [B, T] labels (Hugging Face convention, unshifted), -100 after each row's length
 */
public record Batch(int epoch, int[] exampleIndices, int[] lengths, int width, int[] inputIds, int[] labels) {
    public Batch {
        int b = lengths.length;
        if (exampleIndices.length != b || inputIds.length != b * width || labels.length != b * width) {
            throw new IllegalArgumentException("inconsistent batch: " + b + " rows of width " + width + ", "
                    + exampleIndices.length + " indices, " + inputIds.length + " ids, " + labels.length + " labels");
        }
    }

    /** Number of rows B. */
    public int size() {
        return lengths.length;
    }

    /** Real (unpadded) tokens, summed over rows. */
    public int tokenCount() {
        int n = 0;
        for (int len : lengths) {
            n += len;
        }
        return n;
    }

    /** The shifted targets of the padded layout, [B, T]: see {@link #shiftedTargets(int[], int, int)}. */
    public int[] shiftedTargets() {
        return shiftedTargets(labels, size(), width);
    }

    /**
     * The per-position targets of rows laid out [rows, width]: position t of a row predicts the
     * row's label at t + 1, so {@code out[r, t] = labels[r, t + 1]} for t < width - 1 and
     * {@code out[r, width - 1] = -100}. Cross-entropy at each position against these targets
     * (skipping -100) is the Hugging Face causal-LM loss.
     */
    public static int[] shiftedTargets(int[] labels, int rows, int width) {
        if (labels.length != rows * width) {
            throw new IllegalArgumentException(labels.length + " labels for " + rows + " rows of width " + width);
        }
        int[] out = new int[labels.length];
        for (int r = 0; r < rows; r++) {
            int base = r * width;
            System.arraycopy(labels, base + 1, out, base, width - 1);
            out[base + width - 1] = TrainingExample.IGNORE;
        }
        return out;
    }

    /** Each row's real tokens, [B][length_b]. */
    public int[][] sequences() {
        int[][] out = new int[size()][];
        for (int r = 0; r < size(); r++) {
            out[r] = Arrays.copyOfRange(inputIds, r * width, r * width + lengths[r]);
        }
        return out;
    }

    /** The real tokens of every row, concatenated, [sum of lengths]. */
    public int[] packedInputIds() {
        return pack(inputIds);
    }

    /**
     * The shifted targets of the packed layout, [sum of lengths]: within each row position t
     * predicts the row's label at t + 1; each row's last position has target -100 (it never
     * predicts the next row's first token).
     */
    public int[] packedShiftedTargets() {
        return pack(shiftedTargets());
    }

    /** Positions with a target (not -100) after the shift: the loss's denominator. */
    public int targetCount() {
        int n = 0;
        for (int r = 0; r < size(); r++) {
            for (int t = 1; t < lengths[r]; t++) {
                if (labels[r * width + t] != TrainingExample.IGNORE) {
                    n++;
                }
            }
        }
        return n;
    }

    private int[] pack(int[] padded) {
        int[] out = new int[tokenCount()];
        int at = 0;
        for (int r = 0; r < size(); r++) {
            System.arraycopy(padded, r * width, out, at, lengths[r]);
            at += lengths[r];
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && epoch == b.epoch && width == b.width && Arrays.equals(exampleIndices, b.exampleIndices)
                && Arrays.equals(lengths, b.lengths) && Arrays.equals(inputIds, b.inputIds) && Arrays.equals(labels, b.labels);
    }

    @Override
    public int hashCode() {
        return ((epoch * 31 + width) * 31 + Arrays.hashCode(exampleIndices)) * 31 + Arrays.hashCode(inputIds);
    }

    @Override
    public String toString() {
        return "Batch(epoch " + epoch + ", examples " + Arrays.toString(exampleIndices) + ", lengths "
                + Arrays.toString(lengths) + ")";
    }
}
