package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link KMeans} (Gram space) against a brute-force k-means on explicit coordinates that
 * follows the same documented algorithm and the same random path: the same k-means++ centres,
 * assignment steps and labels per restart, the same winning clustering and inertia.
 */
class KMeansTest {

    /** Random points [n, dim]: a few Gaussian blobs, so Lloyd takes several steps. */
    static double[][] blobs(Random rng, int n, int dim, int blobs) {
        double[][] centres = new double[blobs][dim];
        for (double[] c : centres) {
            for (int d = 0; d < dim; d++) {
                c[d] = 3 * rng.nextGaussian();
            }
        }
        double[][] x = new double[n][dim];
        for (int i = 0; i < n; i++) {
            double[] c = centres[rng.nextInt(blobs)];
            for (int d = 0; d < dim; d++) {
                x[i][d] = c[d] + rng.nextGaussian();
            }
        }
        return x;
    }

    /** G = X X^T, [n, n] row-major, plain loops. */
    static double[] gram(double[][] x) {
        int n = x.length;
        double[] g = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int d = 0; d < x[i].length; d++) {
                    s += x[i][d] * x[j][d];
                }
                g[i * n + j] = s;
            }
        }
        return g;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
    void gramSpaceEqualsExplicitCoordinatesRestartByRestart(long seed) {
        Random rng = new Random(seed);
        int n = 8 + rng.nextInt(40);
        int dim = 1 + rng.nextInt(12);
        int k = 2 + rng.nextInt(Math.min(8, n - 2));
        double tol = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 1e-4 : 0.5; // 0.5: some runs stop on the shift tolerance
        int maxIter = seed % 4 == 0 ? 3 : 300; // some runs stop at max_iter
        double[][] x = blobs(rng, n, dim, 1 + rng.nextInt(5));
        double[] g = gram(x);

        double tolAbs = KMeans.absoluteTolerance(g, n, dim, tol);
        double tolExplicit = Explicit.absoluteTolerance(x, tol);
        assertEquals(tolExplicit, tolAbs, 1e-9 * tolExplicit);
        SplittableRandom seeds = new SplittableRandom(seed * 31);
        SplittableRandom seedsExplicit = new SplittableRandom(seed * 31);
        for (int r = 0; r < 5; r++) {
            long s = seeds.nextLong();
            assertEquals(s, seedsExplicit.nextLong());
            int[] centres = KMeans.seedPlusPlus(g, n, k, new SplittableRandom(s));
            int[] centresExplicit = Explicit.seedPlusPlus(x, k, new SplittableRandom(s));
            assertArrayEquals(centresExplicit, centres, "k-means++ centres, restart " + r);
            KMeans.Run run = KMeans.lloyd(g, n, centres, maxIter, tolAbs);
            Explicit.Run ex = Explicit.lloyd(x, centres, maxIter, Explicit.absoluteTolerance(x, tol));
            assertArrayEquals(ex.labels(), run.labels(), "labels, restart " + r);
            assertEquals(ex.iterations(), run.iterations(), "iterations, restart " + r);
            assertEquals(ex.inertia(), run.inertia(), 1e-9 * ex.inertia(), "inertia, restart " + r);
        }

        KMeans.Clustering fit = new KMeans(k, seed, 10, maxIter, tol).fit(g, n, dim);
        Explicit.Result ex = Explicit.fit(x, k, seed, 10, maxIter, tol);
        assertArrayEquals(ex.labels(), fit.labels());
        assertArrayEquals(ex.sizes(), fit.sizes());
        assertEquals(ex.inertia(), fit.inertia(), 1e-9 * ex.inertia());
        assertEquals(ex.inertia(), Explicit.inertia(x, fit.labels(), k), 1e-9 * ex.inertia());
    }

    @Test
    void sameSeedSameResultAndRestartsOnlyImprove() {
        double[][] x = blobs(new Random(42), 60, 5, 4);
        double[] g = gram(x);
        KMeans.Clustering a = new KMeans(6, 7, 10, 300, 1e-4).fit(g, 60, 5);
        KMeans.Clustering b = new KMeans(6, 7, 10, 300, 1e-4).fit(g, 60, 5);
        assertArrayEquals(a.labels(), b.labels());
        assertArrayEquals(a.sizes(), b.sizes());
        assertEquals(a.inertia(), b.inertia(), 0.0);
        assertEquals(a.iterations(), b.iterations());
        assertEquals(a.restart(), b.restart());
        // more restarts (the first ten of which are the same) never reach a higher inertia
        KMeans.Clustering more = new KMeans(6, 7, 30, 300, 1e-4).fit(g, 60, 5);
        assertTrue(more.inertia() <= a.inertia());
        // the single-restart fit is restart 0 of the ten
        KMeans.Clustering one = new KMeans(6, 7, 1, 300, 1e-4).fit(g, 60, 5);
        assertTrue(a.inertia() <= one.inertia());
        assertEquals(0, one.restart());
    }

    @Test
    void labelsAreCanonicalSizeThenFirstMember() {
        double[][] x = blobs(new Random(5), 50, 3, 5);
        KMeans.Clustering c = new KMeans(5, 1, 5, 300, 1e-4).fit(gram(x), 50, 3);
        int[] first = new int[5];
        Arrays.fill(first, -1);
        int[] count = new int[5];
        for (int i = 0; i < 50; i++) {
            count[c.labels()[i]]++;
            if (first[c.labels()[i]] < 0) {
                first[c.labels()[i]] = i;
            }
        }
        assertArrayEquals(count, c.sizes());
        for (int j = 1; j < 5; j++) {
            assertTrue(c.sizes()[j - 1] > c.sizes()[j]
                    || (c.sizes()[j - 1] == c.sizes()[j] && first[j - 1] < first[j]), "cluster order at " + j);
        }
        // canonical() on a hand-made labelling: clusters 2 = {0, 4}, 0 = {1, 3}, 1 = {2} become 0, 1, 2
        KMeans.Clustering h = KMeans.canonical(new int[] {2, 0, 1, 0, 2}, 3, 0, 0, 0);
        assertArrayEquals(new int[] {0, 1, 2, 1, 0}, h.labels());
        assertArrayEquals(new int[] {2, 2, 1}, h.sizes());
    }

    @Test
    void kAtLeastNMakesEveryPointItsOwnCluster() {
        double[][] x = blobs(new Random(9), 6, 4, 2);
        for (int k : new int[] {6, 7, 100}) {
            KMeans.Clustering c = new KMeans(k, 3, 10, 300, 1e-4).fit(gram(x), 6, 4);
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, c.labels());
            assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1}, c.sizes());
            assertEquals(0.0, c.inertia());
            assertEquals(0, c.iterations());
        }
    }

    /**
     * 1-D points 0, 0, 5, 6, 20 with k = 2 seeded at the two coincident points 0 and 1: every
     * point ties to or is nearer cluster 0, cluster 1 is empty and gets the farthest point (20).
     * Then clusters {0, 0, 5, 6} (mean 2.75) and {20} are stable: inertia 2 * 2.75^2 + 2.25^2 + 3.25^2.
     */
    @Test
    void emptyClusterIsReseededWithTheFarthestPoint() {
        double[][] x = {{0}, {0}, {5}, {6}, {20}};
        KMeans.Run run = KMeans.lloyd(gram(x), 5, new int[] {0, 1}, 300, 0);
        assertArrayEquals(new int[] {0, 0, 0, 0, 1}, run.labels());
        assertEquals(2 * 2.75 * 2.75 + 2.25 * 2.25 + 3.25 * 3.25, run.inertia(), 1e-12);
        assertEquals(2, run.iterations()); // one update, then nothing moves
        Explicit.Run ex = Explicit.lloyd(x, new int[] {0, 1}, 300, 0);
        assertArrayEquals(ex.labels(), run.labels());
    }

    /** The farthest point is skipped when taking it would empty its own (singleton) cluster. */
    @Test
    void reseedingNeverEmptiesAnotherCluster() {
        int[] labels = {0, 0, 1, 0};
        double[] nearest = {1, 2, 9, 3}; // point 2 is farthest but alone in cluster 1
        KMeans.reseedEmpty(labels, nearest, 3);
        assertArrayEquals(new int[] {0, 0, 1, 2}, labels);
        int[] two = {0, 0, 0, 0, 1};
        KMeans.reseedEmpty(two, new double[] {4, 4, 1, 4, 8}, 4); // ties: lowest index first
        assertArrayEquals(new int[] {2, 3, 0, 0, 1}, two);
    }

    /** Fewer distinct points than k: k-means++ falls back to uniform picks, every cluster stays non-empty. */
    @Test
    void duplicatePointsStillGiveKNonEmptyClusters() {
        double[][] x = {{1, 0}, {1, 0}, {0, 3}, {0, 3}, {-2, -2}, {-2, -2}};
        for (long seed = 0; seed < 20; seed++) {
            KMeans.Clustering c = new KMeans(4, seed, 3, 300, 1e-4).fit(gram(x), 6, 2);
            assertEquals(4, c.clusterCount());
            assertEquals(6, Arrays.stream(c.sizes()).sum());
            assertTrue(Arrays.stream(c.sizes()).allMatch(s -> s >= 1));
            assertEquals(0.0, c.inertia(), 1e-12, "seed " + seed);
            Explicit.Result ex = Explicit.fit(x, 4, seed, 3, 300, 1e-4);
            assertArrayEquals(ex.labels(), c.labels(), "seed " + seed);
        }
    }

    /** Scaling every point by 4 (exact in binary) scales G by 16: same labels, inertia x 16 exactly. */
    @Test
    void scalingThePointsKeepsTheLabels() {
        double[][] x = blobs(new Random(17), 40, 6, 3);
        double[] g = gram(x);
        double[] g16 = Arrays.stream(g).map(v -> 16 * v).toArray();
        KMeans.Clustering a = new KMeans(4, 2, 10, 300, 1e-4).fit(g, 40, 6);
        KMeans.Clustering b = new KMeans(4, 2, 10, 300, 1e-4).fit(g16, 40, 6);
        assertArrayEquals(a.labels(), b.labels());
        assertEquals(16 * a.inertia(), b.inertia(), 0.0);
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new KMeans(0, 0, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new KMeans(2, 0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new KMeans(2, 0, 1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new KMeans(2, 0, 1, 1, -1));
        assertThrows(IllegalArgumentException.class, () -> new KMeans(2, 0, 1, 1, 1e-4).fit(new double[3], 2, 1));
    }

    /**
     * Brute-force k-means on explicit coordinates, written from the algorithm as documented in
     * {@link KMeans} (centroids are explicit mean vectors, distances explicit sums of squares).
     */
    static final class Explicit {
        record Run(int[] labels, double inertia, int iterations) {
        }

        record Result(int[] labels, int[] sizes, double inertia) {
        }

        static double distance(double[] x, double[] c) {
            double s = 0;
            for (int d = 0; d < x.length; d++) {
                double t = x[d] - c[d];
                s += t * t;
            }
            return s;
        }

        static double absoluteTolerance(double[][] x, double tol) {
            int n = x.length;
            int dim = x[0].length;
            double varSum = 0;
            for (int d = 0; d < dim; d++) {
                double mean = 0;
                for (double[] p : x) {
                    mean += p[d];
                }
                mean /= n;
                double v = 0;
                for (double[] p : x) {
                    v += (p[d] - mean) * (p[d] - mean);
                }
                varSum += v / n;
            }
            return tol * varSum / dim;
        }

        static int[] seedPlusPlus(double[][] x, int k, SplittableRandom rng) {
            int n = x.length;
            int[] centres = new int[k];
            boolean[] chosen = new boolean[n];
            double[] d2 = new double[n];
            centres[0] = rng.nextInt(n);
            chosen[centres[0]] = true;
            for (int i = 0; i < n; i++) {
                d2[i] = distance(x[i], x[centres[0]]);
            }
            for (int c = 1; c < k; c++) {
                double total = 0;
                for (double v : d2) {
                    total += v;
                }
                int pick = -1;
                if (total > 0) {
                    double u = rng.nextDouble() * total;
                    double cum = 0;
                    for (int i = 0; i < n; i++) {
                        if (d2[i] > 0) {
                            cum += d2[i];
                            pick = i;
                            if (u < cum) {
                                break;
                            }
                        }
                    }
                } else {
                    int skip = rng.nextInt(n - c);
                    for (int i = 0; i < n && pick < 0; i++) {
                        if (!chosen[i]) {
                            if (skip == 0) {
                                pick = i;
                            }
                            skip--;
                        }
                    }
                }
                centres[c] = pick;
                chosen[pick] = true;
                for (int i = 0; i < n; i++) {
                    d2[i] = Math.min(d2[i], distance(x[i], x[pick]));
                }
            }
            return centres;
        }

        static double[][] means(double[][] x, int[] owner, int k) {
            double[][] c = new double[k][x[0].length];
            int[] count = new int[k];
            for (int i = 0; i < x.length; i++) {
                if (owner[i] >= 0) {
                    count[owner[i]]++;
                    for (int d = 0; d < x[i].length; d++) {
                        c[owner[i]][d] += x[i][d];
                    }
                }
            }
            for (int j = 0; j < k; j++) {
                for (int d = 0; d < c[j].length; d++) {
                    c[j][d] /= count[j];
                }
            }
            return c;
        }

        static Run lloyd(double[][] x, int[] centres, int maxIter, double tolAbs) {
            int n = x.length;
            int k = centres.length;
            int[] owner = new int[n];
            Arrays.fill(owner, -1);
            for (int j = 0; j < k; j++) {
                owner[centres[j]] = j;
            }
            double[][] c = means(x, owner, k);
            int it = 0;
            while (it < maxIter) {
                it++;
                int[] labels = new int[n];
                double[] nearest = new double[n];
                for (int i = 0; i < n; i++) {
                    nearest[i] = Double.POSITIVE_INFINITY;
                    for (int j = 0; j < k; j++) {
                        double d = distance(x[i], c[j]);
                        if (d < nearest[i]) {
                            nearest[i] = d;
                            labels[i] = j;
                        }
                    }
                }
                if (Arrays.equals(labels, owner)) {
                    break;
                }
                // empty clusters: farthest point whose own cluster keeps a point
                int[] size = new int[k];
                for (int l : labels) {
                    size[l]++;
                }
                boolean[] taken = new boolean[n];
                for (int j = 0; j < k; j++) {
                    if (size[j] == 0) {
                        int best = -1;
                        for (int i = 0; i < n; i++) {
                            if (!taken[i] && size[labels[i]] >= 2 && (best < 0 || nearest[i] > nearest[best])) {
                                best = i;
                            }
                        }
                        taken[best] = true;
                        size[labels[best]]--;
                        labels[best] = j;
                        size[j] = 1;
                    }
                }
                double[][] next = means(x, labels, k);
                double shift = 0;
                for (int j = 0; j < k; j++) {
                    shift += distance(next[j], c[j]);
                }
                owner = labels;
                c = next;
                if (shift <= tolAbs) {
                    break;
                }
            }
            return new Run(owner, inertia(x, owner, k), it);
        }

        static double inertia(double[][] x, int[] labels, int k) {
            double[][] c = means(x, labels, k);
            double s = 0;
            for (int i = 0; i < x.length; i++) {
                s += distance(x[i], c[labels[i]]);
            }
            return s;
        }

        static Result fit(double[][] x, int k, long seed, int restarts, int maxIter, double tol) {
            double tolAbs = absoluteTolerance(x, tol);
            SplittableRandom seeds = new SplittableRandom(seed);
            Run best = null;
            for (int r = 0; r < restarts; r++) {
                SplittableRandom rng = new SplittableRandom(seeds.nextLong());
                Run run = lloyd(x, seedPlusPlus(x, k, rng), maxIter, tolAbs);
                if (best == null || run.inertia() < best.inertia()) {
                    best = run;
                }
            }
            // canonical numbering: by size, largest first, then by first member
            int[] size = new int[k];
            int[] first = new int[k];
            Arrays.fill(first, Integer.MAX_VALUE);
            for (int i = 0; i < x.length; i++) {
                size[best.labels()[i]]++;
                first[best.labels()[i]] = Math.min(first[best.labels()[i]], i);
            }
            int[] rankOf = new int[k];
            for (int j = 0; j < k; j++) {
                for (int o = 0; o < k; o++) {
                    if (size[o] > size[j] || (size[o] == size[j] && first[o] < first[j])) {
                        rankOf[j]++;
                    }
                }
            }
            int[] labels = new int[x.length];
            int[] sizes = new int[k];
            for (int i = 0; i < x.length; i++) {
                labels[i] = rankOf[best.labels()[i]];
            }
            for (int j = 0; j < k; j++) {
                sizes[rankOf[j]] = size[j];
            }
            return new Result(labels, sizes, best.inertia());
        }
    }
}
