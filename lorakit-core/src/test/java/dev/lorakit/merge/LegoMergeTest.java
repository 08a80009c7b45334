package dev.lorakit.merge;

import static dev.lorakit.merge.LegoFixtures.assertDenseClose;
import static dev.lorakit.merge.LegoFixtures.doubles;
import static dev.lorakit.merge.LegoFixtures.ints;
import static dev.lorakit.merge.LegoFixtures.module;
import static dev.lorakit.merge.LegoFixtures.referenceDense;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.merge.MergeOptions.Norm;
import dev.lorakit.merge.MergeOptions.OutputFactor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** LoRA-LEGO's identities (specs/lora-lego.md, "Consequences that are tests") and its figures. */
class LegoMergeTest {
    private static final MergeOptions DEFAULTS = MergeOptions.defaults();

    private static ObjectNode figures() {
        return JsonNodeFactory.instance.objectNode();
    }

    private static MergeOptions noReweighting(MergeOptions o) {
        return o.withReweighting(false, Norm.INF, false, OutputFactor.SQRT_R_OVER_K);
    }

    /** Mixed ranks, plain / rsLoRA / odd alphas, a negative weight; dims across the Gram kernel's 512-column chunks. */
    private static ModuleFactors mixedModule(long seed, int dIn, int dOut) {
        return module(seed, dIn, dOut, new int[] {3, 5, 4}, new double[] {1, 0.5, -2},
                new double[] {8.0 / 3, 16 / Math.sqrt(5), 1.0});
    }

    // ---- k = N, reweighting off: exact concatenation --------------------------------------

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void kEqualsNWithoutReweightingIsExactConcatenation(boolean preprocessing) {
        for (int[] dims : new int[][] {{37, 23}, {1100, 530}}) {
            ModuleFactors m = mixedModule(11, dims[0], dims[1]);
            MergeOptions o = noReweighting(DEFAULTS).withRank(m.totalRank())
                    .withPreprocessing(preprocessing, preprocessing);
            ObjectNode f = figures();
            LowRankUpdate u = new LegoMerge(o).merge(m, f);
            assertEquals(12, u.rank());
            assertDenseClose(m.denseSum(), u.dense(), 1e-10, "concatenation " + Arrays.toString(dims));
            assertEquals(0.0, f.get("inertia").asDouble());
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, ints(f.get("labels")));
        }
    }

    // ---- n = 1 ----------------------------------------------------------------------------

    /** alpha, r, rsLoRA, user weight: plain, rsLoRA, unequal alpha (as rank_pattern/alpha_pattern give). */
    static Stream<Arguments> singleInputs() {
        return Stream.of(Arguments.of(16.0, 8, false, 1.0), Arguments.of(16.0, 8, true, 1.0),
                Arguments.of(5.0, 4, false, 1.0), Arguments.of(3.0, 6, true, 1.0), Arguments.of(32.0, 16, false, 0.7));
    }

    @ParameterizedTest
    @MethodSource("singleInputs")
    void oneInputAtItsOwnRankComesBack(double alpha, int r, boolean rslora, double weight) {
        double scaling = rslora ? alpha / Math.sqrt(r) : alpha / r;
        ModuleFactors m = module(r, 40, 56, new int[] {r}, new double[] {weight}, new double[] {scaling});
        ObjectNode f = figures();
        LowRankUpdate u = new LegoMerge(DEFAULTS).merge(m, f); // default k = r, reweighting on
        assertEquals(r, u.rank());
        assertDenseClose(m.denseSum(), u.dense(), 1e-12, "one input back");
        assertEquals(r, f.get("k").asInt());
        assertEquals(1.0, f.get("rho").asDouble());
        assertTrue(Arrays.stream(doubles(f.get("gamma"))).allMatch(g -> g == 1.0));
        assertEquals(scaling, f.get("s_ref").asDouble());
    }

    @Test
    void oneInputBelowItsRankIsRankPruning() {
        ModuleFactors m = module(3, 48, 40, new int[] {8}, new double[] {1}, new double[] {2.0});
        for (int k : new int[] {1, 3, 5}) {
            ObjectNode f = figures();
            LowRankUpdate u = new LegoMerge(DEFAULTS.withRank(k)).merge(m, f);
            assertEquals(k, u.rank());
            assertEquals(48, u.dIn());
            assertEquals(40, u.dOut());
            assertEquals(k, f.get("cluster_sizes").size());
            assertEquals(8, Arrays.stream(ints(f.get("cluster_sizes"))).sum());
            assertEquals(Math.sqrt(8.0 / k), f.get("rho").asDouble(), 1e-15);
            assertDenseClose(referenceDense(m, ints(f.get("labels")), k, DEFAULTS), u.dense(), 1e-12, "pruned k=" + k);
            double error = ReconstructionError.relative(m, u);
            assertTrue(Double.isFinite(error) && error > 0.01, "pruning error " + error);
        }
    }

    // ---- mixed inputs against the dense reference -----------------------------------------

    static Stream<MergeOptions> optionVariants() {
        return Stream.of(DEFAULTS,
                DEFAULTS.withReweighting(true, Norm.L2, true, OutputFactor.SQRT_N_OVER_K),
                DEFAULTS.withReweighting(false, Norm.INF, true, OutputFactor.SQRT_R_OVER_K),
                DEFAULTS.withReweighting(true, Norm.INF, false, OutputFactor.SQRT_R_OVER_K),
                DEFAULTS.withSeed(99).withKMeans(3, 50, 0));
    }

    @ParameterizedTest
    @MethodSource("optionVariants")
    void mixedRanksAlphasAndWeightsMatchTheDenseReference(MergeOptions o) {
        ModuleFactors m = module(21, 33, 29, new int[] {4, 8, 6}, new double[] {1, 0.5, 1.5},
                new double[] {2.0, 16 / Math.sqrt(8), 0.75});
        ObjectNode f = figures();
        LowRankUpdate u = new LegoMerge(o).merge(m, f);
        int k = 6; // mean rank 18 / 3
        assertEquals(k, u.rank());
        assertEquals(k, f.get("k").asInt());
        int[] labels = ints(f.get("labels"));
        assertEquals(18, labels.length);
        int[] sizes = ints(f.get("cluster_sizes"));
        assertEquals(18, Arrays.stream(sizes).sum());
        for (int j = 0; j < k; j++) {
            final int c = j;
            assertEquals(sizes[j], Arrays.stream(labels).filter(l -> l == c).count());
        }
        assertDenseClose(referenceDense(m, labels, k, o), u.dense(), 1e-12, "lego vs dense reference");
        assertEquals(2.0, f.get("s_ref").asDouble());
        assertEquals(o.nInit(), f.get("n_init").asInt());
        assertTrue(f.get("iterations").asInt() >= 1);
        // the reported inertia is that of the labels in the folded pool
        MsuPool pool = MsuPool.fold(m, 2.0);
        assertEquals(explicitInertia(pool, labels, k), f.get("inertia").asDouble(), 1e-9 * f.get("inertia").asDouble());
    }

    static double explicitInertia(MsuPool pool, int[] labels, int k) {
        int d = pool.dimension();
        double[][] mu = new double[k][d];
        int[] size = new int[k];
        for (int i = 0; i < labels.length; i++) {
            double[] v = pool.vector(i);
            size[labels[i]]++;
            for (int c = 0; c < d; c++) {
                mu[labels[i]][c] += v[c];
            }
        }
        double s = 0;
        for (int i = 0; i < labels.length; i++) {
            double[] v = pool.vector(i);
            for (int c = 0; c < d; c++) {
                double t = v[c] - mu[labels[i]][c] / size[labels[i]];
                s += t * t;
            }
        }
        return s;
    }

    // ---- scale: every MSU times c -> dW times c^2 --------------------------------------------

    static Stream<MergeOptions> scaleVariants() {
        return Stream.of(DEFAULTS, DEFAULTS.withReweighting(true, Norm.L2, true, OutputFactor.SQRT_N_OVER_K),
                DEFAULTS.withPreprocessing(true, true));
    }

    @ParameterizedTest
    @MethodSource("scaleVariants")
    void scalingEveryMsuByCScalesDwByCSquared(MergeOptions o) {
        ModuleFactors m = module(5, 30, 26, new int[] {4, 6, 5}, new double[] {1, 2, 0.5}, new double[] {2, 1, 4});
        ObjectNode f = figures();
        LowRankUpdate u = new LegoMerge(o).merge(m, f);
        double[] base = u.dense();

        // c = 4 is a power of two: every product and sum scales exactly, so the result does too
        double[] four = new double[m.totalRank()];
        Arrays.fill(four, 4);
        ObjectNode f4 = figures();
        LowRankUpdate u4 = new LegoMerge(o).merge(LegoFixtures.rescaleRows(m, four, four), f4);
        assertArrayEquals(ints(f.get("labels")), ints(f4.get("labels")));
        assertArrayEquals(doubles(f.get("gamma")), doubles(f4.get("gamma")), 0.0);
        assertEquals(f.get("rho").asDouble(), f4.get("rho").asDouble(), 0.0);
        assertArrayEquals(Arrays.stream(u.a()).map(x -> 4 * x).toArray(), u4.a(), 0.0);
        assertArrayEquals(Arrays.stream(u.bt()).map(x -> 4 * x).toArray(), u4.bt(), 0.0);
        assertEquals(16 * f.get("inertia").asDouble(), f4.get("inertia").asDouble(), 0.0);

        // c = 3: the same up to rounding
        double[] three = new double[m.totalRank()];
        Arrays.fill(three, 3);
        ObjectNode f3 = figures();
        LowRankUpdate u3 = new LegoMerge(o).merge(LegoFixtures.rescaleRows(m, three, three), f3);
        assertArrayEquals(ints(f.get("labels")), ints(f3.get("labels")));
        assertArrayEquals(doubles(f.get("gamma")), doubles(f3.get("gamma")), 1e-12);
        assertDenseClose(Arrays.stream(base).map(x -> 9 * x).toArray(), u3.dense(), 1e-12, "c = 3");
    }

    // ---- rank permutation ---------------------------------------------------------------------

    /**
     * Permuting the ranks inside each input only renames the pool's points. k-means started from
     * different points can stop in different local minima, so the test gives both runs 300
     * restarts on 15 points: each then reaches the global minimum of the objective, which the
     * permutation does not change (same inertia, same partition, hence the same dW).
     */
    @Test
    void permutingRanksInsideAnInputKeepsTheObjectiveReached() {
        ModuleFactors m = module(8, 7, 6, new int[] {5, 5, 5}, new double[] {1, 1, 1}, new double[] {2, 2, 2});
        MergeOptions o = DEFAULTS.withKMeans(300, 300, 1e-4);
        ObjectNode f = figures();
        LowRankUpdate u = new LegoMerge(o).merge(m, f);

        Random rng = new Random(4);
        List<ScaledFactors> permuted = new java.util.ArrayList<>();
        for (ScaledFactors t : m.terms()) {
            int[] perm = shuffled(rng, t.rank());
            double[] a = new double[t.a().length];
            double[] bt = new double[t.bt().length];
            for (int i = 0; i < t.rank(); i++) {
                System.arraycopy(t.a(), perm[i] * t.dIn(), a, i * t.dIn(), t.dIn());
                System.arraycopy(t.bt(), perm[i] * t.dOut(), bt, i * t.dOut(), t.dOut());
            }
            permuted.add(new ScaledFactors(t.input(), t.weight(), t.scaling(), t.rank(), t.dIn(), t.dOut(), a, bt));
        }
        ModuleFactors mp = new ModuleFactors("m", m.dIn(), m.dOut(), permuted);
        assertDenseClose(m.denseSum(), mp.denseSum(), 1e-14, "permutation invariance of B A");
        ObjectNode fp = figures();
        LowRankUpdate up = new LegoMerge(o).merge(mp, fp);
        double inertia = f.get("inertia").asDouble();
        assertEquals(inertia, fp.get("inertia").asDouble(), 1e-9 * inertia);
        assertArrayEquals(ints(f.get("cluster_sizes")), ints(fp.get("cluster_sizes")));
        assertDenseClose(u.dense(), up.dense(), 1e-9, "same partition, same dW");
    }

    private static int[] shuffled(Random rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    // ---- gamma and rho by hand ------------------------------------------------------------------

    /**
     * One input, r = 4, scaling 1, dIn 2, dOut 1, k = 2. MSUs [a ; b]: m1 = [1, 0 ; 2],
     * m2 = [3, 0 ; 2], m3 = [-10, 1 ; 1], m4 = [-10, -1 ; 3]. Clusters {m1, m2} (mean [2, 0 ; 2])
     * and {m3, m4} (mean [-10, 0 ; 2]); rho = sqrt(4 / 2).
     * inf: the members' max |entry| are 2, 3 and 10, 10, the means' 2 and 10, so
     * gamma = 2.5 / 2 = 1.25 and 10 / 10 = 1.
     * L2: gamma = (sqrt 5 + sqrt 13) / 2 / sqrt 8 and (sqrt 102 + sqrt 110) / 2 / sqrt 104.
     * dW = rho [gamma1^2 (2 * [2, 0]) + gamma2^2 (2 * [-10, 0])].
     */
    @ParameterizedTest
    @ValueSource(strings = {"INF", "L2"})
    void gammaByHandOnTwoClusters(String normName) {
        Norm norm = Norm.valueOf(normName);
        double[] a = {1, 0, 3, 0, -10, 1, -10, -1};
        double[] bt = {2, 2, 1, 3};
        ModuleFactors m = new ModuleFactors("m", 2, 1, List.of(new ScaledFactors(0, 1, 1, 4, 2, 1, a, bt)));
        MergeOptions o = DEFAULTS.withRank(2).withReweighting(true, norm, true, OutputFactor.SQRT_R_OVER_K);
        ObjectNode f = figures();
        LowRankUpdate u = new LegoMerge(o).merge(m, f);
        assertArrayEquals(new int[] {0, 0, 1, 1}, ints(f.get("labels")));
        double g1 = norm == Norm.INF ? 1.25 : (Math.sqrt(5) + Math.sqrt(13)) / 2 / Math.sqrt(8);
        double g2 = norm == Norm.INF ? 1.0 : (Math.sqrt(102) + Math.sqrt(110)) / 2 / Math.sqrt(104);
        assertArrayEquals(new double[] {g1, g2}, doubles(f.get("gamma")), 1e-15);
        double rho = Math.sqrt(2);
        assertEquals(rho, f.get("rho").asDouble(), 1e-15);
        double[] expected = {rho * (g1 * g1 * 4 - g2 * g2 * 20), 0};
        assertArrayEquals(expected, u.dense(), 1e-13);
        // inertia: |m1 - mu1|^2 + |m2 - mu1|^2 + |m3 - mu2|^2 + |m4 - mu2|^2 = 1 + 1 + 2 + 2
        assertEquals(6.0, f.get("inertia").asDouble(), 1e-12);
    }

    @Test
    void rhoForBothFactorsAndOff() {
        ModuleFactors m = module(6, 20, 18, new int[] {4, 6}, new double[] {1, 1}, new double[] {2, 0.5});
        MergeOptions base = DEFAULTS.withRank(3);
        ObjectNode off = figures();
        double[] dOff = new LegoMerge(base.withReweighting(true, Norm.INF, false, OutputFactor.SQRT_R_OVER_K))
                .merge(m, off).dense();
        assertEquals(1.0, off.get("rho").asDouble());
        for (OutputFactor factor : OutputFactor.values()) {
            ObjectNode f = figures();
            double[] d = new LegoMerge(base.withReweighting(true, Norm.INF, true, factor)).merge(m, f).dense();
            double rho = factor == OutputFactor.SQRT_R_OVER_K ? Math.sqrt(5.0 / 3) : Math.sqrt(10.0 / 3);
            assertEquals(rho, f.get("rho").asDouble(), 1e-15, factor.name());
            assertArrayEquals(ints(off.get("labels")), ints(f.get("labels")));
            assertDenseClose(Arrays.stream(dOff).map(x -> rho * x).toArray(), d, 1e-14, factor.name());
        }
    }

    // ---- k ----------------------------------------------------------------------------------------

    @Test
    void defaultKIsTheMeanInputRankRoundedAndCappedAtN() {
        LegoMerge lego = new LegoMerge(DEFAULTS);
        assertEquals(5, lego.outputRank(planModule(4, 5)));    // 4.5 rounds up
        assertEquals(4, lego.outputRank(planModule(3, 4, 4))); // 3.67
        assertEquals(3, lego.outputRank(planModule(2, 3, 4, 3))); // 3.0
        assertEquals(16, lego.outputRank(planModule(16)));
        assertEquals(1, lego.outputRank(planModule(1, 1)));
        LegoMerge seven = new LegoMerge(DEFAULTS.withRank(7));
        assertEquals(7, seven.outputRank(planModule(4, 6)));
        assertEquals(5, seven.outputRank(planModule(2, 3))); // k >= N: every MSU its own cluster
        ModuleFactors m = module(1, 9, 8, new int[] {2, 3}, new double[] {1, 1}, new double[] {1, 1});
        ObjectNode f = figures();
        assertEquals(5, seven.merge(m, f).rank());
        assertEquals(5, f.get("k").asInt());
        assertEquals(Math.sqrt(2.5 / 5), f.get("rho").asDouble(), 1e-15);
    }

    private static MergePlan.Module planModule(Integer... ranks) {
        List<Integer> inputs = new java.util.ArrayList<>();
        for (int i = 0; i < ranks.length; i++) {
            inputs.add(i);
        }
        return new MergePlan.Module("m", 8, 8, inputs, List.of(ranks));
    }

    // ---- preprocessing options ----------------------------------------------------------------------

    /** Sign canonicalisation makes the merge blind to the sign flip (-a_i, -b_i) of any MSU. */
    @Test
    void signCanonicalisationRemovesTheSignAmbiguity() {
        ModuleFactors m = module(31, 24, 20, new int[] {6, 6}, new double[] {1, 1}, new double[] {1, 1});
        Random rng = new Random(2);
        double[] signs = new double[12];
        for (int i = 0; i < 12; i++) {
            signs[i] = rng.nextBoolean() ? -1 : 1;
        }
        signs[0] = -1;
        ModuleFactors flipped = LegoFixtures.rescaleRows(m, signs, signs);
        MergeOptions on = DEFAULTS.withPreprocessing(true, false);
        ObjectNode f = figures();
        ObjectNode ff = figures();
        double[] d = new LegoMerge(on).merge(m, f).dense();
        double[] df = new LegoMerge(on).merge(flipped, ff).dense();
        assertArrayEquals(ints(f.get("labels")), ints(ff.get("labels")));
        assertArrayEquals(d, df, 0.0); // the pools are identical bit for bit
        // without it the flips change the pool and (here) the result
        double[] plain = new LegoMerge(DEFAULTS).merge(m, figures()).dense();
        double[] plainFlipped = new LegoMerge(DEFAULTS).merge(flipped, figures()).dense();
        assertNotEquals(Arrays.toString(plain), Arrays.toString(plainFlipped));
    }

    /** a/b balancing makes the merge blind to the rescaling (c a_i, b_i / c) of any MSU. */
    @Test
    void balancingRemovesTheScaleAmbiguity() {
        ModuleFactors m = module(32, 24, 20, new int[] {6, 6}, new double[] {1, 1}, new double[] {1, 1});
        Random rng = new Random(3);
        double[] c = new double[12];
        double[] inv = new double[12];
        for (int i = 0; i < 12; i++) {
            c[i] = Math.exp(2 * rng.nextGaussian());
            inv[i] = 1 / c[i];
        }
        ModuleFactors rescaled = LegoFixtures.rescaleRows(m, c, inv);
        MergeOptions on = DEFAULTS.withPreprocessing(false, true);
        ObjectNode f = figures();
        ObjectNode fr = figures();
        double[] d = new LegoMerge(on).merge(m, f).dense();
        double[] dr = new LegoMerge(on).merge(rescaled, fr).dense();
        assertArrayEquals(ints(f.get("labels")), ints(fr.get("labels")));
        assertDenseClose(d, dr, 1e-12, "balanced merge of rescaled MSUs");
    }

    // ---- s_ref, registry -------------------------------------------------------------------------------

    @Test
    void zeroScalingInputsDoNotBreakTheReferenceScale() {
        ModuleFactors m = module(12, 10, 9, new int[] {2, 3}, new double[] {1, 1}, new double[] {0, 1.5});
        ObjectNode f = figures();
        LowRankUpdate u = new LegoMerge(noReweighting(DEFAULTS).withRank(5)).merge(m, f);
        assertEquals(1.5, f.get("s_ref").asDouble());
        assertDenseClose(m.denseSum(), u.dense(), 1e-12, "exact with a zero-scaling input");
    }

    @Test
    void legoIsRegisteredFirst() {
        assertEquals("lego", MergeMethods.NAMES.get(0));
        MergeMethod lego = MergeMethods.create("lego", DEFAULTS);
        assertInstanceOf(LegoMerge.class, lego);
        assertEquals("lego", lego.name());
        lego.check(new MergePlan(List.of(Path.of("x")), List.of(1.0), List.of(planModule(4))));
    }

    @Test
    void figuresHoldEveryKeyFigure() {
        ModuleFactors m = mixedModule(3, 16, 12);
        ObjectNode f = figures();
        new LegoMerge(DEFAULTS).merge(m, f);
        for (String key : List.of("k", "labels", "cluster_sizes", "inertia", "gamma", "rho", "iterations", "n_init")) {
            assertTrue(f.has(key), key);
        }
        assertEquals(4, f.get("k").asInt());
        assertEquals(12, f.get("labels").size());
        assertEquals(4, f.get("gamma").size());
        assertEquals(10, f.get("n_init").asInt());
    }
}
