package dev.lorakit.synth;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random PEFT LoRA adapters for a model config, reproducible from a seed: A ~ N(0, 1/in) and
 * B ~ N(0, stdB^2) on the chosen projections of every layer, with the ranks and alphas the
 * LoRA config gives each module (rank_pattern / alpha_pattern honoured).
 */
public final class SyntheticAdapter {
    private SyntheticAdapter() {
    }

    /** The random modules, layer by layer in projection order. */
    public static List<LoraModule> modules(ModelConfig base, LoraConfig lora, Collection<Projection> targets, DType dtype,
                                           long seed, double stdB) {
        List<String> names = new ArrayList<>();
        List<Projection> projections = new ArrayList<>();
        for (int layer = 0; layer < base.numHiddenLayers(); layer++) {
            for (Projection p : Projection.values()) {
                if (targets.contains(p)) {
                    names.add(p.modulePath(layer));
                    projections.add(p);
                }
            }
        }
        LoraModule[] out = new LoraModule[names.size()];
        Parallel.forRange(out.length, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                String name = names.get(i);
                Projection p = projections.get(i);
                int in = p.inFeatures(base);
                int outFeatures = p.outFeatures(base);
                int r = lora.rank(name);
                SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + i);
                Tensor a = random(rnd, dtype, 1 / Math.sqrt(in), r, in);
                Tensor b = random(rnd, dtype, stdB, outFeatures, r);
                out[i] = LoraModule.of(name, a, b, lora);
            }
        });
        return List.of(out);
    }

    /** Writes a PEFT adapter directory (replacing {@code dir} atomically). */
    public static void write(Path dir, ModelConfig base, LoraConfig lora, Collection<Projection> targets, DType dtype,
                             long seed, double stdB) throws IOException {
        LoraAdapterWriter.write(dir, lora, modules(base, lora, targets, dtype, seed, stdB));
    }

    private static Tensor random(SplittableRandom rnd, DType dtype, double std, int... dims) {
        Tensor t = Tensor.zeros(dtype, dims);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) (std * SyntheticModel.gaussian(rnd)));
        }
        return t;
    }
}
