package dev.lorakit.merge;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The element-wise rules of the task-vector merges (TIES, DARE, magnitude pruning) on task
 * vectors: equally long double[] holding one input's update, already multiplied by its weight
 * and scaling ({@code w_t s_t B_t A_t}, flattened row-major). The conventions follow PEFT's
 * {@code merge_utils} (magnitude_based_pruning, random_pruning, calculate_majority_sign_mask,
 * disjoint_merge); where PEFT leaves a choice open (ties in magnitude, the random generator)
 * the rule here is deterministic and stated on the method.
 *
 * <p>The per-entry rules ({@link #electSign}, {@link #disjointMean}, {@link #signsAgree},
 * {@link #dareKeeps}) are what the streaming dense merge applies block by block; the
 * whole-vector forms are for small vectors and tests.
 */
public final class TaskVectorRules {
    private TaskVectorRules() {
    }

    /**
     * The number of entries a density keeps out of {@code size}: {@code floor(density * size)},
     * PEFT's {@code int(density * numel)} (same float64 product, so e.g. 0.29 of 100 keeps 28).
     */
    public static long keepCount(long size, double density) {
        requireDensity(density);
        if (density >= 1) {
            return size;
        }
        return Math.min(size, (long) Math.floor(density * size));
    }

    /**
     * Which entries a magnitude trim keeps: every entry with {@code |v| > threshold}, and of the
     * entries with {@code |v| == threshold} those with flat index {@code <= lastTieIndex}. So
     * exactly {@link #keepCount} entries are kept, the largest by magnitude, and among equal
     * magnitudes at the cut the ones with the lower (row-major) index.
     *
     * @param threshold the magnitude of the smallest kept entry (-inf keeps all, +inf none)
     * @param lastTieIndex flat index of the last kept entry whose magnitude equals the threshold
     */
    public record MagnitudeCut(double threshold, long lastTieIndex) {
        /** Keeps every entry (density 1). */
        public static final MagnitudeCut ALL = new MagnitudeCut(Double.NEGATIVE_INFINITY, -1);
        /** Keeps no entry (density x size < 1). */
        public static final MagnitudeCut NONE = new MagnitudeCut(Double.POSITIVE_INFINITY, -1);

        /** True if the entry {@code value} at flat index {@code index} survives the trim. */
        public boolean keeps(double value, long index) {
            double m = Math.abs(value);
            return m > threshold || m == threshold && index <= lastTieIndex;
        }
    }

    /**
     * The magnitude cut keeping the top {@code density} fraction of {@code v} by |value|
     * (PEFT's magnitude_based_pruning: {@code k = int(density * numel)} entries; torch.topk
     * breaks ties arbitrarily, here the lower index wins). Density 1 keeps everything, as PEFT's
     * prune returns the tensor unchanged for density >= 1.
     */
    public static MagnitudeCut magnitudeCut(double[] v, double density) {
        long keep = keepCount(v.length, density);
        if (keep >= v.length) {
            return MagnitudeCut.ALL;
        }
        if (keep == 0) {
            return MagnitudeCut.NONE;
        }
        double[] sorted = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            sorted[i] = Math.abs(v[i]);
        }
        Arrays.sort(sorted);
        double threshold = sorted[(int) (v.length - keep)];
        long above = 0;
        for (double m : sorted) {
            if (m > threshold) {
                above++;
            }
        }
        return cutWithTies(threshold, keep - above, v);
    }

    /** The cut at {@code threshold} keeping the first {@code ties} entries equal to it in index order. */
    private static MagnitudeCut cutWithTies(double threshold, long ties, double[] v) {
        long seen = 0;
        for (int i = 0; i < v.length; i++) {
            if (Math.abs(v[i]) == threshold && ++seen == ties) {
                return new MagnitudeCut(threshold, i);
            }
        }
        throw new IllegalStateException("fewer than " + ties + " entries of magnitude " + threshold);
    }

    /** {@code v} trimmed to its top {@code density} fraction by magnitude (a new vector; dropped entries 0). */
    public static double[] trim(double[] v, double density) {
        MagnitudeCut cut = magnitudeCut(v, density);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = cut.keeps(v[i], i) ? v[i] : 0.0;
        }
        return out;
    }

    /**
     * The seed of one input's DARE mask for one module: a mix of the user's seed, the module
     * name and the input's command-line index, so every (module, input) gets its own mask
     * whatever the order or thread the modules are merged in.
     */
    public static long dareMaskSeed(long seed, String module, int input) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 over the UTF-8 bytes of the name
        for (byte b : module.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return mix64(mix64(seed) ^ mix64(h + 0x9e3779b97f4a7c15L * (input + 1L)));
    }

    /**
     * Whether DARE keeps the entry at flat index {@code index}: a Bernoulli(density) draw
     * (PEFT's {@code torch.bernoulli(full_like(t, density))}) made from a counter-based
     * generator, {@code u = mix64(maskSeed + (index + 1) * golden) / 2^64 in [0, 1)}, kept if
     * {@code u < density}. Depends on nothing but its arguments, so masks are the same in any
     * block order and thread count. Density 1 keeps every entry.
     */
    public static boolean dareKeeps(long maskSeed, long index, double density) {
        long bits = mix64(maskSeed + (index + 1) * 0x9e3779b97f4a7c15L);
        double u = (bits >>> 11) * 0x1.0p-53;
        return u < density;
    }

    /**
     * DARE's drop and rescale of one task vector (PEFT's random_pruning with rescale): each entry
     * kept with probability {@code density} ({@link #dareKeeps}) and divided by density, the
     * others 0. Returns a new vector.
     */
    public static double[] dareDrop(double[] v, double density, long maskSeed) {
        requireDensity(density);
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = dareKeeps(maskSeed, i, density) ? v[i] / density : 0.0;
        }
        return out;
    }

    /**
     * The elected sign of one entry from its n values {@code values[0..n)} (PEFT's
     * calculate_majority_sign_mask): TOTAL takes the sign of {@code sum_t v_t}, FREQUENCY the sign
     * of {@code sum_t sign(v_t)}; a zero total elects +1. Returns +1 or -1.
     */
    public static int electSign(double[] values, int n, MergeOptions.MajoritySign mode) {
        double s = 0;
        for (int t = 0; t < n; t++) {
            s += mode == MergeOptions.MajoritySign.TOTAL ? values[t] : Math.signum(values[t]);
        }
        return s >= 0 ? 1 : -1;
    }

    /**
     * TIES' disjoint merge of one entry (PEFT's disjoint_merge): the mean of the values whose
     * sign equals the elected {@code sign}, {@code sum_{t: sign(v_t) = sign} v_t / max(1, count)};
     * zeros never agree, so an entry no input agrees on is 0.
     */
    public static double disjointMean(double[] values, int n, int sign) {
        double s = 0;
        int count = 0;
        for (int t = 0; t < n; t++) {
            if (Math.signum(values[t]) == sign) {
                s += values[t];
                count++;
            }
        }
        return count == 0 ? 0.0 : s / count;
    }

    /** True if the nonzero values among {@code values[0..n)} all have the same sign (vacuously for none). */
    public static boolean signsAgree(double[] values, int n) {
        boolean pos = false;
        boolean neg = false;
        for (int t = 0; t < n; t++) {
            pos |= values[t] > 0;
            neg |= values[t] < 0;
        }
        return !(pos && neg);
    }

    /** The elected signs (+1 / -1) of every entry of equally long task vectors. */
    public static double[] electSigns(double[][] tasks, MergeOptions.MajoritySign mode) {
        int len = requireEqualLength(tasks);
        double[] column = new double[tasks.length];
        double[] out = new double[len];
        for (int i = 0; i < len; i++) {
            for (int t = 0; t < tasks.length; t++) {
                column[t] = tasks[t][i];
            }
            out[i] = electSign(column, tasks.length, mode);
        }
        return out;
    }

    /** The disjoint merge of equally long task vectors under the elected {@code signs} (+1 / -1 per entry). */
    public static double[] disjointMerge(double[][] tasks, double[] signs) {
        int len = requireEqualLength(tasks);
        if (signs.length != len) {
            throw new IllegalArgumentException(signs.length + " signs for task vectors of length " + len);
        }
        double[] column = new double[tasks.length];
        double[] out = new double[len];
        for (int i = 0; i < len; i++) {
            for (int t = 0; t < tasks.length; t++) {
                column[t] = tasks[t][i];
            }
            out[i] = disjointMean(column, tasks.length, (int) signs[i]);
        }
        return out;
    }

    /** The entry-wise sum of equally long task vectors (task arithmetic; weights are already in the vectors). */
    public static double[] sum(double[][] tasks) {
        int len = requireEqualLength(tasks);
        double[] out = new double[len];
        for (double[] t : tasks) {
            for (int i = 0; i < len; i++) {
                out[i] += t[i];
            }
        }
        return out;
    }

    private static int requireEqualLength(double[][] tasks) {
        if (tasks.length == 0) {
            throw new IllegalArgumentException("no task vectors");
        }
        int len = tasks[0].length;
        for (double[] t : tasks) {
            if (t.length != len) {
                throw new IllegalArgumentException("task vectors of lengths " + len + " and " + t.length);
            }
        }
        return len;
    }

    private static void requireDensity(double density) {
        if (!(density > 0 && density <= 1)) {
            throw new IllegalArgumentException("density must be in (0, 1], got " + density);
        }
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
