package dev.lorakit.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SamplerTest {
    private static final SamplingParams GREEDY = SamplingParams.DEFAULTS;

    private static float[] randomLogits(Random random, int n) {
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) (random.nextGaussian() * 3);
        }
        return logits;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void greedyPicksTheArgmaxAtTheOffset() {
        Random random = new Random(1);
        for (int trial = 0; trial < 50; trial++) {
            float[] logits = randomLogits(random, 1000);
            float[] padded = new float[1010];
            System.arraycopy(logits, 0, padded, 7, 1000);
            Arrays.fill(padded, 0, 7, 1e9f);  // outside the window: must be ignored
            assertEquals(argmax(logits), new Sampler(GREEDY, 1000).sample(padded, 7));
        }
    }

    @Test
    void greedyTiesGoToTheLowestId() {
        assertEquals(2, new Sampler(GREEDY, 6).sample(new float[] {0, 1, 5, 3, 5, 5}, 0));
        assertEquals(0, new Sampler(GREEDY, 3).sample(new float[] {-1, -1, -1}, 0));
    }

    @ParameterizedTest
    @CsvSource({"0.05", "0.7", "1", "5", "1000"})
    void topKOneEqualsGreedyForAnyTemperature(double temperature) {
        Random random = new Random(2);
        SamplingParams p = GREEDY.withTemperature(temperature).withTopK(1);
        for (int trial = 0; trial < 50; trial++) {
            float[] logits = randomLogits(random, 500);
            assertEquals(argmax(logits), new Sampler(p.withSeed(trial), 500).sample(logits, 0));
        }
    }

    @Test
    void tinyTopPKeepsOnlyTheMostLikelyToken() {
        Random random = new Random(3);
        Sampler sampler = new Sampler(GREEDY.withTemperature(3).withTopP(1e-9), 300);
        for (int trial = 0; trial < 100; trial++) {
            float[] logits = randomLogits(random, 300);
            assertEquals(argmax(logits), sampler.sample(logits, 0));
        }
    }

    /**
     * transformers' filters computed independently, straight from their definitions: softmax of
     * logits / T; top-k keeps logits >= the k-th largest; top-p sorts ascending and drops the
     * tokens whose cumulative probability is <= 1 - top_p (never the most likely); min-p drops
     * probabilities below min_p times the largest. The result is renormalized.
     */
    private static double[] expectedDistribution(float[] logits, double t, int topK, double topP, double minP) {
        int n = logits.length;
        boolean[] keep = new boolean[n];
        Arrays.fill(keep, true);
        if (topK > 0 && topK < n) {
            float[] sorted = logits.clone();
            Arrays.sort(sorted);
            float kth = sorted[n - topK];
            for (int i = 0; i < n; i++) {
                keep[i] = logits[i] >= kth;
            }
        }
        double[] p = softmax(logits, t, keep);
        if (topP < 1) {
            Integer[] ascending = new Integer[n];
            for (int i = 0; i < n; i++) {
                ascending[i] = i;
            }
            Arrays.sort(ascending, (a, b) -> Double.compare(p[a], p[b]));
            double cumulative = 0;
            for (int j = 0; j < n - 1; j++) {  // the last (most likely) always stays
                cumulative += p[ascending[j]];
                if (cumulative <= 1 - topP) {
                    keep[ascending[j]] = false;
                }
            }
        }
        double[] q = softmax(logits, t, keep);
        if (minP > 0) {
            double top = Arrays.stream(q).max().orElseThrow();
            for (int i = 0; i < n; i++) {
                keep[i] &= q[i] >= minP * top;
            }
        }
        return softmax(logits, t, keep);
    }

    private static double[] softmax(float[] logits, double t, boolean[] keep) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            if (keep[i]) {
                max = Math.max(max, logits[i] / t);
            }
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = keep[i] ? Math.exp(logits[i] / t - max) : 0;
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    @ParameterizedTest(name = "T={0} top-k={1} top-p={2} min-p={3}")
    @CsvSource({
        "1.0, 0, 1.0, 0",      // the distribution itself
        "1.0, 3, 1.0, 0",      // top three, renormalized
        "1.0, 0, 0.6, 0",      // 0.4 + 0.25 reach 0.6
        "0.5, 4, 0.9, 0",
        "2.0, 0, 1.0, 0.45",
        "1.3, 5, 0.95, 0.1",
    })
    void samplesFollowTheTruncatedDistribution(double temperature, int topK, double topP, double minP) {
        double[] base = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};
        float[] logits = new float[base.length + 2];
        for (int i = 0; i < base.length; i++) {
            logits[i + 2] = (float) Math.log(base[i]) + 3;  // shifted, behind two padding slots
        }
        float[] vocab = Arrays.copyOfRange(logits, 2, logits.length);
        double[] expected = expectedDistribution(vocab, temperature, topK, topP, minP);
        SamplingParams p = GREEDY.withTemperature(temperature).withTopK(topK).withTopP(topP).withMinP(minP).withSeed(42);
        Sampler sampler = new Sampler(p, base.length);
        int n = 20000;
        int[] counts = new int[base.length];
        for (int i = 0; i < n; i++) {
            counts[sampler.sample(logits, 2)]++;
        }
        for (int id = 0; id < base.length; id++) {
            double frequency = counts[id] / (double) n;
            if (expected[id] == 0) {
                assertEquals(0, counts[id], "token " + id + " was filtered out but drawn");
            } else {
                double standardError = Math.sqrt(expected[id] * (1 - expected[id]) / n);
                assertTrue(Math.abs(frequency - expected[id]) <= 5 * standardError, "token " + id + ": frequency "
                        + frequency + ", expected " + expected[id] + " +- " + 5 * standardError);
            }
        }
    }

    /**
     * A dominant token and a long flat tail of tokens too unlikely for the top-p shortcut: the
     * nucleus then needs the full sort, and tied tokens enter it lowest id first.
     */
    @Test
    void topPReachingIntoALongTailOfTiesKeepsTheLowestIds() {
        int vocab = 2000;
        float[] logits = new float[vocab];
        Arrays.fill(logits, -10f);
        logits[0] = 0;
        double tail = Math.exp(-10);
        double total = 1 + (vocab - 1) * tail;
        double topP = 0.95;
        // smallest m with P(0) + m tail tokens >= top_p, summing as the sampler does
        int lastKept = 0;
        double cumulative = 1 / total;
        while (cumulative < topP) {
            cumulative += tail / total;
            lastKept++;
        }
        assertTrue(lastKept > 500 && lastKept < vocab - 500, "the test needs a nucleus inside the tail");
        Sampler sampler = new Sampler(GREEDY.withTemperature(1).withTopP(topP).withSeed(5), vocab);
        int maxSeen = 0;
        int zeros = 0;
        for (int i = 0; i < 20000; i++) {
            int id = sampler.sample(logits, 0);
            maxSeen = Math.max(maxSeen, id);
            zeros += id == 0 ? 1 : 0;
        }
        assertTrue(maxSeen <= lastKept, "drew id " + maxSeen + " beyond the nucleus end " + lastKept);
        assertTrue(maxSeen > lastKept - 100, "the tail of the nucleus is never drawn: max " + maxSeen);
        double p0 = (1 / total) / cumulative;
        assertEquals(p0, zeros / 20000.0, 5 * Math.sqrt(p0 * (1 - p0) / 20000));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOnce() {
        SamplingParams penalty2 = GREEDY.withRepetitionPenalty(2);
        int[] context = {0, 0, 0};  // repeated ids are penalized once, as transformers' gather/scatter does
        // 4.0 -> 2.0: loses to 2.1, beats 1.9 (three times would give 0.5)
        assertEquals(1, new Sampler(penalty2, 2).sample(new float[] {4.0f, 2.1f}, 0, context, 3));
        assertEquals(0, new Sampler(penalty2, 2).sample(new float[] {4.0f, 1.9f}, 0, context, 3));
        // -1.0 -> -2.0: loses to -1.9, beats -2.1
        assertEquals(1, new Sampler(penalty2, 2).sample(new float[] {-1.0f, -1.9f}, 0, context, 1));
        assertEquals(0, new Sampler(penalty2, 2).sample(new float[] {-1.0f, -2.1f}, 0, context, 1));
        // a zero logit stays zero; a penalty below 1 rewards repeats (1.0 / 0.5 = 2.0 beats 1.9)
        assertEquals(0, new Sampler(penalty2, 2).sample(new float[] {0f, -0.1f}, 0, new int[] {0}, 1));
        assertEquals(0, new Sampler(GREEDY.withRepetitionPenalty(0.5), 2).sample(new float[] {1.0f, 1.9f}, 0,
                new int[] {0}, 1));
        // only the first contextLength entries count
        assertEquals(0, new Sampler(penalty2, 2).sample(new float[] {4.0f, 2.1f}, 0, new int[] {1, 0}, 1));
        // the caller's logits are not modified
        float[] logits = {4.0f, 2.1f};
        new Sampler(penalty2, 2).sample(logits, 0, new int[] {0, 1}, 2);
        assertArrayEquals(new float[] {4.0f, 2.1f}, logits);
    }

    @Test
    void repetitionPenaltyChangesTheSampledDistributionExactly() {
        // two tokens with logits a and b: P(0) = 1 / (1 + exp(b - a')), a' = a / 1.5
        float[] logits = {1.5f, 0.5f};
        Sampler sampler = new Sampler(GREEDY.withTemperature(1).withRepetitionPenalty(1.5).withSeed(11), 2);
        int zeros = 0;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            zeros += sampler.sample(logits, 0, new int[] {0}, 1) == 0 ? 1 : 0;
        }
        double p0 = 1 / (1 + Math.exp(0.5 - 1.0));
        assertEquals(p0, zeros / (double) n, 5 * Math.sqrt(p0 * (1 - p0) / n));
    }

    @Test
    void sameSeedSameTokensOtherSeedOtherTokens() {
        SamplingParams p = GREEDY.withTemperature(1.2).withTopK(40).withTopP(0.9).withMinP(0.01).withSeed(1234);
        int[] first = run(p);
        assertArrayEquals(first, run(p));
        assertFalse(Arrays.equals(first, run(p.withSeed(1235))));
    }

    private static int[] run(SamplingParams p) {
        Random random = new Random(99);  // the same logits every run
        Sampler sampler = new Sampler(p, 700);
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = sampler.sample(randomLogits(random, 700), 0, tokens, i);
        }
        return tokens;
    }

    @Test
    void nanOrInfiniteLogitsAreAModelBug() {
        Sampler sampler = new Sampler(GREEDY.withTemperature(1), 4);
        IllegalStateException nan = assertThrows(IllegalStateException.class,
                () -> sampler.sample(new float[] {0, 1, Float.NaN, 2}, 0));
        assertEquals("the model produced a NaN logit (NaN) for token id 2: the forward pass is broken", nan.getMessage());
        IllegalStateException inf = assertThrows(IllegalStateException.class,
                () -> new Sampler(GREEDY, 4).sample(new float[] {0, Float.NEGATIVE_INFINITY, 1, 2}, 0));
        assertEquals("the model produced an infinite logit (-Infinity) for token id 1: the forward pass is broken",
                inf.getMessage());
    }

    @Test
    void contextIdsOutsideTheVocabularyAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Sampler(GREEDY.withRepetitionPenalty(1.3), 4).sample(new float[4], 0, new int[] {1, 9}, 2));
        assertEquals("context token id 9 at position 1 is outside the vocabulary [0, 4)", e.getMessage());
    }

    @Test
    void inPlaceSortMatchesArraysSort() {
        Random random = new Random(4);
        for (int size : new int[] {0, 1, 2, 3, 16, 17, 18, 100, 1000, 5000}) {
            for (int bound : new int[] {3, 1000, Integer.MAX_VALUE}) {
                long[] a = new long[size + 4];
                for (int i = 0; i < a.length; i++) {
                    a[i] = bound == Integer.MAX_VALUE ? random.nextLong() : random.nextInt(bound);
                }
                long[] expected = a.clone();
                Arrays.sort(expected, 2, 2 + size);
                Sampler.sort(a, 2, 2 + size);
                assertArrayEquals(expected, a, "size " + size + " bound " + bound);
            }
        }
        long[] descending = new long[3000];
        Arrays.setAll(descending, i -> 3000 - i);
        Sampler.sort(descending, 0, descending.length);
        for (int i = 0; i < descending.length; i++) {
            assertEquals(i + 1, descending[i]);
        }
    }

    /** After the first call (buffers allocated), sampling a 128K vocabulary allocates ~nothing. */
    @Test
    void samplingAllocatesNoVocabularySizedBuffersPerCall() {
        int vocab = 128_256;
        float[] logits = randomLogits(new Random(8), vocab);
        int[] context = new int[64];
        Arrays.setAll(context, i -> i * 97);
        Sampler sampler = new Sampler(GREEDY.withTemperature(0.8).withTopK(100).withTopP(0.95).withMinP(0.02)
                .withRepetitionPenalty(1.1), vocab);
        Sampler full = new Sampler(GREEDY.withTemperature(2).withTopP(0.999), vocab);  // sorts the whole vocabulary
        for (int i = 0; i < 20; i++) {
            sampler.sample(logits, 0, context, context.length);
            full.sample(logits, 0, context, context.length);
        }
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        threads.getCurrentThreadAllocatedBytes();  // the first reading allocates
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 20; i++) {
            sampler.sample(logits, 0, context, context.length);
            full.sample(logits, 0, context, context.length);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 64 * 1024, "40 calls allocated " + allocated + " bytes");
    }
}
