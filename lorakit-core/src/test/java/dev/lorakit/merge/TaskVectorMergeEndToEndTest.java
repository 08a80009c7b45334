package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TaskVectorMergeEndToEndTest {
    private static final List<String> METHODS = List.of("ties", "dare-linear", "dare-ties", "magnitude");

    @TempDir
    Path tmp;

    /** A module's update {@code scaling * B A} [out, in] in float64. */
    private static double[] delta(LoraModule m) {
        int r = m.rank();
        int in = m.inFeatures();
        int out = m.outFeatures();
        double[] w = new double[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int j = 0; j < r; j++) {
                    s += (double) m.b().getFloat((long) o * r + j) * m.a().getFloat((long) j * in + i);
                }
                w[o * in + i] = m.scaling() * s;
            }
        }
        return w;
    }

    private static TinyAdapters.Spec spec(String kind) {
        TinyAdapters.Spec s = TinyAdapters.llama(31, 1, 16, 8, 24).rank(4).alpha(8);
        return switch (kind) {
            case "plain" -> s;
            case "rslora" -> s.rslora(true);
            case "rank_pattern" -> s.rankPattern("q_proj", 6).alphaPattern("down_proj", 3);
            default -> throw new IllegalArgumentException(kind);
        };
    }

    @ParameterizedTest
    @CsvSource({"plain", "rslora", "rank_pattern"})
    void oneAdapterWithWeightOneAndDensityOneComesBack(String kind) throws Exception {
        Path in = spec(kind).write(tmp.resolve("in-" + kind));
        MergeOptions options = MergeOptions.defaults().withDensity(1.0).withSeed(3);
        for (String name : METHODS) {
            Path out = tmp.resolve(kind + "-" + name);
            MergeResult result;
            try (MergeInputs inputs = MergeInputs.open(List.of(in), null)) {
                result = LoraMerger.merge(inputs, MergeMethods.create(name, options), DType.F32, out, null);
            }
            try (LoraAdapter original = LoraAdapter.open(in); LoraAdapter merged = LoraAdapter.open(out)) {
                int maxRank = original.modules().stream().mapToInt(LoraModule::rank).max().orElseThrow();
                assertEquals(maxRank, merged.config().r(), name + ": default K = the input rank, padded to the largest");
                assertEquals(original.modules().size(), merged.modules().size());
                for (LoraModule m : original.modules()) {
                    double[] expected = delta(m);
                    double[] actual = delta(merged.module(m.name()));
                    double scale = 0;
                    for (double v : expected) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    double diff = TaskVectorFixtures.maxDiff(expected, actual);
                    assertTrue(diff < 1e-5 * scale, name + " " + kind + " " + m.name() + ": max diff " + diff
                            + " of " + scale);
                }
            }
            for (ModuleResult r : result.modules()) {
                assertTrue(r.relativeError() < 1e-5, name + " " + r.name() + ": " + r.relativeError());
                assertEquals(1.0, r.figures().get("kept_fraction").get(0).asDouble());
                assertEquals(1.0, r.figures().get("sign_agreement").asDouble());
                assertTrue(r.figures().get("truncation_error").asDouble() < 1e-6);
            }
        }
    }

    @Test
    void mergedFileEqualsTheMethodOnEachModule() throws Exception {
        // Two adapters, dare-ties at density 0.5: what LoraMerger writes (modules merged in
        // parallel) is, after rounding to f32, what the method gives each module alone.
        Path a = spec("plain").write(tmp.resolve("a"));
        Path b = TinyAdapters.llama(77, 1, 16, 8, 24).rank(2).alpha(4).write(tmp.resolve("b"));
        MergeMethod method = MergeMethods.create("dare-ties", MergeOptions.defaults().withSeed(12));
        Path out = tmp.resolve("merged");
        try (MergeInputs inputs = MergeInputs.open(List.of(a, b), List.of(1.0, 0.5))) {
            LoraMerger.merge(inputs, method, DType.F32, out, null);
            try (LoraAdapter merged = LoraAdapter.open(out)) {
                int k = merged.config().r();
                assertEquals(6, k);
                for (MergePlan.Module m : inputs.plan().modules()) {
                    LowRankUpdate direct = method.merge(inputs.load(m), TiesMergeTest.figures());
                    LoraModule written = merged.module(m.name());
                    Tensor ta = written.a();
                    Tensor tb = written.b();
                    for (int j = 0; j < k; j++) {
                        for (int i = 0; i < m.dIn(); i++) {
                            float expected = j < direct.rank() ? (float) direct.a()[j * m.dIn() + i] : 0f;
                            assertEquals(expected, ta.getFloat((long) j * m.dIn() + i));
                        }
                        for (int o = 0; o < m.dOut(); o++) {
                            float expected = j < direct.rank() ? (float) direct.bt()[j * m.dOut() + o] : 0f;
                            assertEquals(expected, tb.getFloat((long) o * k + j));
                        }
                    }
                }
            }
        }
    }

    @Test
    void methodsAreRegistered() {
        MergeOptions options = MergeOptions.defaults();
        for (String name : METHODS) {
            assertTrue(MergeMethods.NAMES.contains(name), name);
            assertEquals(name, MergeMethods.create(name, options).name());
        }
        assertInstanceOf(TiesMerge.class, MergeMethods.create("ties", options));
        assertInstanceOf(DareMerge.class, MergeMethods.create("dare-ties", options));
        assertInstanceOf(MagnitudeMerge.class, MergeMethods.create("magnitude", options));
    }

    @Test
    void densityOutsideTheUnitIntervalAndRankBelowOneAreRefused() {
        MergeOptions options = MergeOptions.defaults();
        for (double d : new double[] {0.0, -0.2, 1.0000001, 2, Double.NaN, Double.POSITIVE_INFINITY}) {
            BadInputException e = assertThrows(BadInputException.class, () -> options.withDensity(d));
            assertTrue(e.getMessage().startsWith("--density: must be in (0, 1]"), e.getMessage());
        }
        for (int k : new int[] {0, -3}) {
            BadInputException e = assertThrows(BadInputException.class, () -> options.withRank(k));
            assertTrue(e.getMessage().startsWith("--rank: must be at least 1"), e.getMessage());
        }
        assertEquals(1.0, options.withDensity(1.0).density());
    }

    @Test
    void modulesTooLargeForOneArrayAreRefusedUpFront() {
        MergePlan plan = new MergePlan(List.of(Path.of("x")), List.of(1.0), List.of(
                new MergePlan.Module("model.embed_tokens", 65536, 65536, List.of(0), List.of(8))));
        for (String name : METHODS) {
            BadInputException e = assertThrows(BadInputException.class,
                    () -> MergeMethods.create(name, MergeOptions.defaults()).check(plan));
            assertTrue(e.getMessage().startsWith("module model.embed_tokens: [65536, 65536]"), e.getMessage());
        }
    }
}
