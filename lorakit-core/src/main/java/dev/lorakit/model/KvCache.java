package dev.lorakit.model;

/**
 * The key/value cache of one sequence: per layer, rows of [kvHeads * headDim] floats for every
 * position processed so far (keys already rotated). Grows on demand up to the model's context.
 */
public final class KvCache implements SequenceCache {
    private final int layers;
    private final int kvDim;
    private final int maxPositions;
    private float[][] keys;   // [layers][positions * kvDim]
    private float[][] values; // [layers][positions * kvDim]
    private int capacity;
    private int length;

    KvCache(int layers, int kvDim, int maxPositions, int initialCapacity) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.maxPositions = maxPositions;
        this.keys = new float[layers][];
        this.values = new float[layers][];
        allocate(Math.max(1, Math.min(initialCapacity, maxPositions)));
    }

    private void allocate(int cap) {
        for (int l = 0; l < layers; l++) {
            float[] k = new float[cap * kvDim];
            float[] v = new float[cap * kvDim];
            if (keys[l] != null) {
                System.arraycopy(keys[l], 0, k, 0, length * kvDim);
                System.arraycopy(values[l], 0, v, 0, length * kvDim);
            }
            keys[l] = k;
            values[l] = v;
        }
        capacity = cap;
    }

    /** Number of positions stored. */
    @Override
    public int length() {
        return length;
    }

    /** The largest number of positions this cache may hold (the model's context length). */
    @Override
    public int maxPositions() {
        return maxPositions;
    }

    /** Makes room for {@code more} further positions; fails past the context length. */
    void reserve(int more) {
        int need = length + more;
        if (need > maxPositions) {
            throw new IllegalArgumentException("sequence of " + need + " tokens exceeds the model's context of "
                    + maxPositions + " (max_position_embeddings)");
        }
        if (need > capacity) {
            allocate((int) Math.min(maxPositions, Math.max(need, 2L * capacity)));
        }
    }

    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }

    /** Marks {@code n} more positions as filled (after every layer has written them). */
    void advance(int n) {
        length += n;
    }

    /** Forgets every position (reuse the buffers for a new sequence). */
    @Override
    public void clear() {
        length = 0;
    }

    /** Drops positions past {@code n} (e.g. to re-score a shared prompt prefix). */
    @Override
    public void truncate(int n) {
        if (n < 0 || n > length) {
            throw new IllegalArgumentException("cannot truncate a cache of " + length + " positions to " + n);
        }
        length = n;
    }
}
