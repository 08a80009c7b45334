package dev.lorakit.merge;

import static dev.lorakit.merge.TaskVectorFixtures.flat;
import static dev.lorakit.merge.TaskVectorFixtures.maxDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.merge.MergeOptions.KnotsMerge;
import dev.lorakit.merge.MergeOptions.MajoritySign;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class DareMergeTest {
    // Seed 7, module "layers.0.q", density 0.5: the masks (TaskVectorRulesTest pins them) are
    //   input 0: 0 1 0 1 1 0     input 1: 0 0 1 1 0 1     input 2: 0 0 1 0 1 1
    // Kept values are divided by 0.5:
    //   D1 = [1, -2, 0.5, 3, 0.1, -4]      -> T1 = [0, -4, 0, 6, 0.2, 0]
    //   D2 = [-1.5, 1, 2.5, 0.5, -0.2, 1]  -> T2 = [0, 0, 5, 1, 0, 2]
    //   D3 = [2, 0.3, -0.2, -1, 0.4, -3]   -> T3 = [0, 0, -0.4, 0, 0.8, -6]
    private static final MergeOptions OPTIONS = MergeOptions.defaults().withSeed(7).withDensity(0.5);

    private static ModuleFactors example() {
        return TaskVectorFixtures.module("layers.0.q", TiesMergeTest.D1, TiesMergeTest.D2, TiesMergeTest.D3);
    }

    @Test
    void handComputedDareLinear() {
        // sum: [0, -4, 5 - 0.4, 6 + 1, 0.2 + 0.8, 2 - 6] = [0, -4, 4.6, 7, 1, -4]
        ObjectNode fig = TiesMergeTest.figures();
        double[] m = TiesMergeTest.merged(DareMerge.linear(OPTIONS), example(), fig);
        assertTrue(maxDiff(flat(new double[][] {{0, -4, 4.6}, {7, 1, -4}}), m) < 1e-12, Arrays.toString(m));
        for (int t = 0; t < 3; t++) {
            assertEquals(0.5, fig.get("kept_fraction").get(t).asDouble()); // 3 of 6 each
        }
        // nonzero at indexes 1..5; agreeing 1 (-4), 3 (6, 1), 4 (0.2, 0.8); not 2 (5, -0.4), 5 (2, -6)
        assertEquals(3.0 / 5, fig.get("sign_agreement").asDouble(), 1e-15);
    }

    @Test
    void handComputedDareTiesTotal() {
        // totals 0, -4, 4.6, 7, 1, -4 elect + - + + + -; agreeing means:
        //   [0 (none), -4, 5, (6 + 1) / 2 = 3.5, (0.2 + 0.8) / 2 = 0.5, -6]
        double[] m = TiesMergeTest.merged(DareMerge.ties(OPTIONS), example(), TiesMergeTest.figures());
        assertTrue(maxDiff(flat(new double[][] {{0, -4, 5}, {3.5, 0.5, -6}}), m) < 1e-12, Arrays.toString(m));
    }

    @Test
    void handComputedDareTiesFrequency() {
        // sign counts 0, -1, 0, 2, 2, 0 elect + - + + + +: index 5 keeps T2's 2 instead of T3's -6
        MergeOptions options = OPTIONS.withSignElection(MajoritySign.FREQUENCY, KnotsMerge.TIES);
        double[] m = TiesMergeTest.merged(DareMerge.ties(options), example(), TiesMergeTest.figures());
        assertTrue(maxDiff(flat(new double[][] {{0, -4, 5}, {3.5, 0.5, 2}}), m) < 1e-12, Arrays.toString(m));
    }

    @Test
    void densityOneMakesDareLinearTheExactWeightedSum() {
        Random rng = new Random(3);
        List<ScaledFactors> terms = new ArrayList<>();
        terms.add(TaskVectorFixtures.randomInput(rng, 0, 4, 30, 24, 1.5, 2));
        terms.add(TaskVectorFixtures.randomInput(rng, 1, 8, 30, 24, -0.5, 0.25));
        ModuleFactors module = new ModuleFactors("m", 30, 24, terms);
        ObjectNode fig = TiesMergeTest.figures();
        // K = 4 + 8 = 12 = the rank of the exact sum: the truncation loses nothing
        LowRankUpdate u = DareMerge.linear(MergeOptions.defaults().withDensity(1.0)).merge(module, fig);
        assertEquals(12, u.rank());
        double[] exact = module.denseSum();
        assertTrue(maxDiff(exact, u.dense()) < 1e-12 * maxAbs(exact));
        assertTrue(ReconstructionError.relative(module, u) < 1e-6);
        assertEquals(1.0, fig.get("kept_fraction").get(0).asDouble());
        assertEquals(0, fig.get("truncation_error").asDouble(), 1e-6);
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    @Test
    void defaultDensityIsOneHalf() {
        ObjectNode fig = TiesMergeTest.figures();
        DareMerge.ties(MergeOptions.defaults()).merge(example(), fig);
        assertEquals(DareMerge.DEFAULT_DENSITY, fig.get("density").asDouble());
        assertEquals("dare-ties", DareMerge.ties(OPTIONS).name());
        assertEquals("dare-linear", DareMerge.linear(OPTIONS).name());
    }

    @Test
    void masksAreReproducibleAndIndependentOfThreads() throws Exception {
        Random rng = new Random(17);
        List<ScaledFactors> terms = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            terms.add(TaskVectorFixtures.randomInput(rng, t, 4, 64, 48, 1, 1));
        }
        ModuleFactors module = new ModuleFactors("layers.1.v_proj", 64, 48, terms);
        for (DareMerge method : List.of(DareMerge.linear(OPTIONS), DareMerge.ties(OPTIONS))) {
            LowRankUpdate sequential = method.merge(module, TiesMergeTest.figures());
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<LowRankUpdate>> runs = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    runs.add(pool.submit(() -> method.merge(module, TiesMergeTest.figures())));
                }
                for (Future<LowRankUpdate> f : runs) {
                    assertArrayEquals(sequential.a(), f.get().a());
                    assertArrayEquals(sequential.bt(), f.get().bt());
                }
            } finally {
                pool.shutdown();
            }
            // another seed draws other masks
            LowRankUpdate other = (method.name().equals("dare-ties") ? DareMerge.ties(OPTIONS.withSeed(8))
                    : DareMerge.linear(OPTIONS.withSeed(8))).merge(module, TiesMergeTest.figures());
            assertFalse(Arrays.equals(sequential.dense(), other.dense()));
        }
    }

    @Test
    void randomModuleMatchesTheRulesAtFullRank() {
        Random rng = new Random(23);
        List<ScaledFactors> terms = new ArrayList<>();
        terms.add(TaskVectorFixtures.randomInput(rng, 0, 3, 40, 36, 1, 2));
        terms.add(TaskVectorFixtures.randomInput(rng, 2, 5, 40, 36, 0.5, 1));
        ModuleFactors module = new ModuleFactors("layers.2.o_proj", 40, 36, terms);
        MergeOptions options = OPTIONS.withDensity(0.3).withRank(36);
        double[][] dropped = new double[2][];
        for (int t = 0; t < 2; t++) {
            long seed = TaskVectorRules.dareMaskSeed(7, module.name(), terms.get(t).input());
            dropped[t] = TaskVectorRules.dareDrop(TaskVectorFixtures.taskVector(terms.get(t)), 0.3, seed);
        }
        double[] linear = TiesMergeTest.merged(DareMerge.linear(options), module, TiesMergeTest.figures());
        assertTrue(maxDiff(TaskVectorRules.sum(dropped), linear) < 1e-12);
        double[] ties = TiesMergeTest.merged(DareMerge.ties(options), module, TiesMergeTest.figures());
        double[] expected = TaskVectorRules.disjointMerge(dropped, TaskVectorRules.electSigns(dropped, MajoritySign.TOTAL));
        assertTrue(maxDiff(expected, ties) < 1e-12);
    }
}
