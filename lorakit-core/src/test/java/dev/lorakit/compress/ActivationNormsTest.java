package dev.lorakit.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The calibration sums of squares equal those of every linear layer's input computed directly,
 * in float64, by a reference forward written here from the architecture's definition. With
 * one-token sequences attention is trivial (softmax over one position is 1, so each head's output
 * is its KV head's value, and RoPE at position 0 is the identity), which makes the whole network
 * easy to state independently of the model code.
 */
class ActivationNormsTest {
    @TempDir
    Path dir;

    /** Sum over the given one-token sequences of x_j^2 for every module's input x. */
    static Map<String, double[]> referenceSums(HfModelDirectory m, int[] tokens) {
        ModelConfig c = m.config();
        int C = c.hiddenSize();
        int F = c.intermediateSize();
        int D = c.headDim();
        int group = c.queriesPerKeyValueHead();
        double eps = c.rmsNormEps();
        float[] embed = m.weight(WeightLayout.EMBED_TOKENS).toFloatArray();
        Map<String, double[]> sums = new HashMap<>();
        for (int token : tokens) {
            double[] x = new double[C];
            for (int i = 0; i < C; i++) {
                x[i] = embed[token * C + i];
            }
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                double[] xn = rmsnorm(x, m.weight(WeightLayout.inputLayernorm(l)).toFloatArray(), eps);
                add(sums, Projection.Q_PROJ.modulePath(l), xn);
                add(sums, Projection.K_PROJ.modulePath(l), xn);
                add(sums, Projection.V_PROJ.modulePath(l), xn);
                double[] v = matvec(m.weight(Projection.V_PROJ.weightName(l)).toFloatArray(), xn, c.keyValueDim());
                double[] att = new double[c.queryDim()];
                for (int h = 0; h < c.numAttentionHeads(); h++) {
                    for (int d = 0; d < D; d++) {
                        att[h * D + d] = v[(h / group) * D + d];
                    }
                }
                add(sums, Projection.O_PROJ.modulePath(l), att);
                double[] o = matvec(m.weight(Projection.O_PROJ.weightName(l)).toFloatArray(), att, C);
                for (int i = 0; i < C; i++) {
                    x[i] += o[i];
                }
                double[] hn = rmsnorm(x, m.weight(WeightLayout.postAttentionLayernorm(l)).toFloatArray(), eps);
                add(sums, Projection.GATE_PROJ.modulePath(l), hn);
                add(sums, Projection.UP_PROJ.modulePath(l), hn);
                double[] g = matvec(m.weight(Projection.GATE_PROJ.weightName(l)).toFloatArray(), hn, F);
                double[] u = matvec(m.weight(Projection.UP_PROJ.weightName(l)).toFloatArray(), hn, F);
                double[] a = new double[F];
                for (int i = 0; i < F; i++) {
                    a[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                }
                add(sums, Projection.DOWN_PROJ.modulePath(l), a);
                double[] d = matvec(m.weight(Projection.DOWN_PROJ.weightName(l)).toFloatArray(), a, C);
                for (int i = 0; i < C; i++) {
                    x[i] += d[i];
                }
            }
            add(sums, "lm_head", rmsnorm(x, m.weight(WeightLayout.FINAL_NORM).toFloatArray(), eps));
        }
        return sums;
    }

    static double[] rmsnorm(double[] x, float[] w, double eps) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        double r = 1 / Math.sqrt(ms / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * r * w[i];
        }
        return out;
    }

    static double[] matvec(float[] w, double[] x, int rows) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < x.length; j++) {
                s += w[r * x.length + j] * x[j];
            }
            y[r] = s;
        }
        return y;
    }

    static void add(Map<String, double[]> sums, String module, double[] x) {
        double[] s = sums.computeIfAbsent(module, k -> new double[x.length]);
        for (int j = 0; j < x.length; j++) {
            s[j] += x[j] * x[j];
        }
    }

    static void assertClose(double[] expected, double[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int j = 0; j < expected.length; j++) {
            // float32 activations against a float64 reference: a few ulps of float per element.
            assertEquals(expected[j], actual[j], 1e-4 * Math.max(1e-3, Math.abs(expected[j])), what + " [" + j + "]");
        }
    }

    @Test
    void sumsOfSquaresMatchAReferenceForwardOfEveryLayer() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        int[] tokens = {5, 17, 200, 3};
        ActivationNorms norms;
        try (LlamaModel lm = LlamaModel.open(model, List.of())) {
            List<int[]> sequences = java.util.Arrays.stream(tokens).mapToObj(t -> new int[] {t}).toList();
            norms = ActivationNorms.collect(lm, sequences, null);
        }
        assertEquals(4, norms.sequences());
        assertEquals(4, norms.tokens());
        try (HfModelDirectory m = HfModelDirectory.open(model)) {
            Map<String, double[]> expected = referenceSums(m, tokens);
            assertEquals(2 * 7 + 1, norms.modules().size());
            assertEquals(expected.keySet(), norms.modules());
            for (Map.Entry<String, double[]> e : expected.entrySet()) {
                assertClose(e.getValue(), norms.sumOfSquares(e.getKey()), e.getKey());
            }
            // norms() is the square root of the sums, rounded to float.
            double[] s = norms.sumOfSquares(Projection.DOWN_PROJ.modulePath(1));
            float[] n = norms.norms(Projection.DOWN_PROJ.modulePath(1));
            for (int j = 0; j < s.length; j++) {
                assertEquals((float) Math.sqrt(s[j]), n[j]);
            }
        }
    }

    @Test
    void longerSequencesAccumulateEveryPosition() throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(ModelArchitecture.LLAMA).withSeed(7));
        int[] seq = {9, 100, 42, 7, 255, 0};
        ActivationNorms norms;
        try (LlamaModel lm = LlamaModel.open(model, List.of())) {
            norms = ActivationNorms.collect(lm, List.of(seq, new int[] {11, 12}), null);
        }
        assertEquals(8, norms.tokens());
        try (HfModelDirectory m = HfModelDirectory.open(model)) {
            // Layer 0's q/k/v and input norm see each position's own embedding, whatever the attention does.
            Map<String, double[]> expected = referenceSums(m, new int[] {9, 100, 42, 7, 255, 0, 11, 12});
            for (Projection p : List.of(Projection.Q_PROJ, Projection.K_PROJ, Projection.V_PROJ)) {
                String module = p.modulePath(0);
                assertClose(expected.get(module), norms.sumOfSquares(module), module);
            }
            assertArrayEquals(norms.sumOfSquares(Projection.GATE_PROJ.modulePath(1)),
                    norms.sumOfSquares(Projection.UP_PROJ.modulePath(1)), "gate and up share their input");
        }
    }
}
