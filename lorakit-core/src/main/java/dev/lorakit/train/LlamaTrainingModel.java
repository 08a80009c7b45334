package dev.lorakit.train;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.model.RopeTables;
import dev.lorakit.nn.Attention;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.nn.Dropout;
import dev.lorakit.nn.Embedding;
import dev.lorakit.nn.Linear;
import dev.lorakit.nn.Lora;
import dev.lorakit.nn.RmsNorm;
import dev.lorakit.nn.Rope;
import dev.lorakit.nn.SwiGlu;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.ops.Ops;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama-family model set up for training, in one of two modes. LoRA: frozen base weights stay
 * memory-mapped in their stored dtype; the trainable {@link LoraParameters} sit beside any of the
 * 7 projections of any layer. Full ({@link FullParameters}): every weight is a trainable float32
 * array and gets a gradient (projection weights and biases, norms, embeddings, LM head; tied
 * embeddings sum both gradients). {@link #forward} keeps every activation its backward needs
 * (llm.c style, one buffer per role, grown to the largest batch seen); {@link #backward} walks
 * the same lines in reverse and accumulates the gradients of whatever is trainable. In LoRA mode
 * gradients flow through the frozen weights (matmuls with W in its stored dtype) but never into
 * them, and no weight-gradient work is done.
 *
 * <p>Legend: B sequences, T positions (padded), N = B*T rows, C hidden, H/KV heads, D head dim,
 * F FFN size, V vocabulary, R a LoRA rank.
 */
public final class LlamaTrainingModel implements AutoCloseable {
    private final HfModelDirectory dir;         // null in full mode (the weights are copies)
    private final FullParameters full;          // null in LoRA mode
    private final ModelConfig c;
    private final Tensor embed;                 // [V, C]
    private final Tensor lmHead;                // [V, C] (the embedding when tied)
    private final float[] finalNorm;            // [C]
    private final float[] dEmbed;               // [V, C] full mode only, else null
    private final float[] dLmHead;              // [V, C] full mode only (dEmbed itself when tied)
    private final float[] dFinalNorm;           // [C] full mode only
    private final BlockWeights[] blocks;
    private final BlockGrads[] blockGrads;      // full mode only, else null
    private final List<LoraParameters> loras;
    private final LoraParameters[][] loraAt;   // [layer][projection] or null
    private final RopeTables rope;
    private final float eps;

    /** Weights of one block (frozen in LoRA mode, views of the trained arrays in full mode). */
    private record BlockWeights(float[] inputNorm, float[] postNorm, Tensor[] w, float[][] bias) {
    }

    /** Gradients of one block's weights (full mode); dBias[p] null where the projection has no bias. */
    private record BlockGrads(float[] dInputNorm, float[] dPostNorm, float[][] dW, float[][] dBias) {
    }

    // ---- activations of the last forward (per layer where the backward needs them) ----
    private int capRows = -1;
    private int capAtt = -1;
    private int B;
    private int T;
    private int[] ids;        // [N]
    private int[] targets;    // [N] (shifted, -100 ignored)
    private int[] pos;        // [N]
    private double normaliser;
    private float dropout;
    private float[][] xIn;    // [L][N*C] residual stream entering the block
    private float[][] xn1;    // [L][N*C] rmsnorm(xIn)
    private float[][] rstd1;  // [L][N]
    private float[][] q;      // [L][N*H*D] rotated
    private float[][] k;      // [L][N*KV*D] rotated
    private float[][] v;      // [L][N*KV*D]
    private float[][] att;    // [L][B*H*T*T] softmax probabilities
    private float[][] attOut; // [L][N*H*D]
    private float[][] xMid;   // [L][N*C] residual after attention
    private float[][] xn2;    // [L][N*C]
    private float[][] rstd2;  // [L][N]
    private float[][] gate;   // [L][N*F]
    private float[][] up;     // [L][N*F]
    private float[][] h;      // [L][N*F] silu(gate) * up
    private float[] xFinal;   // [N*C] residual after the last block
    private float[] xnF;      // [N*C]
    private float[] rstdF;    // [N]
    private float[] logits;   // [N*V] (the backward turns it into dLogits)
    private float[] losses;   // [N]
    private float[][] loraU;     // [lora][N*R]
    private float[][] loraXDrop; // [lora][N*in] (dropout only)
    private float[][] loraMask;  // [lora][N*in] (dropout only)
    private float[] loraWork;
    // ---- backward scratch ----
    private float[] dx;       // [N*C] gradient of the residual stream
    private float[] dxn;      // [N*C]
    private float[] dBig;     // [N*max(H*D, F)]
    private float[] dGate;    // [N*F]
    private float[] dUp;      // [N*F]
    private float[] dq;
    private float[] dk;
    private float[] dv;

    private LlamaTrainingModel(HfModelDirectory dir, FullParameters full, List<LoraParameters> loras) {
        this.dir = dir;
        this.full = full;
        this.c = full != null ? full.config() : dir.config();
        this.embed = weight(WeightLayout.EMBED_TOKENS);
        this.lmHead = c.tieWordEmbeddings() ? embed : weight(WeightLayout.LM_HEAD);
        this.finalNorm = vector(WeightLayout.FINAL_NORM);
        this.dEmbed = grad(WeightLayout.EMBED_TOKENS);
        this.dLmHead = c.tieWordEmbeddings() ? dEmbed : grad(WeightLayout.LM_HEAD);
        this.dFinalNorm = grad(WeightLayout.FINAL_NORM);
        this.blocks = new BlockWeights[c.numHiddenLayers()];
        this.blockGrads = full != null ? new BlockGrads[blocks.length] : null;
        for (int l = 0; l < blocks.length; l++) {
            Tensor[] w = new Tensor[Projection.values().length];
            float[][] bias = new float[w.length][];
            float[][] dW = new float[w.length][];
            float[][] dBias = new float[w.length][];
            for (Projection p : Projection.values()) {
                w[p.ordinal()] = weight(p.weightName(l));
                bias[p.ordinal()] = c.hasBias(p) ? vector(p.biasName(l)) : null;
                dW[p.ordinal()] = grad(p.weightName(l));
                dBias[p.ordinal()] = c.hasBias(p) ? grad(p.biasName(l)) : null;
            }
            blocks[l] = new BlockWeights(vector(WeightLayout.inputLayernorm(l)), vector(WeightLayout.postAttentionLayernorm(l)),
                    w, bias);
            if (blockGrads != null) {
                blockGrads[l] = new BlockGrads(grad(WeightLayout.inputLayernorm(l)), grad(WeightLayout.postAttentionLayernorm(l)),
                        dW, dBias);
            }
        }
        this.loras = List.copyOf(loras);
        this.loraAt = new LoraParameters[blocks.length][Projection.values().length];
        for (LoraParameters p : loras) {
            if (p.layer() >= blocks.length) {
                throw new BadInputException(p.module() + ": the model has only " + blocks.length + " layers");
            }
            if (p.inFeatures() != p.projection().inFeatures(c) || p.outFeatures() != p.projection().outFeatures(c)) {
                throw new BadInputException(p.module() + ": LoRA shape " + p.inFeatures() + " -> " + p.outFeatures()
                        + " does not fit the model's " + p.projection().inFeatures(c) + " -> " + p.projection().outFeatures(c));
            }
            if (loraAt[p.layer()][p.projection().ordinal()] != null) {
                throw new BadInputException(p.module() + ": two LoRA parameter sets for one module");
            }
            loraAt[p.layer()][p.projection().ordinal()] = p;
        }
        this.rope = new RopeTables(c);
        this.eps = (float) c.rmsNormEps();
    }

    /** A weight: mapped from the directory (LoRA mode) or a view of the trained copy (full mode). */
    private Tensor weight(String name) {
        return full != null ? full.weight(name) : dir.weight(name);
    }

    /** A 1-D weight as float[]: a copy (LoRA mode) or the trained array itself (full mode). */
    private float[] vector(String name) {
        return full != null ? full.values(name) : dir.weight(name).toFloatArray();
    }

    /** The gradient buffer of a weight in full mode; null (frozen) in LoRA mode. */
    private float[] grad(String name) {
        return full != null ? full.grad(name) : null;
    }

    /** Opens a model directory (weights validated, memory-mapped) with the given trainable LoRAs. */
    public static LlamaTrainingModel open(Path modelDir, List<LoraParameters> loras) {
        HfModelDirectory dir = HfModelDirectory.open(modelDir);
        try {
            dir.validateWeights();
            return new LlamaTrainingModel(dir, null, loras);
        } catch (RuntimeException | Error e) {
            dir.close();
            throw e;
        }
    }

    /**
     * A model training every weight of {@code params} (float32 copies made by
     * {@link FullParameters#copyOf}, trained in place); no directory stays open.
     */
    public static LlamaTrainingModel full(FullParameters params) {
        return new LlamaTrainingModel(null, params, List.of());
    }

    /**
     * A model training {@code params}: LoRAs beside the frozen weights of {@code modelDir}, or
     * every weight (full parameters, already copied from {@code modelDir}, which is then not
     * opened again).
     */
    public static LlamaTrainingModel open(Path modelDir, TrainableParameters params) {
        return switch (params) {
            case LoraParameterSet lora -> open(modelDir, lora.loras());
            case FullParameters f -> full(f);
        };
    }

    public ModelConfig config() {
        return c;
    }

    /** The trainable LoRAs, in the order given (empty in full mode). */
    public List<LoraParameters> loras() {
        return loras;
    }

    /** True in full mode (every weight trainable). */
    public boolean isFull() {
        return full != null;
    }

    /** Zeroes every gradient (the LoRAs', or in full mode every weight's). */
    public void zeroGrad() {
        loras.forEach(LoraParameters::zeroGrad);
        if (full != null) {
            full.zeroGrad();
        }
    }

    /**
     * Forward pass over B padded sequences of length T and the loss
     * sum(CE over non-ignored targets) / normaliser.
     *
     * @param tokens [B*T] input ids, row-major by sequence
     * @param shiftedTargets [B*T] the id position t must predict (labels[t+1]) or -100
     * @param normaliser the count of non-ignored targets of the whole (accumulated) batch
     * @param dropoutP LoRA dropout probability (0 = none)
     * @param dropoutSeed seed of this micro-batch's dropout masks
     */
    public double forward(int[] tokens, int[] shiftedTargets, int batch, int seqLen, double normaliser, float dropoutP,
                          long dropoutSeed) {
        if (tokens.length != batch * seqLen || shiftedTargets.length != batch * seqLen) {
            throw new IllegalArgumentException("tokens/targets must hold B*T = " + batch * seqLen + " ids");
        }
        if (seqLen > c.maxPositionEmbeddings()) {
            throw new BadInputException("sequence length " + seqLen + " exceeds the model's context of " + c.maxPositionEmbeddings());
        }
        this.B = batch;
        this.T = seqLen;
        int N = B * T;
        ensureCapacity(N, B * c.numAttentionHeads() * T * T, dropoutP > 0);
        this.ids = tokens;
        this.targets = shiftedTargets;
        this.normaliser = normaliser;
        this.dropout = dropoutP;
        for (int n = 0; n < N; n++) {
            pos[n] = n % T;
        }
        rope.ensure(T);
        int C = c.hiddenSize();
        int H = c.numAttentionHeads();
        int KV = c.numKeyValueHeads();
        int D = c.headDim();
        int F = c.intermediateSize();

        Embedding.forward(xIn[0], tokens, embed, N);                        // x = embed_tokens[ids]
        for (int l = 0; l < blocks.length; l++) {
            BlockWeights bw = blocks[l];
            RmsNorm.forward(xn1[l], rstd1[l], xIn[l], bw.inputNorm, eps, N, C); // xn1 = rmsnorm(x)
            project(l, Projection.Q_PROJ, q[l], xn1[l], N, dropoutSeed);      // q = xn1 Wq^T (+ LoRA)
            project(l, Projection.K_PROJ, k[l], xn1[l], N, dropoutSeed);      // k
            project(l, Projection.V_PROJ, v[l], xn1[l], N, dropoutSeed);      // v
            Rope.forward(q[l], k[l], pos, rope.cos(), rope.sin(), N, H, KV, D); // rotate q, k
            Attention.forward(attOut[l], att[l], q[l], k[l], v[l], B, T, H, KV, D); // causal GQA
            project(l, Projection.O_PROJ, xMid[l], attOut[l], N, dropoutSeed);  // o = attOut Wo^T
            Ops.add(xMid[l], 0, xIn[l], 0, xMid[l], 0, N * C);                  // xMid = x + o
            RmsNorm.forward(xn2[l], rstd2[l], xMid[l], bw.postNorm, eps, N, C); // xn2 = rmsnorm(xMid)
            project(l, Projection.GATE_PROJ, gate[l], xn2[l], N, dropoutSeed);  // gate
            project(l, Projection.UP_PROJ, up[l], xn2[l], N, dropoutSeed);      // up
            SwiGlu.forward(h[l], gate[l], up[l], N * F);                        // h = silu(gate) * up
            float[] next = l + 1 < blocks.length ? xIn[l + 1] : xFinal;
            project(l, Projection.DOWN_PROJ, next, h[l], N, dropoutSeed);       // down
            Ops.add(next, 0, xMid[l], 0, next, 0, N * C);                       // x' = xMid + down
        }
        RmsNorm.forward(xnF, rstdF, xFinal, finalNorm, eps, N, C);              // final norm
        Linear.forward(logits, xnF, lmHead, null, N);                           // logits = xnF Wlm^T
        return CrossEntropy.forward(losses, logits, targets, normaliser, N, c.vocabSize());
    }

    /** y = x W^T (+ b) for one projection, plus its LoRA branch when it has one. */
    private void project(int layer, Projection p, float[] y, float[] x, int N, long dropoutSeed) {
        BlockWeights bw = blocks[layer];
        Linear.forward(y, x, bw.w[p.ordinal()], bw.bias[p.ordinal()], N);
        LoraParameters lp = loraAt[layer][p.ordinal()];
        if (lp != null) {
            int i = loras.indexOf(lp);
            float[] mask = null;
            if (dropout > 0) {
                mask = loraMask[i];
                Dropout.sampleMask(mask, dropout, dropoutSeed * 31 + i, N * lp.inFeatures());
            }
            Lora.forward(y, mask == null ? null : loraXDrop[i], loraU[i], x, mask, lp.a(), lp.b(), lp.scale(), loraWork,
                    N, lp.inFeatures(), lp.outFeatures(), lp.rank());
        }
    }

    /**
     * Backward of the last forward: accumulates every LoRA's dA and dB, or in full mode the
     * gradient of every weight.
     */
    public void backward() {
        int N = B * T;
        int C = c.hiddenSize();
        int H = c.numAttentionHeads();
        int KV = c.numKeyValueHeads();
        int D = c.headDim();
        int F = c.intermediateSize();
        int V = c.vocabSize();
        // loss = CE(logits): dLogits overwrites the logits buffer
        CrossEntropy.backwardInPlace(logits, targets, normaliser, N, V);
        // logits = xnF Wlm^T
        Arrays.fill(dxn, 0, N * C, 0f);
        Linear.backwardInput(dxn, logits, lmHead, N);
        if (dLmHead != null) {
            Linear.backwardWeight(dLmHead, logits, xnF, N, C, V);
        }
        // xnF = rmsnorm(xFinal)
        Arrays.fill(dx, 0, N * C, 0f);
        RmsNorm.backward(dx, dFinalNorm, dxn, xFinal, finalNorm, rstdF, N, C);
        for (int l = blocks.length - 1; l >= 0; l--) {
            BlockWeights bw = blocks[l];
            BlockGrads bg = blockGrads != null ? blockGrads[l] : null;
            // x' = xMid + down(h): dxMid = dx (kept in dx), dh = down^T-backward
            Arrays.fill(dBig, 0, N * F, 0f);
            projectBackward(l, Projection.DOWN_PROJ, dBig, dx, h[l], N);
            // h = silu(gate) * up
            Arrays.fill(dGate, 0, N * F, 0f);
            Arrays.fill(dUp, 0, N * F, 0f);
            SwiGlu.backward(dGate, dUp, dBig, gate[l], up[l], N * F);
            // gate = xn2 Wg^T, up = xn2 Wu^T
            Arrays.fill(dxn, 0, N * C, 0f);
            projectBackward(l, Projection.GATE_PROJ, dxn, dGate, xn2[l], N);
            projectBackward(l, Projection.UP_PROJ, dxn, dUp, xn2[l], N);
            // xn2 = rmsnorm(xMid): dxMid += ...
            RmsNorm.backward(dx, bg != null ? bg.dPostNorm : null, dxn, xMid[l], bw.postNorm, rstd2[l], N, C);
            // xMid = x + o(attOut): dx (residual) = dxMid, dAttOut = o-backward
            Arrays.fill(dBig, 0, N * H * D, 0f);
            projectBackward(l, Projection.O_PROJ, dBig, dx, attOut[l], N);
            // attOut = attention(q, k, v)
            Arrays.fill(dq, 0, N * H * D, 0f);
            Arrays.fill(dk, 0, N * KV * D, 0f);
            Arrays.fill(dv, 0, N * KV * D, 0f);
            Attention.backward(dq, dk, dv, dBig, att[l], q[l], k[l], v[l], B, T, H, KV, D);
            // q, k rotated in place: rotate their gradients back
            Rope.backward(dq, dk, pos, rope.cos(), rope.sin(), N, H, KV, D);
            // q, k, v = xn1 W^T
            Arrays.fill(dxn, 0, N * C, 0f);
            projectBackward(l, Projection.Q_PROJ, dxn, dq, xn1[l], N);
            projectBackward(l, Projection.K_PROJ, dxn, dk, xn1[l], N);
            projectBackward(l, Projection.V_PROJ, dxn, dv, xn1[l], N);
            // xn1 = rmsnorm(x): dx += ...
            RmsNorm.backward(dx, bg != null ? bg.dInputNorm : null, dxn, xIn[l], bw.inputNorm, rstd1[l], N, C);
        }
        // x = embed_tokens[ids]: scatter-add into the table's rows (full mode); frozen, the gradient stops here
        if (dEmbed != null) {
            Embedding.backward(dEmbed, dx, ids, N, c.vocabSize(), C);
        }
    }

    /** dx += dy W, and dW += dy^T x, db += sum dy (full mode), or the LoRA branch's dx, dA, dB. */
    private void projectBackward(int layer, Projection p, float[] dxOut, float[] dy, float[] x, int N) {
        Tensor w = blocks[layer].w[p.ordinal()];
        Linear.backwardInput(dxOut, dy, w, N);
        if (blockGrads != null) {
            BlockGrads bg = blockGrads[layer];
            Linear.backwardWeight(bg.dW[p.ordinal()], dy, x, N, w.dim(1), w.dim(0));
            if (bg.dBias[p.ordinal()] != null) {
                Linear.backwardBias(bg.dBias[p.ordinal()], dy, N, w.dim(0));
            }
        }
        LoraParameters lp = loraAt[layer][p.ordinal()];
        if (lp != null) {
            int i = loras.indexOf(lp);
            float[] mask = dropout > 0 ? loraMask[i] : null;
            Lora.backward(dxOut, lp.gradA(), lp.gradB(), dy, mask == null ? x : loraXDrop[i], loraU[i], mask, lp.a(), lp.b(),
                    lp.scale(), loraWork, N, lp.inFeatures(), lp.outFeatures(), lp.rank());
        }
    }

    /** The per-row losses of the last forward ([N], 0 for ignored rows; not divided by the normaliser). */
    public float[] rowLosses() {
        return losses;
    }

    private void ensureCapacity(int N, int attSize, boolean withDropout) {
        int L = blocks.length;
        int C = c.hiddenSize();
        int qd = c.queryDim();
        int kvd = c.keyValueDim();
        int F = c.intermediateSize();
        if (N > capRows) {
            xIn = new float[L][N * C];
            xn1 = new float[L][N * C];
            rstd1 = new float[L][N];
            q = new float[L][N * qd];
            k = new float[L][N * kvd];
            v = new float[L][N * kvd];
            attOut = new float[L][N * qd];
            xMid = new float[L][N * C];
            xn2 = new float[L][N * C];
            rstd2 = new float[L][N];
            gate = new float[L][N * F];
            up = new float[L][N * F];
            h = new float[L][N * F];
            xFinal = new float[N * C];
            xnF = new float[N * C];
            rstdF = new float[N];
            logits = new float[Math.multiplyExact(N, c.vocabSize())];
            losses = new float[N];
            pos = new int[N];
            dx = new float[N * C];
            dxn = new float[N * C];
            dBig = new float[N * Math.max(qd, F)];
            dGate = new float[N * F];
            dUp = new float[N * F];
            dq = new float[N * qd];
            dk = new float[N * kvd];
            dv = new float[N * kvd];
            loraU = new float[loras.size()][];
            int work = 0;
            for (int i = 0; i < loras.size(); i++) {
                LoraParameters p = loras.get(i);
                loraU[i] = new float[N * p.rank()];
                work = Math.max(work, Lora.workSize(N, p.inFeatures(), p.rank(), true));
            }
            loraWork = new float[Math.max(1, work)];
            loraXDrop = null;
            loraMask = null;
            capRows = N;
        }
        if (withDropout && loraMask == null) {
            loraXDrop = new float[loras.size()][];
            loraMask = new float[loras.size()][];
            for (int i = 0; i < loras.size(); i++) {
                loraXDrop[i] = new float[capRows * loras.get(i).inFeatures()];
                loraMask[i] = new float[capRows * loras.get(i).inFeatures()];
            }
        }
        if (attSize > capAtt) {
            att = new float[L][attSize];
            capAtt = attSize;
        }
    }

    @Override
    public void close() {
        if (dir != null) {
            dir.close();
        }
    }
}
