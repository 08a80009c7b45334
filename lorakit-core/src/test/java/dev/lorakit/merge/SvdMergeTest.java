package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** svd: the exact weighted sum truncated to its best rank-K approximation, scaling applied once. */
class SvdMergeTest {
    @TempDir
    Path dir;

    static final String Q = "model.layers.0.self_attn.q_proj";
    static final String V = "model.layers.0.self_attn.v_proj";
    static final String DOWN = "model.layers.0.mlp.down_proj";

    /** Rank 4, alpha 8, F32. */
    static Path plain(Path dir) throws Exception {
        return TinyAdapters.spec(1).module(Q, 16, 16).module(V, 16, 8).rank(4).alpha(8).write(dir.resolve("plain"));
    }

    /** Rank 8, alpha 4, rsLoRA, BF16. */
    static Path rslora(Path dir) throws Exception {
        return TinyAdapters.spec(2).module(Q, 16, 16).module(DOWN, 24, 16).rank(8).alpha(4).rslora(true)
                .dtype(DType.BF16).write(dir.resolve("rslora"));
    }

    /** Rank 2 with v_proj at rank 6 and alpha 3 by pattern, F16. */
    static Path patterned(Path dir) throws Exception {
        return TinyAdapters.spec(3).module(Q, 16, 16).module(V, 16, 8).rank(2).alpha(2)
                .rankPattern("v_proj", 6).alphaPattern("v_proj", 3).dtype(DType.F16).write(dir.resolve("pattern"));
    }

    /** Merging {@code input} alone with weight 1 gives back every module's scaling * B A. */
    static void assertOneAdapterComesBack(Path input, MergeMethod method, Path out) throws Exception {
        try (MergeInputs in = MergeInputs.open(List.of(input), null)) {
            LoraMerger.merge(in, method, DType.F32, out, null);
        }
        try (LoraAdapter a = LoraAdapter.open(input); LoraAdapter m = LoraAdapter.open(out)) {
            assertEquals(a.modules().size(), m.modules().size());
            for (LoraModule original : a.modules()) {
                LoraModule merged = m.module(original.name());
                assertEquals(1.0, merged.scaling());
                double[] expected = MergeFixtures.dense(original);
                double err = MergeFixtures.relativeError(MergeFixtures.dense(merged), expected);
                assertTrue(err < 1e-6, method.name() + " " + input + " " + original.name() + ": " + err);
            }
        }
    }

    @Test
    void mergingOneAdapterWithWeightOneGivesItBack() throws Exception {
        for (Path input : List.of(plain(dir), rslora(dir), patterned(dir))) {
            assertOneAdapterComesBack(input, new SvdMerge(null), dir.resolve("svd-" + input.getFileName()));
        }
    }

    @Test
    void truncatingOneAdapterIsItsBestLowRankApproximation() throws Exception {
        // the LoRA-pruning scenario: rsLoRA rank 8 to rank 3, scaling alpha / sqrt(r) applied once
        Path input = rslora(dir);
        Path out = dir.resolve("pruned");
        try (MergeInputs in = MergeInputs.open(List.of(input), null)) {
            LoraMerger.merge(in, new SvdMerge(3), DType.F32, out, null);
        }
        try (LoraAdapter a = LoraAdapter.open(input); LoraAdapter m = LoraAdapter.open(out)) {
            assertEquals(3, m.config().r());
            for (LoraModule original : a.modules()) {
                double[] dw = MergeFixtures.dense(original);
                double[] best = DenseSvd.of(dw, original.outFeatures(), original.inFeatures()).bestRank(3);
                double err = MergeFixtures.relativeError(MergeFixtures.dense(m.module(original.name())), best);
                assertTrue(err < 1e-6, original.name() + ": " + err);
            }
        }
    }

    @Test
    void mixedInputsGiveTheBestRankKOfTheExactSumWithFigures() throws Exception {
        List<Path> inputs = List.of(plain(dir), rslora(dir), patterned(dir));
        List<Double> weights = List.of(0.5, -1.25, 2.0);
        Path out = dir.resolve("out");
        MergeResult result;
        try (MergeInputs in = MergeInputs.open(inputs, weights)) {
            result = LoraMerger.merge(in, MergeMethods.create("svd", MergeOptions.defaults().withRank(3)), DType.F32,
                    out, null);
        }
        assertEquals(3, result.rank());
        try (LoraAdapter merged = LoraAdapter.open(out)) {
            for (ModuleResult r : result.modules()) {
                LoraModule m = merged.module(r.name());
                double[] exact = MergeFixtures.weightedSum(inputs, weights, r.name());
                DenseSvd ref = DenseSvd.of(exact, m.outFeatures(), m.inFeatures());
                double err = MergeFixtures.relativeError(MergeFixtures.dense(m), ref.bestRank(3));
                assertTrue(err < 1e-6, r.name() + ": " + err);
                // the figures: truncation error from the spectrum = the measured error; energy; values
                double truncation = r.figures().get("truncation_error").asDouble();
                assertEquals(r.relativeError(), truncation, 1e-6, r.name());
                assertEquals(DenseSvd.distance(ref.bestRank(3), exact) / DenseSvd.norm(exact), truncation, 1e-6);
                assertEquals(1, r.figures().get("kept_energy").asDouble() + truncation * truncation, 1e-12);
                JsonNode values = r.figures().get("singular_values");
                assertEquals(Math.min(6, Math.min(m.inFeatures(), m.outFeatures())), values.size(), r.name());
                for (int i = 0; i < values.size(); i++) {
                    assertEquals(ref.value(i), values.get(i).asDouble(), 1e-9 * ref.value(0));
                }
            }
        }
    }

    @Test
    void theDefaultRankIsTheLargestInputRankAndScalingIsAppliedOnce() {
        // ranks 3 and 5, coefficients w * s = 2 * 0.5 and -1 * 4: K = 5
        ModuleFactors f = MergeFixtures.randomModule(11, 20, 14, new int[] {3, 5}, new double[] {2, -1},
                new double[] {0.5, 4});
        SvdMerge svd = new SvdMerge(null);
        assertEquals(5, svd.outputRank(new MergePlan.Module("m", 20, 14, List.of(0, 1), List.of(3, 5))));
        ObjectNode figures = JsonNodeFactory.instance.objectNode();
        LowRankUpdate u = svd.merge(f, figures);
        assertEquals(5, u.rank());
        double[] exact = f.denseSum();
        DenseSvd ref = DenseSvd.of(exact, 14, 20);
        assertEquals(0, DenseSvd.distance(u.dense(), ref.bestRank(5)), 1e-12 * DenseSvd.norm(exact));
        assertEquals(8, figures.get("singular_values").size()); // min(N, 2K)
        // rank option overrides; balanced factors: ||a_j|| = ||b_j||
        LowRankUpdate two = new SvdMerge(2).merge(f, JsonNodeFactory.instance.objectNode());
        assertEquals(2, two.rank());
        assertEquals(0, DenseSvd.distance(two.dense(), ref.bestRank(2)), 1e-12 * DenseSvd.norm(exact));
        for (int j = 0; j < 2; j++) {
            double na = Math.sqrt(dev.lorakit.tensor.kernel.RowProducts.dot(two.a(), j * 20, two.a(), j * 20, 20));
            double nb = Math.sqrt(dev.lorakit.tensor.kernel.RowProducts.dot(two.bt(), j * 14, two.bt(), j * 14, 14));
            assertEquals(na, nb, 1e-12 * na);
            assertEquals(ref.value(j), na * nb, 1e-12 * ref.value(0));
        }
    }

    @Test
    void fullRankIsTheExactSum() {
        ModuleFactors f = MergeFixtures.randomModule(12, 20, 14, new int[] {3, 5}, new double[] {1, 0.5},
                new double[] {2, 1});
        // K >= N: the exact sum itself, like cat
        ObjectNode figures = JsonNodeFactory.instance.objectNode();
        LowRankUpdate all = new SvdMerge(8).merge(f, figures);
        assertSame(f.exactSum(), all);
        assertArrayEquals(new CatMerge().merge(f, JsonNodeFactory.instance.objectNode()).dense(), all.dense(), 0);
        assertEquals(0, figures.get("truncation_error").asDouble());
        assertEquals(1, figures.get("kept_energy").asDouble());
        assertEquals(8, figures.get("singular_values").size());
        assertEquals(8, new SvdMerge(100).outputRank(new MergePlan.Module("m", 20, 14, List.of(0, 1), List.of(3, 5))));
        // K = 7 < N = 8 truncates
        assertEquals(7, new SvdMerge(7).merge(f, JsonNodeFactory.instance.objectNode()).rank());
        // a [5 x 6] module with N = 8 has rank <= 5: K = 6 returns the exact rank 5 and the exact sum
        ModuleFactors small = MergeFixtures.randomModule(13, 6, 5, new int[] {4, 4}, new double[] {1, 1},
                new double[] {1, 3});
        MergePlan.Module plan = new MergePlan.Module("m", 6, 5, List.of(0, 1), List.of(4, 4));
        assertEquals(5, new SvdMerge(6).outputRank(plan));
        LowRankUpdate u = new SvdMerge(6).merge(small, JsonNodeFactory.instance.objectNode());
        assertEquals(5, u.rank());
        assertEquals(0, DenseSvd.distance(u.dense(), small.denseSum()), 1e-12 * DenseSvd.norm(small.denseSum()));
    }

    @Test
    void zeroBInputsGiveAZeroUpdateWithoutNaN() throws Exception {
        Path fresh1 = TinyAdapters.spec(4).module(Q, 16, 16).rank(4).stdB(0).write(dir.resolve("fresh1"));
        Path fresh2 = TinyAdapters.spec(5).module(Q, 16, 16).rank(4).stdB(0).write(dir.resolve("fresh2"));
        for (String method : List.of("svd", "fusion")) {
            Path out = dir.resolve("zero-" + method);
            MergeResult result;
            try (MergeInputs in = MergeInputs.open(List.of(fresh1, fresh2), null)) {
                MergeMethod m = MergeMethods.create(method, MergeOptions.defaults());
                result = LoraMerger.merge(in, m, DType.F32, out, null);
            }
            assertEquals(4, result.rank(), method);
            assertEquals(0, result.modules().get(0).relativeError(), method);
            try (LoraAdapter merged = LoraAdapter.open(out)) {
                assertArrayEquals(new double[16 * 16], MergeFixtures.dense(merged.module(Q)), method);
            }
            for (JsonNode v : result.modules().get(0).figures()) {
                assertFalse(v.isNumber() && !Double.isFinite(v.asDouble()), method + " figure " + v);
            }
        }
        ModuleFactors zero = new ModuleFactors("m", 3, 2, List.of(
                new ScaledFactors(0, 1, 2, 2, 3, 2, new double[] {1, 2, 3, 4, 5, 6}, new double[4])));
        ObjectNode figures = JsonNodeFactory.instance.objectNode();
        LowRankUpdate u = new SvdMerge(1).merge(zero, figures);
        assertEquals(0, u.rank());
        assertEquals(0, figures.get("truncation_error").asDouble());
        assertEquals(1, figures.get("kept_energy").asDouble());
    }

    @Test
    void registry() {
        assertTrue(MergeMethods.NAMES.containsAll(List.of("cat", "svd", "fusion")));
        assertInstanceOf(SvdMerge.class, MergeMethods.create("svd", MergeOptions.defaults()));
        assertEquals(7, MergeMethods.create("svd", MergeOptions.defaults().withRank(7))
                .outputRank(new MergePlan.Module("m", 64, 64, List.of(0, 1), List.of(8, 8))));
        assertEquals("svd", new SvdMerge(null).name());
    }
}
