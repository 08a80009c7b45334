package dev.lorakit.merge;

import static dev.lorakit.merge.TaskVectorFixtures.flat;
import static dev.lorakit.merge.TaskVectorFixtures.matrixInput;
import static dev.lorakit.merge.TaskVectorFixtures.maxDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.merge.MergeOptions.KnotsMerge;
import dev.lorakit.merge.MergeOptions.MajoritySign;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TiesMergeTest {
    // Three 2 x 3 task vectors (weight 1, scaling 1 unless a test says otherwise).
    static final double[][] D1 = {{1, -2, 0.5}, {3, 0.1, -4}};
    static final double[][] D2 = {{-1.5, 1, 2.5}, {0.5, -0.2, 1}};
    static final double[][] D3 = {{2, 0.3, -0.2}, {-1, 0.4, -3}};

    static ObjectNode figures() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** The dense merged update of {@code method} on {@code module}. */
    static double[] merged(MergeMethod method, ModuleFactors module, ObjectNode figures) {
        return method.merge(module, figures).dense();
    }

    @Test
    void handComputedTotalElection() {
        // Trim to density 0.5 = int(0.5 * 6) = 3 entries each:
        //   T1 = [[0, -2, 0], [3, 0, -4]]
        //   T2 = [[-1.5, 1, 2.5], [0, 0, 0]]     (|1| at index 1 and index 5 tie: index 1 kept)
        //   T3 = [[2, 0, 0], [-1, 0, -3]]
        // Sums 0.5, -1, 2.5, 2, 0, -7 elect + - + + + -; means of the agreeing values:
        //   [2 (T3), -2 (T1), 2.5 (T2), 3 (T1), 0 (none), (-4 - 3) / 2 = -3.5]
        // K = min(2 + 2 + 2, min(2, 3)) = 2 = full rank: the truncation is exact.
        ModuleFactors module = TaskVectorFixtures.module("layers.0.q", D1, D2, D3);
        ObjectNode fig = figures();
        TiesMerge ties = new TiesMerge(MergeOptions.defaults().withDensity(0.5));
        double[] m = merged(ties, module, fig);
        assertTrue(maxDiff(flat(new double[][] {{2, -2, 2.5}, {3, 0, -3.5}}), m) < 1e-12, java.util.Arrays.toString(m));
        assertEquals(0.5, fig.get("density").asDouble());
        for (int t = 0; t < 3; t++) {
            assertEquals(0.5, fig.get("kept_fraction").get(t).asDouble());
        }
        // entries with a nonzero value: all but index 4; agreeing: index 2 (only T2) and 5 (-4, -3)
        assertEquals(2.0 / 5, fig.get("sign_agreement").asDouble(), 1e-15);
        assertEquals(2, fig.get("rank").asInt());
        assertEquals(0, fig.get("truncation_error").asDouble(), 1e-12);
    }

    @Test
    void handComputedFrequencyElection() {
        // Same trimmed vectors; sign counts 0, 0, +1, 0, 0, -2 elect + + + + + -.
        // Index 1 now takes the + value of T2 (1) instead of T1's -2.
        ModuleFactors module = TaskVectorFixtures.module("layers.0.q", D1, D2, D3);
        MergeOptions options = MergeOptions.defaults().withDensity(0.5)
                .withSignElection(MajoritySign.FREQUENCY, KnotsMerge.TIES);
        double[] m = merged(new TiesMerge(options), module, figures());
        assertTrue(maxDiff(flat(new double[][] {{2, 1, 2.5}, {3, 0, -3.5}}), m) < 1e-12, java.util.Arrays.toString(m));
    }

    @Test
    void weightsAndScalingEnterTheTaskVectorsOnce() {
        // Input 2 with weight 0.5 and scaling 4: T2 = 2 * D2, trimmed [[-3, 2, 5], [0, 0, 0]].
        // Sums: -1, 0, 5, 2, 0, -7 elect - + + + + -:
        //   [-3 (T2), 2 (T2), 5, 3, 0, -3.5]
        ModuleFactors module = new ModuleFactors("layers.0.q", 3, 2, List.of(
                matrixInput(0, 1, 1, D1), matrixInput(1, 0.5, 4, D2), matrixInput(2, 1, 1, D3)));
        double[] m = merged(new TiesMerge(MergeOptions.defaults().withDensity(0.5)), module, figures());
        assertTrue(maxDiff(flat(new double[][] {{-3, 2, 5}, {3, 0, -3.5}}), m) < 1e-12, java.util.Arrays.toString(m));
    }

    @Test
    void densityKeepingNothingGivesZero() {
        // int(0.1 * 6) = 0 entries kept per input
        ObjectNode fig = figures();
        double[] m = merged(new TiesMerge(MergeOptions.defaults().withDensity(0.1)),
                TaskVectorFixtures.module("q", D1, D2), fig);
        assertArrayEquals(new double[6], m);
        assertEquals(0, fig.get("kept_fraction").get(0).asDouble());
        assertEquals(1.0, fig.get("sign_agreement").asDouble());
        assertEquals(0, fig.get("truncation_error").asDouble());
    }

    @Test
    void defaultDensityIsTwentyPercent() {
        ObjectNode fig = figures();
        new TiesMerge(MergeOptions.defaults()).merge(TaskVectorFixtures.module("q",
                new double[][] {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}), fig);
        assertEquals(TiesMerge.DEFAULT_DENSITY, fig.get("density").asDouble());
        assertEquals(0.2, fig.get("kept_fraction").get(0).asDouble()); // int(0.2 * 10) = 2 of 10
    }

    @Test
    void randomModuleMatchesTheRulesAtFullRank() {
        // 40 x 50 module, 3 random inputs with mixed weights: the dense merge equals the rules
        // applied to the whole task vectors (at K = 40 the truncation is exact).
        Random rng = new Random(42);
        List<ScaledFactors> terms = new ArrayList<>();
        terms.add(TaskVectorFixtures.randomInput(rng, 0, 4, 50, 40, 1, 2));
        terms.add(TaskVectorFixtures.randomInput(rng, 1, 2, 50, 40, 0.7, 0.5));
        terms.add(TaskVectorFixtures.randomInput(rng, 3, 6, 50, 40, -0.3, 1));
        ModuleFactors module = new ModuleFactors("layers.3.mlp.up_proj", 50, 40, terms);
        for (MajoritySign mode : MajoritySign.values()) {
            double[][] trimmed = new double[3][];
            for (int t = 0; t < 3; t++) {
                trimmed[t] = TaskVectorRules.trim(TaskVectorFixtures.taskVector(terms.get(t)), 0.3);
            }
            double[] expected = TaskVectorRules.disjointMerge(trimmed, TaskVectorRules.electSigns(trimmed, mode));
            MergeOptions options = MergeOptions.defaults().withDensity(0.3).withRank(40)
                    .withSignElection(mode, KnotsMerge.TIES);
            double[] m = merged(new TiesMerge(options), module, figures());
            assertTrue(maxDiff(expected, m) < 1e-12, "max diff " + maxDiff(expected, m));
        }
    }

    @Test
    void defaultRankIsTheSumOfInputRanksCapped() {
        MergePlan.Module m = new MergePlan.Module("q", 64, 48, List.of(0, 1), List.of(8, 16));
        assertEquals(24, new TiesMerge(MergeOptions.defaults()).outputRank(m));
        assertEquals(5, new TiesMerge(MergeOptions.defaults().withRank(5)).outputRank(m));
        assertEquals(48, new TiesMerge(MergeOptions.defaults().withRank(100)).outputRank(m));
        MergePlan.Module thin = new MergePlan.Module("k", 64, 10, List.of(0, 1), List.of(8, 16));
        assertEquals(10, new TiesMerge(MergeOptions.defaults()).outputRank(thin));
    }

    @Test
    void truncationErrorIsTheDiscardedShare() {
        // 30 x 20 module, 4 random rank-3 inputs, K = 5 < rank of the merged matrix.
        Random rng = new Random(9);
        List<ScaledFactors> terms = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            terms.add(TaskVectorFixtures.randomInput(rng, t, 3, 20, 30, 1, 1));
        }
        ModuleFactors module = new ModuleFactors("q", 20, 30, terms);
        MergeOptions full = MergeOptions.defaults().withDensity(0.4).withRank(20);
        double[] exact = merged(new TiesMerge(full), module, figures());
        ObjectNode fig = figures();
        double[] truncated = merged(new TiesMerge(full.withRank(5)), module, fig);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < exact.length; i++) {
            diff += (exact[i] - truncated[i]) * (exact[i] - truncated[i]);
            norm += exact[i] * exact[i];
        }
        assertEquals(Math.sqrt(diff / norm), fig.get("truncation_error").asDouble(), 1e-9);
        assertEquals(5, fig.get("rank").asInt());
        assertTrue(fig.get("truncation_error").asDouble() > 0.05);
    }
}
