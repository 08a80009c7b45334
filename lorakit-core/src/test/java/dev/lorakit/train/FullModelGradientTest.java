package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The whole-model gradient check of full-parameter training: on a tiny model of each
 * architecture (Llama: separate LM head; Qwen2: tied embeddings and q/k/v biases), the float32
 * {@link LlamaTrainingModel} in full mode gives the loss of an independent float64
 * implementation ({@link Float64Llama}) and, for every parameter tensor (embeddings, each
 * layer's norms, 7 projection weights and biases, final norm, LM head), gradients that match
 * float64 central finite differences of that reference at sampled entries. Error per tensor:
 * {@code max |analytic - fd| / max |fd|} over its sampled entries, at most {@link #TOL}.
 */
class FullModelGradientTest {
    /**
     * Normwise relative tolerance per tensor, float32 model against float64 differences
     * (observed: at most 1.3e-6; a gradient off by a factor 1.001 fails).
     */
    static final double TOL = 2e-5;
    /** Central-difference step in float64. */
    static final double EPS = 1e-6;
    /** Sampled entries per tensor. */
    static final int SAMPLES = 8;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = ModelArchitecture.class, names = {"LLAMA", "QWEN2"})
    void everyParameterGradientMatchesFiniteDifferencesOfAFloat64Reference(ModelArchitecture arch) {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(arch).withSizes(16, 24, 2, 4, 2, 23).withSeed(7));
        int B = 2;
        int T = 5;
        int[] lengths = {5, 3}; // the second row is padded: its tail predicts nothing
        Random rnd = new Random(11);
        int[] tokens = new int[B * T];
        int[] targets = new int[B * T];
        java.util.Arrays.fill(targets, CrossEntropy.IGNORE);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                tokens[b * T + t] = rnd.nextInt(12); // ids 12..22 unused: their embedding rows get no lookup gradient
            }
            for (int t = 0; t + 1 < lengths[b]; t++) {
                targets[b * T + t] = tokens[b * T + t + 1];
            }
        }
        double count = CrossEntropy.countTargets(targets, targets.length);

        FullParameters params = FullParameters.load(model);
        ModelConfig c = params.config();
        double loss;
        try (LlamaTrainingModel m = LlamaTrainingModel.full(params)) {
            m.zeroGrad();
            loss = m.forward(tokens, targets, B, T, count, 0f, 0);
            m.backward();
        }
        Map<String, double[]> w = new LinkedHashMap<>();
        for (NamedParameter p : params.parameters()) {
            double[] v = new double[p.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = p.value(i);
            }
            w.put(p.name(), v);
        }
        double refLoss = Float64Llama.loss(c, w, tokens, targets, B, T, count);
        assertEquals(refLoss, loss, 1e-5 * Math.abs(refLoss), "float32 training loss vs float64 reference");

        Set<String> groups = new LinkedHashSet<>();
        for (NamedParameter p : params.parameters()) {
            double[] v = w.get(p.name());
            int[] at = sample(rnd, p.name(), v.length, c.hiddenSize());
            double maxRef = 0;
            double maxDiff = 0;
            for (int i : at) {
                double keep = v[i];
                v[i] = keep + EPS;
                double up = Float64Llama.loss(c, w, tokens, targets, B, T, count);
                v[i] = keep - EPS;
                double down = Float64Llama.loss(c, w, tokens, targets, B, T, count);
                v[i] = keep;
                double fd = (up - down) / (2 * EPS);
                maxRef = Math.max(maxRef, Math.abs(fd));
                maxDiff = Math.max(maxDiff, Math.abs(p.grad(i) - fd));
            }
            assertTrue(maxRef > 1e-6, p.name() + ": the sampled gradient entries are all about zero (" + maxRef + ")");
            double err = maxDiff / maxRef;
            assertTrue(err <= TOL, p.name() + ": relative error " + err + " > " + TOL);
            groups.add(group(p.name()));
        }
        List<String> expected = new ArrayList<>(List.of("embed_tokens", "input_layernorm", "q_proj.weight", "k_proj.weight",
                "v_proj.weight", "o_proj.weight", "post_attention_layernorm", "gate_proj.weight", "up_proj.weight",
                "down_proj.weight", "norm"));
        if (c.tieWordEmbeddings()) {
            assertTrue(!params.contains(WeightLayout.LM_HEAD), "tied: no separate LM head tensor");
        } else {
            expected.add("lm_head");
        }
        if (arch == ModelArchitecture.QWEN2) {
            expected.addAll(List.of("q_proj.bias", "k_proj.bias", "v_proj.bias"));
        }
        assertEquals(Set.copyOf(expected), groups, "every parameter group was checked");
    }

    /**
     * Entries to check: for the embedding table, rows of ids in the batch and two unused rows
     * (with a tied head, those get the LM head's gradient only); elsewhere uniformly at random.
     */
    static int[] sample(Random rnd, String name, int size, int C) {
        int count = Math.min(SAMPLES, size);
        int[] at = new int[count];
        for (int j = 0; j < count; j++) {
            if (name.equals(WeightLayout.EMBED_TOKENS)) {
                int row = j < count - 2 ? rnd.nextInt(12) : 12 + rnd.nextInt(11);
                at[j] = row * C + rnd.nextInt(C);
            } else {
                at[j] = rnd.nextInt(size);
            }
        }
        return at;
    }

    /** The parameter group of a tensor name: "model.layers.0.self_attn.q_proj.weight" -> "q_proj.weight". */
    static String group(String name) {
        String[] parts = name.split("\\.");
        return switch (parts[parts.length - 2]) {
            case "embed_tokens", "input_layernorm", "post_attention_layernorm", "norm", "lm_head" -> parts[parts.length - 2];
            default -> parts[parts.length - 2] + "." + parts[parts.length - 1];
        };
    }
}
