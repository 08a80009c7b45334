package dev.lorakit.merge;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded Euclidean k-means (k-means++ seeding, Lloyd iterations, restarts keeping the lowest
 * inertia) on N points given only by their Gram matrix {@code G[i][m] = <x_i, x_m>}. LoRA-LEGO
 * clusters N (about 128) MSUs of dimension d_in + d_out (up to about 15,000): working on the
 * N x N Gram matrix costs O(N^2) per iteration instead of O(N k D).
 *
 * <p><b>Why this is exactly Euclidean k-means.</b> Every centroid this algorithm ever holds is
 * the mean of a non-empty member set M_j of points (a single point after k-means++ seeding or
 * after an empty cluster is re-seeded, the cluster's members after an update), so
 * <pre>
 *   ||x_i - c_j||^2 = G_ii - (2 / |M_j|) S_ij + Q_j / |M_j|^2,
 *   S_ij = sum_{m in M_j} G_im,   Q_j = sum_{m, m' in M_j} G_mm' = sum_{m in M_j} S_mj,
 * </pre>
 * which expands {@code ||x_i - (1/|M|) sum_m x_m||^2}. The squared shift of centroid j from
 * member set M to M' is {@code Q'_j/|M'|^2 - 2 X_j/(|M'||M|) + Q_j/|M|^2} with
 * {@code X_j = sum_{m in M'} S_mj}, and the inertia of a partition is
 * {@code sum_i G_ii - sum_j Q_j / |C_j|}. So assignments, shifts and the objective are those of
 * k-means on the explicit coordinates, up to float64 rounding (cancellation limits distances
 * to about 1e-16 x max G_ii absolute). The centroids themselves are never formed here: the
 * caller forms them from the labels as means of its own rows.
 *
 * <p><b>The algorithm</b> (deterministic for a seed, whatever thread runs it):
 * <ol>
 * <li>Restart r (r = 0 .. restarts-1) draws from {@code new SplittableRandom(s_r)} where s_r is
 *     the r-th {@code nextLong()} of {@code new SplittableRandom(seed)}.</li>
 * <li>k-means++ (Arthur and Vassilvitskii): the first centre is a uniform point; each next one
 *     is point i with probability D(i)^2 / sum D^2 (D = distance to the nearest chosen centre);
 *     if every D is 0 (fewer distinct points than k) a uniform not-yet-chosen point.</li>
 * <li>Lloyd: assign every point to its nearest centroid (ties: the lowest cluster index); stop
 *     if nothing changed; else every centroid becomes the mean of its points. A cluster left
 *     empty is re-seeded with the point farthest from its assigned centroid (ties: the lowest
 *     point index) that does not leave its own cluster empty. Stop after {@code maxIter}
 *     assignments or when the total squared centroid shift is at most {@code tol} times the
 *     points' mean per-coordinate variance (scikit-learn's "relative" tolerance, which LoRA-LEGO's
 *     public re-implementations inherit).</li>
 * <li>The restart with the lowest inertia wins (ties: the earliest). Clusters are numbered
 *     by size, largest first, then by their lowest member index, so the labels are canonical.</li>
 * </ol>
 * If k >= N every point is its own cluster (label i, inertia 0, no iteration).
 *
 * @param k number of clusters
 * @param seed seed of every random choice
 * @param restarts number of independent k-means++ starts (n_init)
 * @param maxIter assignment steps per restart at most
 * @param tol relative tolerance on the total squared centroid shift (0: run until no label changes)
 */
public record KMeans(int k, long seed, int restarts, int maxIter, double tol) {
    public KMeans {
        if (k < 1 || restarts < 1 || maxIter < 1 || !(tol >= 0) || Double.isInfinite(tol)) {
            throw new IllegalArgumentException("k " + k + ", restarts " + restarts + ", maxIter " + maxIter
                    + ", tol " + tol + ": need k, restarts, maxIter >= 1 and a finite tol >= 0");
        }
    }

    /**
     * A clustering of N points.
     *
     * @param labels the cluster of every point, in 0..k-1 (canonical numbering, see {@link KMeans})
     * @param sizes the number of points in every cluster (non-increasing, all >= 1)
     * @param inertia the sum over points of the squared distance to their cluster's mean
     * @param iterations assignment steps of the winning restart (0 when k >= N)
     * @param restart index of the winning restart
     */
    public record Clustering(int[] labels, int[] sizes, double inertia, int iterations, int restart) {
        /** The number of clusters, min(k, N). */
        public int clusterCount() {
            return sizes.length;
        }
    }

    /**
     * Clusters the {@code n} points whose Gram matrix is {@code gram} ([n, n] row-major,
     * symmetric); {@code dimension} is the points' coordinate count (for the tolerance only).
     */
    public Clustering fit(double[] gram, int n, int dimension) {
        if (n < 1 || dimension < 1 || gram.length < n * n) {
            throw new IllegalArgumentException("n " + n + ", dimension " + dimension + ", gram of " + gram.length
                    + " values: need n, dimension >= 1 and n * n values");
        }
        if (k >= n) {
            int[] labels = new int[n];
            int[] sizes = new int[n];
            for (int i = 0; i < n; i++) {
                labels[i] = i;
                sizes[i] = 1;
            }
            return new Clustering(labels, sizes, 0.0, 0, 0);
        }
        double tolAbs = absoluteTolerance(gram, n, dimension, tol);
        SplittableRandom seeds = new SplittableRandom(seed);
        Run best = null;
        int bestRestart = 0;
        for (int r = 0; r < restarts; r++) {
            SplittableRandom rng = new SplittableRandom(seeds.nextLong());
            Run run = lloyd(gram, n, seedPlusPlus(gram, n, k, rng), maxIter, tolAbs);
            if (best == null || run.inertia < best.inertia) {
                best = run;
                bestRestart = r;
            }
        }
        return canonical(best.labels, k, best.inertia, best.iterations, bestRestart);
    }

    /** One restart's outcome: a partition (labels 0..k-1, every cluster non-empty), its inertia, assignment steps. */
    record Run(int[] labels, double inertia, int iterations) {
    }

    /**
     * {@code tol} times the mean per-coordinate variance of the points:
     * {@code tol * (sum_i G_ii - (1/n) sum_im G_im) / (n * dimension)}.
     */
    static double absoluteTolerance(double[] gram, int n, int dimension, double tol) {
        double trace = 0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            trace += gram[i * n + i];
            for (int m = 0; m < n; m++) {
                total += gram[i * n + m];
            }
        }
        return tol * Math.max(0, trace - total / n) / ((double) n * dimension);
    }

    /** k-means++ seeding: k distinct point indices (see the class comment for the rule). */
    static int[] seedPlusPlus(double[] gram, int n, int k, SplittableRandom rng) {
        int[] centres = new int[k];
        boolean[] chosen = new boolean[n];
        double[] d2 = new double[n]; // squared distance to the nearest chosen centre
        int first = rng.nextInt(n);
        centres[0] = first;
        chosen[first] = true;
        for (int i = 0; i < n; i++) {
            d2[i] = pointDistance(gram, n, i, first);
        }
        for (int c = 1; c < k; c++) {
            double total = 0;
            for (int i = 0; i < n; i++) {
                total += d2[i];
            }
            int pick = -1;
            if (total > 0) {
                double u = rng.nextDouble() * total;
                double cumulative = 0;
                for (int i = 0; i < n; i++) {
                    if (d2[i] > 0) {
                        cumulative += d2[i];
                        pick = i;
                        if (u < cumulative) {
                            break;
                        }
                    }
                }
            } else {
                int skip = rng.nextInt(n - c);
                for (int i = 0; i < n; i++) {
                    if (!chosen[i] && skip-- == 0) {
                        pick = i;
                        break;
                    }
                }
            }
            centres[c] = pick;
            chosen[pick] = true;
            for (int i = 0; i < n; i++) {
                d2[i] = Math.min(d2[i], pointDistance(gram, n, i, pick));
            }
        }
        return centres;
    }

    /** {@code ||x_i - x_p||^2 = G_ii - 2 G_ip + G_pp}, clamped at 0 against rounding. */
    private static double pointDistance(double[] gram, int n, int i, int p) {
        return Math.max(0, gram[i * n + i] - 2 * gram[i * n + p] + gram[p * n + p]);
    }

    /**
     * Lloyd iterations from the given centres (distinct point indices); {@code tolAbs} is the
     * absolute bound on the total squared centroid shift. Returns the final partition.
     */
    static Run lloyd(double[] gram, int n, int[] centres, int maxIter, double tolAbs) {
        int k = centres.length;
        int[] owner = new int[n];
        Arrays.fill(owner, -1);
        for (int j = 0; j < k; j++) {
            owner[centres[j]] = j;
        }
        MemberSums cur = new MemberSums(gram, n, k, owner);
        int[] labels = new int[n];
        double[] nearest = new double[n];
        int iterations = 0;
        while (iterations < maxIter) {
            iterations++;
            for (int i = 0; i < n; i++) {
                int best = 0;
                double bestD = cur.distance(i, 0);
                for (int j = 1; j < k; j++) {
                    double d = cur.distance(i, j);
                    if (d < bestD) {
                        bestD = d;
                        best = j;
                    }
                }
                labels[i] = best;
                nearest[i] = bestD;
            }
            if (Arrays.equals(labels, owner)) {
                break; // nothing moves: the centroids are already the means of these clusters
            }
            int[] next = labels.clone();
            reseedEmpty(next, nearest, k);
            MemberSums upd = new MemberSums(gram, n, k, next);
            double[] cross = new double[k]; // X_j = sum_{m in M'_j} S_mj (S of the old centroids)
            for (int m = 0; m < n; m++) {
                cross[next[m]] += cur.sums[m * k + next[m]];
            }
            double shift = 0;
            for (int j = 0; j < k; j++) {
                double sNew = upd.size[j];
                double sOld = cur.size[j];
                shift += Math.max(0, upd.pairSum[j] / (sNew * sNew) - 2 * cross[j] / (sNew * sOld)
                        + cur.pairSum[j] / (sOld * sOld));
            }
            owner = next;
            cur = upd;
            if (shift <= tolAbs) {
                break;
            }
        }
        double inertia = 0;
        for (int i = 0; i < n; i++) {
            inertia += gram[i * n + i];
        }
        for (int j = 0; j < k; j++) {
            inertia -= cur.pairSum[j] / cur.size[j];
        }
        return new Run(owner, Math.max(0, inertia), iterations);
    }

    /**
     * Gives every empty cluster (ascending) the point farthest from its assigned centroid
     * ({@code nearest}, ties: lowest index) whose own cluster keeps at least one point.
     */
    static void reseedEmpty(int[] labels, double[] nearest, int k) {
        int[] size = new int[k];
        for (int l : labels) {
            size[l]++;
        }
        Integer[] order = null;
        int cursor = 0;
        for (int j = 0; j < k; j++) {
            if (size[j] > 0) {
                continue;
            }
            if (order == null) {
                order = new Integer[labels.length];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                Arrays.sort(order, (x, y) -> Double.compare(nearest[y], nearest[x])); // stable: ties keep index order
            }
            while (size[labels[order[cursor]]] < 2) {
                cursor++; // n > k guarantees a cluster with two points remains
            }
            int p = order[cursor++];
            size[labels[p]]--;
            labels[p] = j;
            size[j] = 1;
        }
    }

    /** Renumbers clusters by size (largest first), then by lowest member index. */
    static Clustering canonical(int[] labels, int k, double inertia, int iterations, int restart) {
        int[] size = new int[k];
        int[] firstMember = new int[k];
        Arrays.fill(firstMember, Integer.MAX_VALUE);
        for (int i = 0; i < labels.length; i++) {
            size[labels[i]]++;
            firstMember[labels[i]] = Math.min(firstMember[labels[i]], i);
        }
        Integer[] order = new Integer[k];
        for (int j = 0; j < k; j++) {
            order[j] = j;
        }
        Arrays.sort(order, (x, y) -> size[x] != size[y] ? Integer.compare(size[y], size[x])
                : Integer.compare(firstMember[x], firstMember[y]));
        int[] newLabel = new int[k];
        int[] sizes = new int[k];
        for (int j = 0; j < k; j++) {
            newLabel[order[j]] = j;
            sizes[j] = size[order[j]];
        }
        int[] out = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            out[i] = newLabel[labels[i]];
        }
        return new Clustering(out, sizes, inertia, iterations, restart);
    }

    /**
     * For member sets given by {@code owner} (-1: no centroid's member): sizes, S_ij and Q_j.
     * Sums run over members in ascending point order.
     */
    private static final class MemberSums {
        final int k;
        final int[] size;           // |M_j| [k]
        final double[] sums;        // S [n, k]
        final double[] pairSum;     // Q [k]
        final double[] gramDiagonal; // G_ii [n]

        MemberSums(double[] gram, int n, int k, int[] owner) {
            this.k = k;
            size = new int[k];
            for (int o : owner) {
                if (o >= 0) {
                    size[o]++;
                }
            }
            sums = new double[n * k];
            for (int i = 0; i < n; i++) {
                int row = i * n;
                int out = i * k;
                for (int m = 0; m < n; m++) {
                    if (owner[m] >= 0) {
                        sums[out + owner[m]] += gram[row + m];
                    }
                }
            }
            pairSum = new double[k];
            for (int m = 0; m < n; m++) {
                if (owner[m] >= 0) {
                    pairSum[owner[m]] += sums[m * k + owner[m]];
                }
            }
            gramDiagonal = new double[n];
            for (int i = 0; i < n; i++) {
                gramDiagonal[i] = gram[i * n + i];
            }
        }

        /** {@code ||x_i - c_j||^2 = G_ii - 2 S_ij / |M_j| + Q_j / |M_j|^2}. */
        double distance(int i, int j) {
            double s = size[j];
            return gramDiagonal[i] - 2 * sums[i * k + j] / s + pairSum[j] / (s * s);
        }
    }
}
