package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A tiny one-block Llama composed from the nn layers (embedding, RMSNorm, q/k/v with LoRA on all
 * three, RoPE, grouped-query attention, o, residual, RMSNorm, gate/up, SwiGLU, down with LoRA,
 * residual, final RMSNorm, LM head, cross-entropy with ignored targets), frozen weights in mixed
 * dtypes, dropout masks held fixed on two LoRAs. The float32 loss and every LoRA's dA and dB must
 * match a float64 reference of the same composite (built from the layer tests' references) and
 * its central finite differences, within {@link #TOL} (observed: at most 3e-6).
 *
 * <p>Legend: B sequences, T positions, N = B*T rows, C channels, H/KV heads, D head dim, F FFN
 * size, V vocabulary, R LoRA ranks.
 */
class LlamaBlockGradientTest {
    /** Normwise relative tolerance for the LoRA gradients of the whole block. */
    static final double TOL = 1e-4;

    private static final int B = 2, T = 4, N = B * T, C = 12, H = 4, KV = 2, D = 4, F = 20, V = 17;
    private static final int QD = H * D, KVD = KV * D;
    private static final float EPS = 1e-5f;

    /** One LoRA: trainable A [R,in], B [out,R], scale, optional fixed dropout mask [N,in]. */
    private static final class LoraParams {
        final int in, out, r;
        final float s;
        final float[] a, b, mask;
        final double[] a64, b64; // the reference's copies (perturbed by the finite differences)
        final float[] dA, dB;
        float[] xDrop, u;

        LoraParams(Random rnd, int in, int out, int r, float alpha, float p, long seed) {
            this.in = in;
            this.out = out;
            this.r = r;
            this.s = alpha / r;
            this.a = randn(rnd, r * in, 0.4);
            this.b = randn(rnd, out * r, 0.4);
            this.a64 = d(a);
            this.b64 = d(b);
            this.dA = new float[r * in];
            this.dB = new float[out * r];
            if (p > 0) {
                mask = new float[N * in];
                Dropout.sampleMask(mask, p, seed, N * in);
            } else {
                mask = null;
            }
        }

        /** float32: y += s B A (x * mask); saves xDrop and u. */
        void forward(float[] y, float[] x) {
            xDrop = mask == null ? x : new float[N * in];
            u = new float[N * r];
            Lora.forward(y, mask == null ? null : xDrop, u, x, mask, a, b, s, new float[Lora.workSize(N, in, r, true)], N, in, out, r);
        }

        void backward(float[] dx, float[] dy) {
            Lora.backward(dx, dA, dB, dy, xDrop, u, mask, a, b, s, new float[Lora.workSize(N, in, r, mask != null)], N, in, out, r);
        }

        /** float64 reference of the frozen product plus this branch. */
        double[] reference(double[] x, double[] w) {
            return LoraTest.reference(LinearTest.reference(x, w, null, N, in, out), x, mask, a64, b64, s, N, in, out, r);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void loraGradientsOfTheWholeBlockMatchFiniteDifferences(int seed) {
        TinyBlock m = new TinyBlock(seed);
        double loss = m.forwardBackward();
        assertEquals(m.referenceLoss(), loss, 1e-5 * Math.abs(loss), "loss");
        for (LoraParams p : new LoraParams[] {m.q, m.k, m.v, m.down}) {
            String name = p == m.q ? "q" : p == m.k ? "k" : p == m.v ? "v" : "down";
            assertClose(name + " dA", numeric(p.a64, m::referenceLoss), p.dA, TOL);
            assertClose(name + " dB", numeric(p.b64, m::referenceLoss), p.dB, TOL);
        }
    }

    /** The block's inputs, frozen weights and LoRAs, and its float32 and float64 computations. */
    private static final class TinyBlock {
        private final int[] ids = new int[N];
        private final int[] targets = new int[N];
        private final int[] pos = new int[N];
        private final float[] cos;
        private final float[] sin;
        private final Tensor embed, wq, wk, wv, wo, wg, wu, wd, lmHead;
        private final float[] inNorm, postNorm, finalNorm;
        private final LoraParams q, k, v, down;

        TinyBlock(int seed) {
            Random rnd = new Random(seed);
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    ids[b * T + t] = rnd.nextInt(V);
                    pos[b * T + t] = t;
                }
            }
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    // next-token labels; the last position of each sequence has none
                    targets[b * T + t] = t + 1 < T ? ids[b * T + t + 1] : CrossEntropy.IGNORE;
                }
            }
            targets[1] = CrossEntropy.IGNORE; // a masked prompt token
            float[][] cs = RopeTest.tables(T, D);
            cos = cs[0];
            sin = cs[1];
            embed = GradCheck.weight(rnd, DType.BF16, V, C, 1.0);
            wq = GradCheck.weight(rnd, DType.BF16, QD, C, 0.4);
            wk = GradCheck.weight(rnd, DType.F16, KVD, C, 0.4);
            wv = GradCheck.weight(rnd, DType.F32, KVD, C, 0.4);
            wo = GradCheck.weight(rnd, DType.BF16, C, QD, 0.3);
            wg = GradCheck.weight(rnd, DType.F16, F, C, 0.4);
            wu = GradCheck.weight(rnd, DType.BF16, F, C, 0.4);
            wd = GradCheck.weight(rnd, DType.F32, C, F, 0.3);
            lmHead = GradCheck.weight(rnd, DType.F16, V, C, 0.5);
            inNorm = norm(rnd);
            postNorm = norm(rnd);
            finalNorm = norm(rnd);
            q = new LoraParams(rnd, C, QD, 2, 4f, 0.2f, 101);
            k = new LoraParams(rnd, C, KVD, 1, 2f, 0f, 0);
            v = new LoraParams(rnd, C, KVD, 3, 6f, 0f, 0);
            down = new LoraParams(rnd, F, C, 4, 8f, 0.1f, 102);
        }

        private static float[] norm(Random rnd) {
            float[] w = randn(rnd, C, 0.2);
            for (int i = 0; i < C; i++) {
                w[i] += 1f;
            }
            return w;
        }

        /** The float32 block from the nn layers: forward, then backward into every LoRA's dA, dB; returns the loss. */
        private double forwardBackward() {
            // ---- forward ----
            float[] x0 = new float[N * C];                 // [N,C] embeddings
            Embedding.forward(x0, ids, embed, N);
            float[] xn1 = new float[N * C];                // [N,C] input norm
            float[] rstd1 = new float[N];
            RmsNorm.forward(xn1, rstd1, x0, inNorm, EPS, N, C);
            float[] qa = new float[N * QD];                // [N,H*D]
            float[] ka = new float[N * KVD];               // [N,KV*D]
            float[] va = new float[N * KVD];               // [N,KV*D]
            Linear.forward(qa, xn1, wq, null, N);
            q.forward(qa, xn1);
            Linear.forward(ka, xn1, wk, null, N);
            k.forward(ka, xn1);
            Linear.forward(va, xn1, wv, null, N);
            v.forward(va, xn1);
            Rope.forward(qa, ka, pos, cos, sin, N, H, KV, D);
            float[] att = new float[B * H * T * T];        // [B,H,T,T]
            float[] a = new float[N * QD];                 // [N,H*D] attention output
            Attention.forward(a, att, qa, ka, va, B, T, H, KV, D);
            float[] x1 = new float[N * C];                 // [N,C] x0 + o
            Linear.forward(x1, a, wo, null, N);
            add(x1, x0);
            float[] xn2 = new float[N * C];
            float[] rstd2 = new float[N];
            RmsNorm.forward(xn2, rstd2, x1, postNorm, EPS, N, C);
            float[] g = new float[N * F];                  // [N,F]
            float[] u = new float[N * F];                  // [N,F]
            float[] h = new float[N * F];                  // [N,F] silu(g) * u
            Linear.forward(g, xn2, wg, null, N);
            Linear.forward(u, xn2, wu, null, N);
            SwiGlu.forward(h, g, u, N * F);
            float[] x2 = new float[N * C];                 // [N,C] x1 + down(h)
            Linear.forward(x2, h, wd, null, N);
            down.forward(x2, h);
            add(x2, x1);
            float[] xn3 = new float[N * C];
            float[] rstd3 = new float[N];
            RmsNorm.forward(xn3, rstd3, x2, finalNorm, EPS, N, C);
            float[] logits = new float[N * V];             // [N,V]
            Linear.forward(logits, xn3, lmHead, null, N);
            int count = CrossEntropy.countTargets(targets, N);
            double loss = CrossEntropy.forward(new float[N], logits, targets, count, N, V);

            // ---- backward ----
            float[] dLogits = new float[N * V];
            CrossEntropy.backward(dLogits, logits, targets, count, N, V);
            float[] dxn3 = new float[N * C];
            Linear.backwardInput(dxn3, dLogits, lmHead, N);
            float[] dx2 = new float[N * C];
            RmsNorm.backward(dx2, null, dxn3, x2, finalNorm, rstd3, N, C);
            // x2 = x1 + down(h)
            float[] dx1 = dx2.clone();
            float[] dh = new float[N * F];
            Linear.backwardInput(dh, dx2, wd, N);
            down.backward(dh, dx2);
            float[] dg = new float[N * F];
            float[] du = new float[N * F];
            SwiGlu.backward(dg, du, dh, g, u, N * F);
            float[] dxn2 = new float[N * C];
            Linear.backwardInput(dxn2, dg, wg, N);
            Linear.backwardInput(dxn2, du, wu, N);
            RmsNorm.backward(dx1, null, dxn2, x1, postNorm, rstd2, N, C);
            // x1 = x0 + o(a)
            float[] da = new float[N * QD];
            Linear.backwardInput(da, dx1, wo, N);
            float[] dq = new float[N * QD];
            float[] dk = new float[N * KVD];
            float[] dv = new float[N * KVD];
            Attention.backward(dq, dk, dv, da, att, qa, ka, va, B, T, H, KV, D);
            Rope.backward(dq, dk, pos, cos, sin, N, H, KV, D);
            float[] dxn1 = new float[N * C];
            Linear.backwardInput(dxn1, dq, wq, N);
            q.backward(dxn1, dq);
            Linear.backwardInput(dxn1, dk, wk, N);
            k.backward(dxn1, dk);
            Linear.backwardInput(dxn1, dv, wv, N);
            v.backward(null, dv); // the last one needs no input gradient to check dA, dB
            return loss;
        }

        private static void add(float[] acc, float[] x) {
            for (int i = 0; i < acc.length; i++) {
                acc[i] += x[i];
            }
        }

        /** The same block in float64 from the layer tests' references, reading the same stored weights. */
        private double referenceLoss() {
            double[] x0 = EmbeddingTest.reference(ids, d(embed), N, C);
            double[] xn1 = RmsNormTest.reference(x0, d(inNorm), EPS, N, C);
            double[] qa = RopeTest.reference(q.reference(xn1, d(wq)), pos, cos, sin, N, H, D);
            double[] ka = RopeTest.reference(k.reference(xn1, d(wk)), pos, cos, sin, N, KV, D);
            double[] va = v.reference(xn1, d(wv));
            double[] a = AttentionTest.reference(qa, ka, va, null, B, T, H, KV, D);
            double[] x1 = LinearTest.reference(a, d(wo), null, N, QD, C);
            add(x1, x0);
            double[] xn2 = RmsNormTest.reference(x1, d(postNorm), EPS, N, C);
            double[] h = SwiGluTest.reference(LinearTest.reference(xn2, d(wg), null, N, C, F), LinearTest.reference(xn2, d(wu), null, N, C, F));
            double[] x2 = down.reference(h, d(wd));
            add(x2, x1);
            double[] xn3 = RmsNormTest.reference(x2, d(finalNorm), EPS, N, C);
            double[] logits = LinearTest.reference(xn3, d(lmHead), null, N, C, V);
            return CrossEntropyTest.reference(logits, targets, CrossEntropy.countTargets(targets, N), N, V);
        }

        private static void add(double[] acc, double[] x) {
            for (int i = 0; i < acc.length; i++) {
                acc[i] += x[i];
            }
        }
    }
}
