package dev.lorakit.merge;

import static dev.lorakit.merge.LegoFixtures.assertDenseClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/**
 * lego through the whole pipeline: three small PEFT adapters on disk (ranks 4, 6 and 11, one
 * rsLoRA, one with a rank_pattern and alpha_pattern, one module present in two of them), merged
 * by {@link LoraMerger}, re-opened with {@link LoraAdapter#open}: a standard adapter with
 * r = lora_alpha = the largest k, scaling 1, and every module's dW equal to the in-memory
 * {@link LegoMerge} result (to F32 rounding; smaller-k modules zero-padded).
 */
class LegoEndToEndTest {
    private static final String Q = "model.layers.0.self_attn.q_proj";
    private static final String UP = "model.layers.0.mlp.up_proj";
    private static final String DOWN = "model.layers.0.mlp.down_proj";

    @Test
    void mergedAdapterReopensWithTheInMemoryResult(@TempDir Path dir) throws Exception {
        Path a = TinyAdapters.spec(1).module(Q, 16, 16).module(UP, 16, 24).module(DOWN, 24, 16)
                .rank(4).alpha(8).write(dir.resolve("a"));
        Path b = TinyAdapters.spec(2).module(Q, 16, 16).module(DOWN, 24, 16)
                .rank(6).alpha(12).rslora(true).write(dir.resolve("b"));
        Path c = TinyAdapters.spec(3).module(Q, 16, 16).module(UP, 16, 24).module(DOWN, 24, 16)
                .rank(11).alpha(5).rankPattern("down_proj", 7).alphaPattern("down_proj", 3)
                .dtype(DType.BF16).write(dir.resolve("c"));
        Path out = dir.resolve("merged");
        LegoMerge lego = new LegoMerge(MergeOptions.defaults().withSeed(5));

        try (MergeInputs inputs = MergeInputs.open(List.of(a, b, c), List.of(1.0, 0.5, 1.5))) {
            MergeResult result = LoraMerger.merge(inputs, lego, DType.F32, out, null);
            // k: q (4, 6, 11) -> 7; up (4, 11) -> 7.5 -> 8; down (4, 6, 7) -> 5.67 -> 6
            assertEquals(8, result.rank());
            try (LoraAdapter merged = LoraAdapter.open(out)) {
                assertEquals(8, merged.config().r());
                assertEquals(8.0, merged.config().loraAlpha());
                assertFalse(merged.config().useRslora());
                assertTrue(merged.config().rankPattern().isEmpty());
                for (String name : List.of(Q, UP, DOWN)) {
                    ModuleFactors factors = inputs.load(inputs.plan().modules().stream()
                            .filter(m -> m.name().equals(name)).findFirst().orElseThrow());
                    ObjectNode figures = JsonNodeFactory.instance.objectNode();
                    LowRankUpdate expected = lego.merge(factors, figures);
                    LoraModule m = merged.module(name);
                    assertEquals(8, m.rank(), name);
                    assertEquals(1.0, m.scaling(), name);
                    assertDenseClose(expected.dense(), dense(m), 1e-6, name);
                    // padding rows/columns beyond the module's k are zero
                    for (int j = expected.rank(); j < 8; j++) {
                        for (int col = 0; col < m.inFeatures(); col++) {
                            assertEquals(0f, m.a().get(j, col), name);
                        }
                    }
                    ModuleResult r = result.modules().stream().filter(x -> x.name().equals(name)).findFirst()
                            .orElseThrow();
                    assertEquals(expected.rank(), r.rank(), name);
                    assertEquals(figures, r.figures(), name + ": the same figures for the same seed");
                    assertTrue(Double.isFinite(r.relativeError()) && r.relativeError() > 0, name);
                }
                assertEquals(7, result.modules().get(0).rank());
            }
            // the module only two inputs have is merged over those two
            MergePlan.Module up = inputs.plan().modules().stream().filter(m -> m.name().equals(UP)).findFirst()
                    .orElseThrow();
            assertEquals(List.of(0, 2), up.inputs());
            assertEquals(8, lego.outputRank(up));
        }
    }

    /** scaling * B A of a re-opened module, [out, in] row-major, in float64. */
    private static double[] dense(LoraModule m) {
        int r = m.rank();
        int in = m.inFeatures();
        int outF = m.outFeatures();
        double[] w = new double[outF * in];
        for (int o = 0; o < outF; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int j = 0; j < r; j++) {
                    s += (double) m.b().get(o, j) * m.a().get(j, i);
                }
                w[o * in + i] = m.scaling() * s;
            }
        }
        return w;
    }
}
