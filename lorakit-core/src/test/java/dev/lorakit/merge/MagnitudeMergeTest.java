package dev.lorakit.merge;

import static dev.lorakit.merge.TaskVectorFixtures.flat;
import static dev.lorakit.merge.TaskVectorFixtures.maxDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MagnitudeMergeTest {
    private static ModuleFactors example() {
        return TaskVectorFixtures.module("layers.0.q", TiesMergeTest.D1, TiesMergeTest.D2, TiesMergeTest.D3);
    }

    @Test
    void handComputedHalfDensity() {
        // Trimmed as in TiesMergeTest: T1 = [0, -2, 0, 3, 0, -4], T2 = [-1.5, 1, 2.5, 0, 0, 0],
        // T3 = [2, 0, 0, -1, 0, -3]; no sign election, plain sum:
        //   [-1.5 + 2, -2 + 1, 2.5, 3 - 1, 0, -4 - 3] = [0.5, -1, 2.5, 2, 0, -7]
        ObjectNode fig = TiesMergeTest.figures();
        double[] m = TiesMergeTest.merged(new MagnitudeMerge(MergeOptions.defaults().withDensity(0.5)), example(), fig);
        assertTrue(maxDiff(flat(new double[][] {{0.5, -1, 2.5}, {2, 0, -7}}), m) < 1e-12, Arrays.toString(m));
        assertEquals(2.0 / 5, fig.get("sign_agreement").asDouble(), 1e-15);
        assertEquals(0.5, fig.get("kept_fraction").get(1).asDouble());
    }

    @Test
    void handComputedThirdDensity() {
        // int(6 / 3) = 2 entries each: T1 = [0, 0, 0, 3, 0, -4], T2 = [-1.5, 0, 2.5, 0, 0, 0],
        // T3 = [2, 0, 0, 0, 0, -3]; sum [0.5, 0, 2.5, 3, 0, -7]
        double[] m = TiesMergeTest.merged(new MagnitudeMerge(MergeOptions.defaults().withDensity(1.0 / 3)), example(),
                TiesMergeTest.figures());
        assertTrue(maxDiff(flat(new double[][] {{0.5, 0, 2.5}, {3, 0, -7}}), m) < 1e-12, Arrays.toString(m));
    }

    @Test
    void densityOneIsTheExactSumTruncated() {
        Random rng = new Random(8);
        ModuleFactors module = new ModuleFactors("m", 20, 16, List.of(
                TaskVectorFixtures.randomInput(rng, 0, 2, 20, 16, 1, 1),
                TaskVectorFixtures.randomInput(rng, 1, 3, 20, 16, 2, 0.5)));
        LowRankUpdate u = new MagnitudeMerge(MergeOptions.defaults().withDensity(1.0)).merge(module,
                TiesMergeTest.figures());
        assertEquals(5, u.rank());
        assertTrue(ReconstructionError.relative(module, u) < 1e-6);
        ObjectNode fig = TiesMergeTest.figures();
        new MagnitudeMerge(MergeOptions.defaults()).merge(module, fig);
        assertEquals(MagnitudeMerge.DEFAULT_DENSITY, fig.get("density").asDouble());
    }
}
