package dev.lorakit.train;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.nn.CrossEntropy;
import java.util.Map;

/**
 * An independent float64 implementation of the Llama-family training loss, written plainly from
 * the Hugging Face modelling code (LlamaRMSNorm, rotate_half RoPE, causal grouped-query
 * attention, SwiGLU MLP, biases where the config has them, tied or separate LM head, mean
 * cross-entropy over non-ignored targets): the reference of the whole-model gradient check.
 * Weights are looked up by Hugging Face name in a map of float64 arrays, so a finite difference
 * perturbs one entry in place. Optional side branches per module (LoRA {@code s B (A x)} and
 * CA-LoRA recovery {@code s U GELU(D x)}, exact erf GELU) and the hidden states CA-LoRA
 * distils (the final RMS-normed one or a block's output) make it the reference of the CA-LoRA
 * gradient check too.
 *
 * <p>Legend: B sequences, T positions, N = B*T rows, C hidden, H/KV heads, D head dim, F FFN
 * size, V vocabulary.
 */
final class Float64Llama {
    private Float64Llama() {
    }

    /** The hidden state index of the final RMS-normed hidden state (as LlamaTrainingModel.FINAL_HIDDEN). */
    static final int FINAL = -1;

    /**
     * The side branches of one module, either part absent (null arrays): LoRA
     * {@code y += loraScale * (x A^T) B^T} with A [r, in], B [out, r], and recovery
     * {@code y += recScale * GELU(x D^T) U^T} with D [R, in], U [out, R].
     */
    record Branch(double[] a, double[] b, int loraRank, double loraScale, double[] d, double[] u, int recRank, double recScale) {
    }

    /**
     * sum over rows n with targets[n] != -100 of (logsumexp(logits_n) - logits_n[targets[n]]),
     * divided by {@code normaliser}.
     */
    static double loss(ModelConfig c, Map<String, double[]> w, int[] tokens, int[] targets, int B, int T, double normaliser) {
        return loss(c, w, Map.of(), tokens, targets, B, T, normaliser);
    }

    /** As {@link #loss(ModelConfig, Map, int[], int[], int, int, double)} with side branches by module path. */
    static double loss(ModelConfig c, Map<String, double[]> w, Map<String, Branch> branches, int[] tokens, int[] targets,
                       int B, int T, double normaliser) {
        int N = B * T;
        int V = c.vocabSize();
        int C = c.hiddenSize();
        double[] xf = hidden(c, w, branches, tokens, B, T, FINAL);
        double[] embed = w.get(WeightLayout.EMBED_TOKENS);
        double[] head = c.tieWordEmbeddings() ? embed : w.get(WeightLayout.LM_HEAD);
        double[] logits = linear(xf, head, null, N, C, V);
        double sum = 0;
        for (int n = 0; n < N; n++) {
            if (targets[n] == CrossEntropy.IGNORE) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                max = Math.max(max, logits[n * V + v]);
            }
            double s = 0;
            for (int v = 0; v < V; v++) {
                s += Math.exp(logits[n * V + v] - max);
            }
            sum += max + Math.log(s) - logits[n * V + targets[n]];
        }
        return sum / normaliser;
    }

    /** The final RMS-normed hidden state ({@link #FINAL}) or block {@code layer}'s output, [B*T, C]. */
    static double[] hidden(ModelConfig c, Map<String, double[]> w, Map<String, Branch> branches, int[] tokens, int B, int T,
                           int layer) {
        int N = B * T;
        int C = c.hiddenSize();
        double[] x = new double[N * C];
        double[] embed = w.get(WeightLayout.EMBED_TOKENS);
        for (int n = 0; n < N; n++) {
            System.arraycopy(embed, tokens[n] * C, x, n * C, C);
        }
        int last = layer == FINAL ? c.numHiddenLayers() - 1 : layer;
        for (int l = 0; l <= last; l++) {
            x = block(c, w, branches, l, x, B, T);
        }
        return layer == FINAL ? rmsnorm(x, w.get(WeightLayout.FINAL_NORM), c.rmsNormEps(), N, C) : x;
    }

    private static double[] block(ModelConfig c, Map<String, double[]> w, Map<String, Branch> br, int l, double[] x, int B,
                                  int T) {
        int N = B * T;
        int C = c.hiddenSize();
        int H = c.numAttentionHeads();
        int KV = c.numKeyValueHeads();
        int D = c.headDim();
        int F = c.intermediateSize();
        double[] xn = rmsnorm(x, w.get(WeightLayout.inputLayernorm(l)), c.rmsNormEps(), N, C);
        double[] q = project(c, w, br, l, Projection.Q_PROJ, xn, N);
        double[] k = project(c, w, br, l, Projection.K_PROJ, xn, N);
        double[] v = project(c, w, br, l, Projection.V_PROJ, xn, N);
        rope(q, c.ropeTheta(), N, T, H, D);
        rope(k, c.ropeTheta(), N, T, KV, D);
        double[] att = new double[N * H * D];
        double scale = 1 / Math.sqrt(D);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                int g = h / (H / KV);
                for (int t = 0; t < T; t++) {
                    int qo = (b * T + t) * H * D + h * D;
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        int ko = (b * T + t2) * KV * D + g * D;
                        double dot = 0;
                        for (int d = 0; d < D; d++) {
                            dot += q[qo + d] * k[ko + d];
                        }
                        s[t2] = dot * scale;
                        max = Math.max(max, s[t2]);
                    }
                    double z = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        s[t2] = Math.exp(s[t2] - max);
                        z += s[t2];
                    }
                    for (int t2 = 0; t2 <= t; t2++) {
                        int vo = (b * T + t2) * KV * D + g * D;
                        for (int d = 0; d < D; d++) {
                            att[qo + d] += s[t2] / z * v[vo + d];
                        }
                    }
                }
            }
        }
        double[] o = project(c, w, br, l, Projection.O_PROJ, att, N);
        double[] mid = new double[N * C];
        for (int i = 0; i < mid.length; i++) {
            mid[i] = x[i] + o[i];
        }
        double[] xn2 = rmsnorm(mid, w.get(WeightLayout.postAttentionLayernorm(l)), c.rmsNormEps(), N, C);
        double[] gate = project(c, w, br, l, Projection.GATE_PROJ, xn2, N);
        double[] up = project(c, w, br, l, Projection.UP_PROJ, xn2, N);
        double[] hidden = new double[N * F];
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
        }
        double[] down = project(c, w, br, l, Projection.DOWN_PROJ, hidden, N);
        double[] out = new double[N * C];
        for (int i = 0; i < out.length; i++) {
            out[i] = mid[i] + down[i];
        }
        return out;
    }

    private static double[] project(ModelConfig c, Map<String, double[]> w, Map<String, Branch> br, int l, Projection p,
                                    double[] x, int N) {
        int in = p.inFeatures(c);
        int out = p.outFeatures(c);
        double[] y = linear(x, w.get(p.weightName(l)), c.hasBias(p) ? w.get(p.biasName(l)) : null, N, in, out);
        Branch b = br.get(p.modulePath(l));
        if (b != null && b.a() != null) {
            double[] mid = linear(x, b.a(), null, N, in, b.loraRank());
            double[] delta = linear(mid, b.b(), null, N, b.loraRank(), out);
            for (int i = 0; i < y.length; i++) {
                y[i] += b.loraScale() * delta[i];
            }
        }
        if (b != null && b.d() != null) {
            double[] h = linear(x, b.d(), null, N, in, b.recRank());
            for (int i = 0; i < h.length; i++) {
                h[i] = 0.5 * h[i] * (1 + dev.lorakit.tensor.kernel.Erf.erf(h[i] / Math.sqrt(2)));
            }
            double[] delta = linear(h, b.u(), null, N, b.recRank(), out);
            for (int i = 0; i < y.length; i++) {
                y[i] += b.recScale() * delta[i];
            }
        }
        return y;
    }

    /** y = x W^T + b, W [out, in]. */
    static double[] linear(double[] x, double[] W, double[] b, int N, int in, int out) {
        double[] y = new double[N * out];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) {
                    s += x[n * in + i] * W[o * in + i];
                }
                y[n * out + o] = s;
            }
        }
        return y;
    }

    static double[] rmsnorm(double[] x, double[] w, double eps, int N, int C) {
        double[] y = new double[N * C];
        for (int n = 0; n < N; n++) {
            double ss = 0;
            for (int i = 0; i < C; i++) {
                ss += x[n * C + i] * x[n * C + i];
            }
            double r = 1 / Math.sqrt(ss / C + eps);
            for (int i = 0; i < C; i++) {
                y[n * C + i] = x[n * C + i] * r * w[i];
            }
        }
        return y;
    }

    /** HF rotate_half RoPE in place; row n is at position n % T. */
    static void rope(double[] q, double theta, int N, int T, int heads, int D) {
        int half = D / 2;
        for (int n = 0; n < N; n++) {
            int pos = n % T;
            for (int h = 0; h < heads; h++) {
                int o = n * heads * D + h * D;
                for (int i = 0; i < half; i++) {
                    double angle = pos / Math.pow(theta, 2.0 * i / D);
                    double cos = Math.cos(angle);
                    double sin = Math.sin(angle);
                    double a = q[o + i];
                    double b = q[o + i + half];
                    q[o + i] = a * cos - b * sin;
                    q[o + i + half] = b * cos + a * sin;
                }
            }
        }
    }
}
