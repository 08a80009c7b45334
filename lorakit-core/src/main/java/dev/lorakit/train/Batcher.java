package dev.lorakit.train;

import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Deals training examples into batches, epoch after epoch. Each epoch visits every example once,
 * in file order ({@code --no-shuffle}) or in a permutation drawn by {@link TrainRng#seeded(long,
 * long) TrainRng.seeded(seed, epoch)} (Fisher-Yates), so the order of any epoch depends only on
 * the seed and the epoch number. Batches take B consecutive examples of that order; the last
 * batch of an epoch may be smaller (nothing is dropped); batches never span two epochs.
 *
 * <p>The {@link Position} (epoch, examples of it already dealt) is all a checkpoint needs:
 * a batcher {@link #seek sought} to a saved position deals exactly the batches an uninterrupted
 * one would have dealt next.
 */
public final class Batcher {
    private final List<TrainingExample> examples;
    private final int batchSize;
    private final int padId;
    private final long seed;
    private final boolean shuffle;
    private int epoch;
    private int next;
    private int[] order;

    /**
     * Where a batcher is: {@code example} examples of epoch {@code epoch}'s order have been dealt
     * (equal to the example count once the epoch is done; the next batch then starts epoch + 1).
     */
    public record Position(int epoch, int example) {
        public Position {
            if (epoch < 0 || example < 0) {
                throw new IllegalArgumentException("position must be >= 0, got epoch " + epoch + ", example " + example);
            }
        }

        /** The start of the first epoch. */
        public static final Position START = new Position(0, 0);
    }

    /**
     * @param examples  the training examples (not empty)
     * @param batchSize B, examples per batch (>= 1)
     * @param padId     the token id of padded positions (any valid id: their labels are -100)
     * @param seed      the run's seed
     * @param shuffle   false to keep file order in every epoch
     */
    public Batcher(List<TrainingExample> examples, int batchSize, int padId, long seed, boolean shuffle) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no examples to batch");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.examples = List.copyOf(examples);
        this.batchSize = batchSize;
        this.padId = padId;
        this.seed = seed;
        this.shuffle = shuffle;
        this.order = order(0);
    }

    /** The order in which epoch {@code epoch} visits the examples (indices into the example list). */
    public int[] order(int epoch) {
        int[] idx = new int[examples.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        if (shuffle) {
            TrainRng.seeded(seed, epoch).shuffle(idx);
        }
        return idx;
    }

    /** Number of examples per epoch. */
    public int exampleCount() {
        return examples.size();
    }

    /** Batches per epoch: ceil(examples / B). */
    public int batchesPerEpoch() {
        return (examples.size() + batchSize - 1) / batchSize;
    }

    /** Optimizer steps per epoch with {@code accumulation} batches per step: ceil(batches / accumulation). */
    public int stepsPerEpoch(int accumulation) {
        requireAccumulation(accumulation);
        return (batchesPerEpoch() + accumulation - 1) / accumulation;
    }

    /** The current position (what to save in a checkpoint). */
    public Position position() {
        return new Position(epoch, next);
    }

    /**
     * Continues from a saved position.
     *
     * @throws BadInputException if the position lies beyond the epoch (the data changed since it was saved)
     */
    public void seek(Position position) {
        if (position.example() > examples.size()) {
            throw new BadInputException("the checkpoint's data position (example " + position.example() + " of epoch "
                    + position.epoch() + ") lies beyond the " + examples.size()
                    + " training examples; resume with the same data and --seq-len");
        }
        if (position.epoch() != epoch) {
            order = order(position.epoch());
        }
        epoch = position.epoch();
        next = position.example();
    }

    /** The fraction of epochs dealt so far (epoch + examples dealt / examples), for logs. */
    public double epochProgress() {
        return epoch + (double) next / examples.size();
    }

    /** The next batch, starting the next epoch when the current one is done. */
    public Batch next() {
        if (next == examples.size()) {
            epoch++;
            next = 0;
            order = order(epoch);
        }
        int b = Math.min(batchSize, examples.size() - next);
        int[] idx = Arrays.copyOfRange(order, next, next + b);
        next += b;
        return batch(idx);
    }

    /**
     * The batches of one optimizer step: {@code accumulation} batches, or fewer at the end of
     * an epoch (a step never spans two epochs, as in the Hugging Face Trainer).
     */
    public List<Batch> nextStep(int accumulation) {
        requireAccumulation(accumulation);
        List<Batch> out = new ArrayList<>(accumulation);
        out.add(next());
        while (out.size() < accumulation && next < examples.size()) {
            out.add(next());
        }
        return out;
    }

    private Batch batch(int[] idx) {
        int width = 0;
        int[] lengths = new int[idx.length];
        for (int r = 0; r < idx.length; r++) {
            lengths[r] = examples.get(idx[r]).length();
            width = Math.max(width, lengths[r]);
        }
        int[] ids = new int[idx.length * width];
        int[] labels = new int[idx.length * width];
        Arrays.fill(ids, padId);
        Arrays.fill(labels, TrainingExample.IGNORE);
        for (int r = 0; r < idx.length; r++) {
            TrainingExample ex = examples.get(idx[r]);
            System.arraycopy(ex.inputIds(), 0, ids, r * width, ex.length());
            System.arraycopy(ex.labels(), 0, labels, r * width, ex.length());
        }
        return new Batch(epoch, idx, lengths, width, ids, labels);
    }

    private static void requireAccumulation(int accumulation) {
        if (accumulation < 1) {
            throw new IllegalArgumentException("gradient accumulation must be >= 1, got " + accumulation);
        }
    }
}
