package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
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

/** cat is exact: dW = sum_t w_t s_t B_t A_t for any mix of ranks, alphas, rsLoRA, patterns and modules. */
class CatMergeTest {
    @TempDir
    Path dir;

    private static final String Q = "model.layers.0.self_attn.q_proj";
    private static final String V = "model.layers.0.self_attn.v_proj";
    private static final String DOWN = "model.layers.0.mlp.down_proj";

    private Path plain() throws Exception {
        return TinyAdapters.spec(1).module(Q, 16, 16).module(V, 16, 8).rank(4).alpha(8).write(dir.resolve("plain"));
    }

    private Path rslora() throws Exception {
        return TinyAdapters.spec(2).module(Q, 16, 16).module(DOWN, 24, 16).rank(8).alpha(4).rslora(true)
                .dtype(DType.BF16).write(dir.resolve("rslora"));
    }

    private Path patterned() throws Exception {
        return TinyAdapters.spec(3).module(Q, 16, 16).module(V, 16, 8).rank(2).alpha(2)
                .rankPattern("v_proj", 6).alphaPattern("v_proj", 3).dtype(DType.F16).write(dir.resolve("pattern"));
    }

    @Test
    void catEqualsTheExactWeightedSumAcrossMixedInputs() throws Exception {
        List<Path> inputs = List.of(plain(), rslora(), patterned());
        List<Double> weights = List.of(0.5, -1.25, 2.0);
        Path out = dir.resolve("out");
        MergeResult result;
        try (MergeInputs in = MergeInputs.open(inputs, weights)) {
            result = LoraMerger.merge(in, new CatMerge(), DType.F32, out, null);
        }
        // q: 4 + 8 + 2 = 14; v: 4 + 6 = 10; down: 8 -> the adapter's rank is 14, the others zero-padded
        assertEquals(14, result.rank());
        assertEquals(List.of(Q, V, DOWN), result.modules().stream().map(ModuleResult::name).toList());
        assertEquals(List.of(14, 10, 8), result.modules().stream().map(ModuleResult::rank).toList());
        try (LoraAdapter merged = LoraAdapter.open(out)) {
            assertEquals(14, merged.config().r());
            assertEquals(14.0, merged.config().loraAlpha());
            assertFalse(merged.config().useRslora());
            assertTrue(merged.config().rankPattern().isEmpty());
            for (String name : List.of(Q, V, DOWN)) {
                LoraModule m = merged.module(name);
                assertEquals(1.0, m.scaling());
                double[] expected = MergeFixtures.weightedSum(inputs, weights, name);
                assertTrue(MergeFixtures.relativeError(MergeFixtures.dense(m), expected) < 1e-6, name);
            }
        }
        for (ModuleResult m : result.modules()) {
            assertTrue(m.relativeError() < 1e-6, m.name() + " error " + m.relativeError());
        }
    }

    @Test
    void mergingOneAdapterWithWeightOneGivesItBack() throws Exception {
        for (Path input : List.of(plain(), rslora(), patterned())) {
            Path out = dir.resolve("one-" + input.getFileName());
            try (MergeInputs in = MergeInputs.open(List.of(input), null)) {
                LoraMerger.merge(in, new CatMerge(), DType.F32, out, null);
            }
            try (LoraAdapter a = LoraAdapter.open(input); LoraAdapter m = LoraAdapter.open(out)) {
                for (LoraModule original : a.modules()) {
                    double[] expected = MergeFixtures.dense(original);
                    double err = MergeFixtures.relativeError(MergeFixtures.dense(m.module(original.name())), expected);
                    assertTrue(err < 1e-6, input + " " + original.name() + ": " + err);
                }
            }
        }
    }

    @Test
    void exactSumAndReconstructionErrorAgreeWithDenseAlgebra() {
        ModuleFactors f = MergeFixtures.randomModule(7, 13, 9, new int[] {3, 5}, new double[] {1, -0.5},
                new double[] {2, 0.25});
        double[] dense = new double[9 * 13];
        for (ScaledFactors t : f.terms()) {
            for (int o = 0; o < 9; o++) {
                for (int i = 0; i < 13; i++) {
                    for (int k = 0; k < t.rank(); k++) {
                        dense[o * 13 + i] += t.coefficient() * t.bt()[k * 9 + o] * t.a()[k * 13 + i];
                    }
                }
            }
        }
        assertArrayEquals(dense, f.denseSum(), 1e-12);
        assertTrue(ReconstructionError.relative(f, f.exactSum()) < 1e-7);
        // a deliberately wrong update: half the exact sum has relative error exactly 0.5
        LowRankUpdate exact = f.exactSum();
        double[] halfB = exact.bt().clone();
        for (int i = 0; i < halfB.length; i++) {
            halfB[i] *= 0.5;
        }
        LowRankUpdate half = new LowRankUpdate(exact.rank(), 13, 9, exact.a(), halfB);
        assertEquals(0.5, ReconstructionError.relative(f, half), 1e-9);
        double denseNorm = Math.sqrt(java.util.Arrays.stream(dense).map(v -> v * v).sum());
        assertEquals(denseNorm, ReconstructionError.frobeniusNorm(exact), 1e-12 * denseNorm);
        // padding adds zero terms and changes nothing
        assertArrayEquals(exact.dense(), exact.padTo(exact.rank() + 3).dense(), 0);
        assertEquals(0, ReconstructionError.relative(f, exact.padTo(11)), 1e-7);
        assertTrue(JsonNodeFactory.instance.objectNode().isEmpty());
    }

    @Test
    void badInputsAreRefusedAndNothingIsWritten() throws Exception {
        Path a = plain();
        Path out = dir.resolve("never");
        BadInputException e = assertThrows(BadInputException.class, () -> MergeInputs.open(List.of(), null));
        assertTrue(e.getMessage().contains("no input adapters"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> MergeInputs.open(List.of(a, a), List.of(1.0)));
        assertTrue(e.getMessage().contains("--weights"), e.getMessage());
        // the same module with a different shape in another adapter
        Path other = TinyAdapters.spec(9).module(Q, 32, 16).rank(4).write(dir.resolve("other-base"));
        e = assertThrows(BadInputException.class, () -> MergeInputs.open(List.of(a, other), null));
        assertTrue(e.getMessage().contains(Q) && e.getMessage().contains("shape conflict")
                && e.getMessage().contains(a.toString()) && e.getMessage().contains(other.toString()), e.getMessage());
        // a missing config
        Path noConfig = dir.resolve("no-config");
        Files.createDirectories(noConfig);
        e = assertThrows(BadInputException.class, () -> MergeInputs.open(List.of(noConfig), null));
        assertTrue(e.getMessage().contains("adapter_config.json"), e.getMessage());
        // DoRA
        Path dora = TinyAdapters.writeRaw(dir.resolve("dora"),
                "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"use_dora\": true, \"target_modules\": [\"q_proj\"]}",
                java.util.Map.of());
        e = assertThrows(BadInputException.class, () -> MergeInputs.open(List.of(dora), null));
        assertTrue(e.getMessage().toLowerCase().contains("dora"), e.getMessage());
        // writing over an input
        try (MergeInputs in = MergeInputs.open(List.of(a), null)) {
            e = assertThrows(BadInputException.class, () -> LoraMerger.merge(in, new CatMerge(), DType.F32, a, null));
            assertTrue(e.getMessage().contains("input"), e.getMessage());
            e = assertThrows(BadInputException.class, () -> LoraMerger.merge(in, new CatMerge(), DType.I32, out, null));
        }
        assertThrows(BadInputException.class, () -> MergeOptions.defaults().withRank(0));
        assertThrows(BadInputException.class, () -> MergeMethods.create("cat", MergeOptions.defaults().withRank(4)));
        e = assertThrows(BadInputException.class, () -> MergeMethods.create("avg", MergeOptions.defaults()));
        assertTrue(e.getMessage().contains("cat"), e.getMessage());
        assertFalse(Files.exists(out));
        assertTrue(Files.isRegularFile(a.resolve("adapter_model.safetensors")));
    }
}
