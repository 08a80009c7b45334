package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The property users ask for, for every registered method at its defaults (density 1 where the
 * method trims): merging ONE adapter with weight 1 gives back the same dW, for a plain, an
 * rsLoRA and a rank_pattern/alpha_pattern adapter, through files.
 */
class EveryMethodIdentityTest {
    @TempDir
    Path dir;

    static List<String> methods() {
        return MergeMethods.NAMES;
    }

    @ParameterizedTest
    @MethodSource("methods")
    void oneAdapterWithWeightOneComesBack(String method) throws Exception {
        String q = "model.layers.0.self_attn.q_proj";
        String v = "model.layers.0.self_attn.v_proj";
        String down = "model.layers.1.mlp.down_proj";
        List<Path> inputs = List.of(
                TinyAdapters.spec(11).module(q, 24, 24).module(down, 40, 24).rank(4).alpha(8).write(dir.resolve("plain")),
                TinyAdapters.spec(12).module(q, 24, 24).module(v, 24, 8).rank(8).alpha(4).rslora(true).dtype(DType.BF16)
                        .write(dir.resolve("rslora")),
                TinyAdapters.spec(13).module(q, 24, 24).module(v, 24, 8).module(down, 40, 24).rank(2).alpha(2)
                        .rankPattern("v_proj", 6).alphaPattern("v_proj", 3).rankPattern("down_proj", 5)
                        .dtype(DType.F16).write(dir.resolve("pattern")));
        boolean trims = method.equals("ties") || method.startsWith("dare") || method.equals("magnitude");
        MergeOptions options = MergeOptions.defaults().withDensity(trims ? 1.0 : null);
        for (Path input : inputs) {
            Path out = dir.resolve(method + "-" + input.getFileName());
            try (MergeInputs in = MergeInputs.open(List.of(input), null)) {
                LoraMerger.merge(in, MergeMethods.create(method, options), DType.F32, out, null);
            }
            try (LoraAdapter a = LoraAdapter.open(input); LoraAdapter m = LoraAdapter.open(out)) {
                for (LoraModule original : a.modules()) {
                    double err = MergeFixtures.relativeError(MergeFixtures.dense(m.module(original.name())),
                            MergeFixtures.dense(original));
                    assertTrue(err < 1e-6, method + " " + input.getFileName() + " " + original.name() + ": " + err);
                }
            }
        }
    }
}
