package dev.lorakit.generate;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Picks the next token from a model's logits, applying {@link SamplingParams} the way Hugging Face
 * transformers does, in its order: repetition penalty, temperature, top-k, top-p, min-p, then a
 * draw from the renormalized distribution of the tokens left. Temperature 0 is greedy: the argmax
 * after the repetition penalty (ties go to the lowest id).
 *
 * <p>Deterministic: the random generator is seeded from {@link SamplingParams#seed()} and each
 * sampled (non-greedy) call draws exactly one number, so the same seed and the same logits give
 * the same tokens. Ties are broken by the lowest token id wherever an order is needed (argmax,
 * the top-p order); top-k keeps every token tied with the k-th largest logit, as transformers'
 * threshold does.
 *
 * <p>The input logits are read, never written. Working buffers (vocabulary-sized) are allocated on
 * first use and reused, so a call allocates nothing. Not thread-safe: one sampler per sequence.
 */
public final class Sampler {
    private final SamplingParams params;
    private final int vocabSize;
    private final SplittableRandom random;

    private float[] work;           // [V] logits after the repetition penalty
    private int[] penalizedStamp;   // [V] call number that last penalized each id (dedupes the context)
    private int calls;
    private double[] weight;        // [V] exp((logit - max) / T) of candidates, relative to the top token
    private float[] selectScratch;  // [V] copy for the k-th largest selection
    private long[] order;           // [V] keys of the top-p candidates: descending logit, then ascending id
    private int[] kept;             // [V] ids that survive the filters

    /**
     * @param params    the sampling settings
     * @param vocabSize number of logits per call (the model's vocabulary), >= 1
     */
    public Sampler(SamplingParams params, int vocabSize) {
        this.params = Objects.requireNonNull(params, "params");
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
        this.vocabSize = vocabSize;
        this.random = new SplittableRandom(params.seed());
    }

    public SamplingParams params() {
        return params;
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Picks a token from {@code logits[offset .. offset + vocabSize)} with no repetition context. */
    public int sample(float[] logits, int offset) {
        return sample(logits, offset, new int[0], 0);
    }

    /**
     * Picks the next token.
     *
     * @param logits        holds the vocabulary's logits at {@code [offset, offset + vocabSize)}
     * @param offset        where this position's logits start
     * @param context       token ids already in the sequence (prompt and generated), for the
     *                      repetition penalty; each distinct id is penalized once
     * @param contextLength how many entries of {@code context} are used
     * @return the chosen token id in {@code [0, vocabSize)}
     * @throws IllegalStateException if a logit is NaN or infinite (a model bug, not user input)
     */
    public int sample(float[] logits, int offset, int[] context, int contextLength) {
        Objects.checkFromIndexSize(offset, vocabSize, logits.length);
        Objects.checkFromIndexSize(0, contextLength, context.length);
        float[] x = penalized(logits, offset, context, contextLength);
        if (params.greedy()) {
            return argmax(x);
        }
        double inverseTemperature = 1.0 / params.temperature();
        float max = x[argmax(x)];
        // top-k: every token at or above the k-th largest logit (transformers' threshold)
        float threshold = params.topK() > 0 && params.topK() < vocabSize
                ? kthLargest(x, params.topK()) : Float.NEGATIVE_INFINITY;
        if (weight == null) {
            weight = new double[vocabSize];
            kept = new int[vocabSize];
        }
        double total = 0;
        int candidates = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (x[i] >= threshold) {
                double w = Math.exp((x[i] - (double) max) * inverseTemperature);
                weight[i] = w;
                total += w;
                kept[candidates++] = i;
            }
        }
        int count = params.topP() < 1 ? topP(x, candidates, total) : candidates;
        if (params.minP() > 0) {
            count = minP(count);
        }
        return draw(count);
    }

    /** Copies the logits into the work buffer, checks them, and applies the repetition penalty. */
    private float[] penalized(float[] logits, int offset, int[] context, int contextLength) {
        if (work == null) {
            work = new float[vocabSize];
        }
        for (int i = 0; i < vocabSize; i++) {
            float v = logits[offset + i];
            if (!Float.isFinite(v)) {
                throw new IllegalStateException("the model produced " + (Float.isNaN(v) ? "a NaN" : "an infinite")
                        + " logit (" + v + ") for token id " + i + ": the forward pass is broken");
            }
            work[i] = v;
        }
        double penalty = params.repetitionPenalty();
        if (penalty != 1 && contextLength > 0) {
            if (penalizedStamp == null) {
                penalizedStamp = new int[vocabSize];
            }
            int stamp = ++calls;
            for (int j = 0; j < contextLength; j++) {
                int id = context[j];
                if (id < 0 || id >= vocabSize) {
                    throw new IllegalArgumentException("context token id " + id + " at position " + j
                            + " is outside the vocabulary [0, " + vocabSize + ")");
                }
                if (penalizedStamp[id] != stamp) {
                    penalizedStamp[id] = stamp;
                    float v = work[id];
                    work[id] = (float) (v > 0 ? v / penalty : v * penalty);
                }
            }
        }
        return work;
    }

    /** Index of the largest value; ties go to the lowest index. */
    private int argmax(float[] x) {
        int best = 0;
        float bestValue = x[0];
        for (int i = 1; i < vocabSize; i++) {
            if (x[i] > bestValue) {
                bestValue = x[i];
                best = i;
            }
        }
        return best;
    }

    /** The k-th largest value of x (1-based), by selection on a scratch copy. */
    private float kthLargest(float[] x, int k) {
        if (selectScratch == null) {
            selectScratch = new float[vocabSize];
        }
        float[] a = selectScratch;
        System.arraycopy(x, 0, a, 0, vocabSize);
        int target = vocabSize - k;          // index in ascending order
        int lo = 0;
        int hi = vocabSize - 1;
        int budget = 2 * (32 - Integer.numberOfLeadingZeros(vocabSize)) + 8;
        while (lo < hi) {
            if (budget-- == 0) {             // bad pivots: finish by sorting what is left
                heapSort(a, lo, hi + 1);
                return a[target];
            }
            int mid = (lo + hi) >>> 1;
            float pivot = median(a[lo], a[mid], a[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    float t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return a[target];
            }
        }
        return a[target];
    }

    private static float median(float a, float b, float c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    /**
     * Keeps the smallest set of most likely candidates whose probability reaches top_p (at least
     * one token): in order of descending logit (ties: lowest id first), a token stays while the
     * probability of the tokens before it is below top_p. This is transformers' rule (drop the
     * least likely tokens whose cumulative probability is <= 1 - top_p) read from the other end.
     *
     * <p>Found by selection rather than a full sort: partition the candidates around a pivot;
     * if the heavier side holds the missing mass the boundary is inside it, else take it whole
     * and continue in the lighter side; sort only the last short range. Expected linear time.
     *
     * @return the number of ids now in {@code kept}
     */
    private int topP(float[] x, int candidates, double total) {
        if (order == null) {
            order = new long[vocabSize];
        }
        for (int c = 0; c < candidates; c++) {
            order[c] = sortKey(x[kept[c]], kept[c]);
        }
        double needed = params.topP() * total;
        double before = 0;  // weight of order[0, lo): every one heavier than everything in [lo, hi)
        int lo = 0;
        int hi = candidates;
        while (hi - lo > 32) {
            long pivot = median(order[lo], order[(lo + hi) >>> 1], order[hi - 1]);
            int split = lo;
            double heavier = 0;
            for (int i = lo; i < hi; i++) {  // keys below the pivot (heavier tokens) to the front
                long key = order[i];
                if (key < pivot) {
                    order[i] = order[split];
                    order[split++] = key;
                    heavier += weight[(int) key];
                }
            }
            if (before + heavier >= needed) {
                hi = split;  // keys are distinct, so the median of three has a smaller key: split > lo
            } else {
                before += heavier;
                lo = split;
            }
        }
        sort(order, lo, hi);
        int count = hi;  // if rounding keeps the sum just below top_p: all up to hi
        double cumulative = before;
        for (int j = lo; j < hi; j++) {
            cumulative += weight[(int) order[j]];
            if (cumulative >= needed) {
                count = j + 1;
                break;
            }
        }
        for (int j = 0; j < count; j++) {
            kept[j] = (int) order[j];
        }
        return count;
    }

    private static long median(long a, long b, long c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    /**
     * Sorts a[from, to) ascending in place: quicksort with median-of-three pivots, insertion sort
     * for short ranges, heapsort if the recursion gets too deep (the JDK's sort allocates run
     * buffers for large arrays).
     */
    static void sort(long[] a, int from, int to) {
        quicksort(a, from, to - 1, 2 * (32 - Integer.numberOfLeadingZeros(Math.max(1, to - from))));
    }

    private static void quicksort(long[] a, int lo, int hi, int depth) {
        while (hi - lo > 16) {
            if (depth-- == 0) {
                heapSort(a, lo, hi + 1);
                return;
            }
            int mid = (lo + hi) >>> 1;
            long x = a[lo];
            long y = a[mid];
            long z = a[hi];
            long pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            if (j - lo < hi - i) {           // recurse into the smaller side, loop on the larger
                quicksort(a, lo, j, depth);
                lo = i;
            } else {
                quicksort(a, i, hi, depth);
                hi = j;
            }
        }
        for (int i = lo + 1; i <= hi; i++) {
            long v = a[i];
            int j = i - 1;
            while (j >= lo && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }

    private static void heapSort(long[] a, int from, int to) {
        int n = to - from;
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(a, from, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            long t = a[from];
            a[from] = a[from + end];
            a[from + end] = t;
            siftDown(a, from, 0, end);
        }
    }

    private static void siftDown(long[] a, int base, int i, int n) {
        long v = a[base + i];
        while (2 * i + 1 < n) {
            int child = 2 * i + 1;
            if (child + 1 < n && a[base + child + 1] > a[base + child]) {
                child++;
            }
            if (a[base + child] <= v) {
                break;
            }
            a[base + i] = a[base + child];
            i = child;
        }
        a[base + i] = v;
    }

    private static void heapSort(float[] a, int from, int to) {
        int n = to - from;
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(a, from, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            float t = a[from];
            a[from] = a[from + end];
            a[from + end] = t;
            siftDown(a, from, 0, end);
        }
    }

    private static void siftDown(float[] a, int base, int i, int n) {
        float v = a[base + i];
        while (2 * i + 1 < n) {
            int child = 2 * i + 1;
            if (child + 1 < n && a[base + child + 1] > a[base + child]) {
                child++;
            }
            if (a[base + child] <= v) {
                break;
            }
            a[base + i] = a[base + child];
            i = child;
        }
        a[base + i] = v;
    }

    /** A long that sorts by descending value, then ascending id. */
    private static long sortKey(float value, int id) {
        int bits = Float.floatToIntBits(value);
        int ascending = bits ^ ((bits >> 31) & 0x7fffffff);  // signed-int order equals float order
        return ((long) ~ascending << 32) | (id & 0xffffffffL);
    }

    /**
     * min-p: drops kept tokens whose probability is below min_p times the largest one's. Weights
     * are relative to the most likely token (its weight is 1), and renormalizing does not change
     * the ratio, so the rule is weight < min_p. The most likely token always stays.
     */
    private int minP(int count) {
        double minP = params.minP();
        int out = 0;
        for (int c = 0; c < count; c++) {
            int id = kept[c];
            if (weight[id] >= minP) {
                kept[out++] = id;
            }
        }
        return out;
    }

    /** Draws one of the first {@code count} kept ids with probability proportional to its weight. */
    private int draw(int count) {
        double total = 0;
        for (int c = 0; c < count; c++) {
            total += weight[kept[c]];
        }
        double u = random.nextDouble() * total;
        double cumulative = 0;
        for (int c = 0; c < count; c++) {
            cumulative += weight[kept[c]];
            if (u < cumulative) {
                return kept[c];
            }
        }
        return kept[count - 1];  // u within rounding of the total
    }
}
