package dev.lorakit.train;

import java.util.Arrays;

/**
 * The trainer's random number generator (epoch shuffles, LoRA dropout): xoshiro256** (Blackman
 * and Vigna) over four {@code long}s of state, seeded through SplitMix64. Unlike
 * {@link java.util.SplittableRandom}, its whole state can be saved in a checkpoint and restored
 * exactly ({@link #state()}, {@link #fromState(long[])}), and every number it draws is defined
 * here, independent of the JDK version, so a seed reproduces a run anywhere.
 *
 * <p>Not thread-safe: give each thread or purpose its own generator (see {@link #seeded(long, long)}).
 */
public final class TrainRng {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private long s0;
    private long s1;
    private long s2;
    private long s3;

    private TrainRng(long s0, long s1, long s2, long s3) {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
    }

    /** A generator whose state is the first four outputs of SplitMix64 started at {@code seed}. */
    public static TrainRng seeded(long seed) {
        long x = seed;
        long a = mix64(x += GOLDEN_GAMMA);
        long b = mix64(x += GOLDEN_GAMMA);
        long c = mix64(x += GOLDEN_GAMMA);
        long d = mix64(x + GOLDEN_GAMMA);
        return new TrainRng(a, b, c, d);
    }

    /**
     * An independent generator for one purpose of a run, e.g. the shuffle of epoch {@code stream}:
     * seeded with {@code mix64(seed) ^ mix64(stream + GOLDEN_GAMMA)} (a fixed rule: changing it
     * would change every shuffle of saved runs).
     */
    public static TrainRng seeded(long seed, long stream) {
        return seeded(mix64(seed) ^ mix64(stream + GOLDEN_GAMMA));
    }

    /**
     * A generator continuing from a saved {@link #state()}.
     *
     * @throws IllegalArgumentException unless the state is 4 longs, not all zero (xoshiro's one invalid state)
     */
    public static TrainRng fromState(long[] state) {
        if (state.length != 4) {
            throw new IllegalArgumentException("a TrainRng state is 4 longs, got " + state.length);
        }
        if ((state[0] | state[1] | state[2] | state[3]) == 0) {
            throw new IllegalArgumentException("a TrainRng state cannot be all zeros");
        }
        return new TrainRng(state[0], state[1], state[2], state[3]);
    }

    /** A copy of the current state; {@link #fromState} continues with exactly the same numbers. */
    public long[] state() {
        return new long[] {s0, s1, s2, s3};
    }

    /** A generator in the same state (this one is unaffected by its use). */
    public TrainRng copy() {
        return new TrainRng(s0, s1, s2, s3);
    }

    /** The next 64 random bits (xoshiro256**). */
    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** Uniform in [0, bound), without modulo bias (rejection on 31-bit draws). */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        int r = (int) (nextLong() >>> 33);
        int m = bound - 1;
        if ((bound & m) == 0) {
            return (int) ((bound * (long) r) >> 31);
        }
        for (int u = r; u - (r = u % bound) + m < 0; u = (int) (nextLong() >>> 33)) {
            // rejected: u fell in the incomplete last block of size bound
        }
        return r;
    }

    /** Uniform in [0, 1) with 24 random bits. */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Shuffles {@code a} in place (Fisher-Yates, from the last element down). */
    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }

    /** SplitMix64's output function (Stafford's Mix13). */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "TrainRng" + Arrays.toString(state());
    }
}
