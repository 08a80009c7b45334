package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fusion: PEFT's "linear" combination, A' = sum sign(c) sqrt|c| A_t, B' = sum sqrt|c| B_t, cross terms included. */
class FusionMergeTest {
    @TempDir
    Path dir;

    @Test
    void twoInputsByHand() {
        // input 0: a = [1, 2], b = [3, 4], w 1, s 4 -> c = 4, sqrt 2
        // input 1: a = [0, 1], b = [1, -1], w -1, s 1 -> c = -1, sqrt 1, the sign goes on A
        ModuleFactors f = new ModuleFactors("m", 2, 2, List.of(
                new ScaledFactors(0, 1, 4, 1, 2, 2, new double[] {1, 2}, new double[] {3, 4}),
                new ScaledFactors(1, -1, 1, 1, 2, 2, new double[] {0, 1}, new double[] {1, -1})));
        ObjectNode figures = JsonNodeFactory.instance.objectNode();
        LowRankUpdate u = new FusionMerge().merge(f, figures);
        assertEquals(1, u.rank());
        assertArrayEquals(new double[] {2, 3}, u.a(), 0);  // 2 [1, 2] - 1 [0, 1]
        assertArrayEquals(new double[] {7, 7}, u.bt(), 0); // 2 [3, 4] + 1 [1, -1]
        assertArrayEquals(new double[] {14, 21, 14, 21}, u.dense(), 0);
        // exact sum 4 [3, 4]^T [1, 2] - [1, -1]^T [0, 1] = [[12, 23], [16, 33]]; cross terms [[2, -2], [-2, -12]]
        assertArrayEquals(new double[] {12, 23, 16, 33}, f.denseSum(), 0);
        assertEquals(Math.sqrt(156.0 / 2018.0), figures.get("cross_term_norm").asDouble(), 1e-7);
    }

    @Test
    void twoAdaptersEndToEndAreTheProductOfTheSummedFactors() throws Exception {
        Path a = TinyAdapters.spec(1).module(SvdMergeTest.Q, 16, 16).rank(4).alpha(8).write(dir.resolve("a"));
        Path b = TinyAdapters.spec(2).module(SvdMergeTest.Q, 16, 16).rank(4).alpha(2).rslora(true).dtype(DType.BF16)
                .write(dir.resolve("b"));
        List<Double> weights = List.of(0.75, 1.5);
        Path out = dir.resolve("out");
        MergeResult result;
        try (MergeInputs in = MergeInputs.open(List.of(a, b), weights)) {
            result = LoraMerger.merge(in, MergeMethods.create("fusion", MergeOptions.defaults()), DType.F32, out, null);
        }
        assertEquals(4, result.rank());
        double[] sumA = new double[4 * 16];
        double[] sumB = new double[16 * 4];
        double[] exact = MergeFixtures.weightedSum(List.of(a, b), weights, SvdMergeTest.Q);
        List<Path> inputs = List.of(a, b);
        for (int t = 0; t < 2; t++) {
            try (LoraAdapter adapter = LoraAdapter.open(inputs.get(t))) {
                LoraModule m = adapter.module(SvdMergeTest.Q);
                double root = Math.sqrt(weights.get(t) * m.scaling());
                for (int i = 0; i < sumA.length; i++) {
                    sumA[i] += root * m.a().getFloat(i);
                    sumB[i] += root * m.b().getFloat(i);
                }
            }
        }
        double[] expected = new double[16 * 16];
        for (int o = 0; o < 16; o++) {
            for (int i = 0; i < 16; i++) {
                for (int k = 0; k < 4; k++) {
                    expected[o * 16 + i] += sumB[o * 4 + k] * sumA[k * 16 + i];
                }
            }
        }
        try (LoraAdapter merged = LoraAdapter.open(out)) {
            double[] dw = MergeFixtures.dense(merged.module(SvdMergeTest.Q));
            assertTrue(MergeFixtures.relativeError(dw, expected) < 1e-6);
            // the cross terms are real: fusion is not the exact sum, and the figure measures how far
            double cross = result.modules().get(0).figures().get("cross_term_norm").asDouble();
            assertEquals(MergeFixtures.relativeError(dw, exact), cross, 1e-5);
            assertEquals(result.modules().get(0).relativeError(), cross, 1e-9);
            assertTrue(cross > 0.1, "cross terms of independent LoRAs " + cross);
        }
    }

    @Test
    void mergingOneAdapterWithWeightOneGivesItBack() throws Exception {
        for (Path input : List.of(SvdMergeTest.plain(dir), SvdMergeTest.rslora(dir), SvdMergeTest.patterned(dir))) {
            Path out = dir.resolve("fusion-" + input.getFileName());
            SvdMergeTest.assertOneAdapterComesBack(input, new FusionMerge(), out);
        }
        // a negative weight keeps the sign: -2 * dW
        Path input = SvdMergeTest.plain(dir);
        Path out = dir.resolve("negative");
        try (MergeInputs in = MergeInputs.open(List.of(input), List.of(-2.0))) {
            LoraMerger.merge(in, new FusionMerge(), DType.F32, out, null);
        }
        try (LoraAdapter a = LoraAdapter.open(input); LoraAdapter m = LoraAdapter.open(out)) {
            for (LoraModule original : a.modules()) {
                double[] expected = MergeFixtures.dense(original);
                for (int i = 0; i < expected.length; i++) {
                    expected[i] *= -2;
                }
                double[] dw = MergeFixtures.dense(m.module(original.name()));
                assertTrue(MergeFixtures.relativeError(dw, expected) < 1e-6);
            }
        }
    }

    @Test
    void unequalRanksAreRefusedUpFrontAndNothingIsWritten() throws Exception {
        Path four = TinyAdapters.spec(1).module(SvdMergeTest.Q, 16, 16).rank(4).write(dir.resolve("four"));
        Path eight = TinyAdapters.spec(2).module(SvdMergeTest.Q, 16, 16).rank(8).write(dir.resolve("eight"));
        Path out = dir.resolve("never");
        try (MergeInputs in = MergeInputs.open(List.of(four, eight), null)) {
            BadInputException e = assertThrows(BadInputException.class,
                    () -> LoraMerger.merge(in, new FusionMerge(), DType.F32, out, null));
            String msg = e.getMessage();
            assertTrue(msg.contains(SvdMergeTest.Q) && msg.contains("r=4 in " + four) && msg.contains("r=8 in " + eight)
                    && msg.contains("equal ranks"), msg);
            assertFalse(msg.contains("\n"), msg);
        }
        assertFalse(Files.exists(out));
        // --rank makes no sense for fusion
        BadInputException e = assertThrows(BadInputException.class,
                () -> MergeMethods.create("fusion", MergeOptions.defaults().withRank(4)));
        assertTrue(e.getMessage().contains("--rank"), e.getMessage());
        assertInstanceOf(FusionMerge.class, MergeMethods.create("fusion", MergeOptions.defaults()));
    }

    @Test
    void outputRankIsTheCommonRank() {
        assertEquals(8, new FusionMerge().outputRank(new MergePlan.Module("m", 32, 16, List.of(0, 2), List.of(8, 8))));
        assertEquals("fusion", new FusionMerge().name());
    }
}
