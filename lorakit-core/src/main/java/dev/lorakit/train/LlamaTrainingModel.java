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
import dev.lorakit.nn.Recovery;
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
 * memory-mapped in their stored dtype (possibly compressed: Q8_0/Q4_0, pruned); the trainable
 * {@link LoraParameters} and CA-LoRA {@link RecoveryParameters} sit beside any of the 7
 * projections of any layer (LoRA first, then recovery, both on the layer's input). Full
 * ({@link FullParameters}): every weight is a trainable float32
 * array and gets a gradient (projection weights and biases, norms, embeddings, LM head; tied
 * embeddings sum both gradients). {@link #forward} keeps every activation its backward needs
 * (llm.c style, one buffer per role, grown to the largest batch seen); {@link #backward} walks
 * the same lines in reverse and accumulates the gradients of whatever is trainable. In LoRA mode
 * gradients flow through the frozen weights (matmuls with W in its stored dtype) but never into
 * them, and no weight-gradient work is done.
 *
 * <p>Distillation (CA-LoRA): after {@link #forward}, {@link #distill} adds
 * {@code weight * MSE(h, hTeacher)} over the non-padding positions to the loss, where h is the
 * final RMS-normed hidden state ({@link #FINAL_HIDDEN}) or the output of block N; the backward
 * adds its gradient at that point. A teacher is a model opened {@link #frozen} (no saved
 * activations: one buffer per role shared by all layers) and run with {@link #forwardHidden}.
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
    private final int[][] loraIndex;           // [layer][projection] index into loras, -1 if none
    private final List<RecoveryParameters> recoveries;
    private final int[][] recoveryIndex;       // [layer][projection] index into recoveries, -1 if none
    private final boolean saveActivations;     // false: forward-only (one buffer per role for all layers)
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
    private float[][] recH;      // [recovery][N*R] pre-activations x D^T
    private float[][] recG;      // [recovery][N*R] GELU(recH)
    private float[] recWork;
    private int kdLayer;         // the distilled hidden state of the last forward, when kdActive
    private boolean kdActive;
    private float[] kdGrad;      // [N*C] dLoss/dh of the distillation term
    // ---- backward scratch ----
    private float[] dx;       // [N*C] gradient of the residual stream
    private float[] dxn;      // [N*C]
    private float[] dBig;     // [N*max(H*D, F)]
    private float[] dGate;    // [N*F]
    private float[] dUp;      // [N*F]
    private float[] dq;
    private float[] dk;
    private float[] dv;

    /** The hidden state index of the final RMS-normed hidden state (the LM head's input). */
    public static final int FINAL_HIDDEN = -1;

    private LlamaTrainingModel(HfModelDirectory dir, FullParameters full, List<LoraParameters> loras,
                               List<RecoveryParameters> recoveries, boolean saveActivations) {
        this.dir = dir;
        this.saveActivations = saveActivations;
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
        this.loraIndex = new int[blocks.length][Projection.values().length];
        for (int[] row : loraIndex) {
            Arrays.fill(row, -1);
        }
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
            loraIndex[p.layer()][p.projection().ordinal()] = this.loras.indexOf(p);
        }
        this.recoveries = List.copyOf(recoveries);
        this.recoveryIndex = new int[blocks.length][Projection.values().length];
        for (int[] row : recoveryIndex) {
            Arrays.fill(row, -1);
        }
        for (int i = 0; i < this.recoveries.size(); i++) {
            RecoveryParameters p = this.recoveries.get(i);
            if (p.layer() >= blocks.length) {
                throw new BadInputException(p.module() + ": the model has only " + blocks.length + " layers");
            }
            if (p.inFeatures() != p.projection().inFeatures(c) || p.outFeatures() != p.projection().outFeatures(c)) {
                throw new BadInputException(p.module() + ": recovery module shape " + p.inFeatures() + " -> " + p.outFeatures()
                        + " does not fit the model's " + p.projection().inFeatures(c) + " -> " + p.projection().outFeatures(c));
            }
            if (recoveryIndex[p.layer()][p.projection().ordinal()] >= 0) {
                throw new BadInputException(p.module() + ": two recovery modules for one module");
            }
            recoveryIndex[p.layer()][p.projection().ordinal()] = i;
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
        return open(modelDir, loras, List.of());
    }

    /**
     * Opens a model directory (weights validated, memory-mapped) with trainable LoRAs and CA-LoRA
     * recovery modules beside its projections.
     */
    public static LlamaTrainingModel open(Path modelDir, List<LoraParameters> loras, List<RecoveryParameters> recoveries) {
        return open(modelDir, loras, recoveries, true);
    }

    /**
     * Opens a model for forward passes only ({@link #forwardHidden}, {@link #forward} without
     * {@link #backward}), e.g. a distillation teacher: the LoRAs are applied, nothing is saved
     * for a backward (activation buffers are shared by all layers).
     */
    public static LlamaTrainingModel frozen(Path modelDir, List<LoraParameters> loras) {
        return open(modelDir, loras, List.of(), false);
    }

    private static LlamaTrainingModel open(Path modelDir, List<LoraParameters> loras, List<RecoveryParameters> recoveries,
                                           boolean saveActivations) {
        HfModelDirectory dir = HfModelDirectory.open(modelDir);
        try {
            dir.validateWeights();
            return new LlamaTrainingModel(dir, null, loras, recoveries, saveActivations);
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
        return new LlamaTrainingModel(null, params, List.of(), List.of(), true);
    }

    /**
     * A model training {@code params}: LoRAs beside the frozen weights of {@code modelDir}, or
     * every weight (full parameters, already copied from {@code modelDir}, which is then not
     * opened again).
     */
    public static LlamaTrainingModel open(Path modelDir, TrainableParameters params) {
        return switch (params) {
            case LoraParameterSet lora -> open(modelDir, lora.loras());
            case CaLoraParameters ca -> open(modelDir, ca.loras(), ca.recoveries());
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

    /** The trainable recovery modules, in the order given (empty unless CA-LoRA). */
    public List<RecoveryParameters> recoveries() {
        return recoveries;
    }

    /** True in full mode (every weight trainable). */
    public boolean isFull() {
        return full != null;
    }

    /** Zeroes every gradient (the LoRAs' and recovery modules', or in full mode every weight's). */
    public void zeroGrad() {
        loras.forEach(LoraParameters::zeroGrad);
        recoveries.forEach(RecoveryParameters::zeroGrad);
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
        if (shiftedTargets.length != batch * seqLen) {
            throw new IllegalArgumentException("tokens/targets must hold B*T = " + batch * seqLen + " ids");
        }
        begin(tokens, batch, seqLen, dropoutP);
        this.targets = shiftedTargets;
        this.normaliser = normaliser;
        int N = B * T;
        if (logits == null || logits.length < Math.multiplyExact(N, c.vocabSize())) {
            logits = new float[Math.multiplyExact(capRows, c.vocabSize())];
        }
        runBlocks(blocks.length - 1, dropoutSeed);
        RmsNorm.forward(xnF, rstdF, xFinal, finalNorm, eps, N, c.hiddenSize());  // final norm
        Linear.forward(logits, xnF, lmHead, null, N);                           // logits = xnF Wlm^T
        return CrossEntropy.forward(losses, logits, targets, normaliser, N, c.vocabSize());
    }

    /**
     * Forward pass up to a hidden state only (no logits, no loss, no dropout): the final
     * RMS-normed hidden state ({@link #FINAL_HIDDEN}) or the output of block {@code layer}
     * (0-based), [B*T, C] row-major. The array is the model's buffer (it may be longer than
     * B*T*C), valid until the next forward. No {@link #backward} may follow.
     */
    public float[] forwardHidden(int[] tokens, int batch, int seqLen, int layer) {
        checkHiddenLayer(layer);
        begin(tokens, batch, seqLen, 0f);
        this.targets = null;
        runBlocks(layer == FINAL_HIDDEN ? blocks.length - 1 : layer, 0);
        if (layer == FINAL_HIDDEN) {
            RmsNorm.forward(xnF, rstdF, xFinal, finalNorm, eps, B * T, c.hiddenSize());
        }
        return hidden(layer);
    }

    /**
     * The hidden state {@code layer} of the last forward ({@link #FINAL_HIDDEN}: the final
     * RMS-normed one; N: the residual stream after block N), [B*T, C], the model's own buffer.
     */
    public float[] hidden(int layer) {
        checkHiddenLayer(layer);
        if (layer == FINAL_HIDDEN) {
            return xnF;
        }
        return layer + 1 < blocks.length ? xIn[layer + 1] : xFinal;
    }

    private void checkHiddenLayer(int layer) {
        if (layer != FINAL_HIDDEN && (layer < 0 || layer >= blocks.length)) {
            throw new IllegalArgumentException("hidden state " + layer + " outside [0, " + blocks.length + ") and not FINAL_HIDDEN");
        }
    }

    /**
     * Adds CA-LoRA's distillation term to the loss of the last {@link #forward}:
     * {@code weight * sum_{n real, c} (h[n,c] - teacher[n,c])^2 / (positions * C)} with h the
     * hidden state {@code layer} (see {@link #hidden}), n over the first {@code lengths[b]}
     * positions of each row b (padding excluded), C the hidden size; {@code positions} is the
     * real-position count of the whole accumulated step, so over a step the term is the mean
     * squared error over its real positions and hidden dimensions. Summed in float64. The next
     * {@link #backward} adds its gradient {@code 2 weight (h - teacher) / (positions * C)} at
     * that hidden state.
     *
     * @param teacher [B*T, C] the teacher's hidden state (same positions; padding rows ignored)
     * @return the unweighted term {@code sum (h - teacher)^2 / (positions * C)}
     */
    public double distill(float[] teacher, int layer, int[] lengths, double positions, double weight) {
        checkHiddenLayer(layer);
        if (!saveActivations || targets == null) {
            throw new IllegalStateException("distill needs a training forward of a trainable (not frozen) model first");
        }
        int C = c.hiddenSize();
        if (lengths.length != B || teacher.length < B * T * C) {
            throw new IllegalArgumentException(lengths.length + " lengths and " + teacher.length + " teacher values for "
                    + B + " rows of " + T + " x " + C);
        }
        float[] h = hidden(layer);
        double denom = positions * C;
        double sum = 0;
        Arrays.fill(kdGrad, 0, B * T * C, 0f);
        for (int b = 0; b < B; b++) {
            if (lengths[b] < 0 || lengths[b] > T) {
                throw new IllegalArgumentException("row " + b + " length " + lengths[b] + " outside [0, " + T + "]");
            }
            for (int i = b * T * C, e = (b * T + lengths[b]) * C; i < e; i++) {
                double diff = (double) h[i] - teacher[i];
                sum += diff * diff;
                kdGrad[i] = (float) (2 * weight * diff / denom);
            }
        }
        kdLayer = layer;
        kdActive = true;
        return sum / denom;
    }

    /** Sets up the rows of a forward: sizes, buffers, positions, the embedding lookup. */
    private void begin(int[] tokens, int batch, int seqLen, float dropoutP) {
        if (tokens.length != batch * seqLen) {
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
        this.dropout = dropoutP;
        this.kdActive = false;
        for (int n = 0; n < N; n++) {
            pos[n] = n % T;
        }
        rope.ensure(T);
        Embedding.forward(xIn[0], tokens, embed, N);                        // x = embed_tokens[ids]
    }

    /** Blocks 0..last; block l's output goes to xIn[l + 1] (xFinal after the last block). */
    private void runBlocks(int last, long dropoutSeed) {
        int N = B * T;
        int C = c.hiddenSize();
        int H = c.numAttentionHeads();
        int KV = c.numKeyValueHeads();
        int D = c.headDim();
        int F = c.intermediateSize();
        for (int l = 0; l <= last; l++) {
            BlockWeights bw = blocks[l];
            RmsNorm.forward(xn1[l], rstd1[l], xIn[l], bw.inputNorm, eps, N, C); // xn1 = rmsnorm(x)
            project(l, Projection.Q_PROJ, q[l], xn1[l], N, dropoutSeed);      // q = xn1 Wq^T (+ LoRA, recovery)
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
    }

    /** y = x W^T (+ b) for one projection, plus its LoRA branch and its recovery branch when it has them. */
    private void project(int layer, Projection p, float[] y, float[] x, int N, long dropoutSeed) {
        BlockWeights bw = blocks[layer];
        Linear.forward(y, x, bw.w[p.ordinal()], bw.bias[p.ordinal()], N);
        LoraParameters lp = loraAt[layer][p.ordinal()];
        if (lp != null) {
            int i = loraIndex[layer][p.ordinal()];
            float[] mask = null;
            if (dropout > 0) {
                mask = loraMask[i];
                Dropout.sampleMask(mask, dropout, dropoutSeed * 31 + i, N * lp.inFeatures());
            }
            Lora.forward(y, mask == null ? null : loraXDrop[i], loraU[i], x, mask, lp.a(), lp.b(), lp.scale(), loraWork,
                    N, lp.inFeatures(), lp.outFeatures(), lp.rank());
        }
        int r = recoveryIndex[layer][p.ordinal()];
        if (r >= 0) {
            RecoveryParameters rp = recoveries.get(r);
            Recovery.forward(y, recH[r], recG[r], x, rp.d(), rp.u(), rp.scale(), recWork, N, rp.inFeatures(),
                    rp.outFeatures(), rp.rank());
        }
    }

    /**
     * Backward of the last forward (and {@link #distill} if called): accumulates every LoRA's dA
     * and dB and every recovery module's dD and dU, or in full mode the gradient of every weight.
     */
    public void backward() {
        if (!saveActivations) {
            throw new IllegalStateException("a forward-only (frozen) model has no backward");
        }
        if (targets == null) {
            throw new IllegalStateException("backward needs a training forward first");
        }
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
        Linear.backwardInput(dxn, logits, lmHead, N, false);
        if (dLmHead != null) {
            Linear.backwardWeight(dLmHead, logits, xnF, N, C, V);
        }
        if (kdActive && kdLayer == FINAL_HIDDEN) {
            Ops.add(dxn, 0, kdGrad, 0, dxn, 0, N * C);                          // + d(KD)/d xnF
        }
        // xnF = rmsnorm(xFinal)
        Arrays.fill(dx, 0, N * C, 0f);
        RmsNorm.backward(dx, dFinalNorm, dxn, xFinal, finalNorm, rstdF, N, C);
        for (int l = blocks.length - 1; l >= 0; l--) {
            BlockWeights bw = blocks[l];
            BlockGrads bg = blockGrads != null ? blockGrads[l] : null;
            if (kdActive && kdLayer == l) {
                Ops.add(dx, 0, kdGrad, 0, dx, 0, N * C);                        // + d(KD)/d(block l's output)
            }
            // Block 0's input gradient is needed only when the embedding table or the input norm
            // trains (full mode); otherwise it is skipped and dx is not an input gradient afterwards.
            boolean inputGrad = l > 0 || dEmbed != null || bg != null;
            // x' = xMid + down(h): dxMid = dx (kept in dx), dh = down^T-backward
            projectBackward(l, Projection.DOWN_PROJ, dBig, false, dx, h[l], N);
            // h = silu(gate) * up
            Arrays.fill(dGate, 0, N * F, 0f);
            Arrays.fill(dUp, 0, N * F, 0f);
            SwiGlu.backward(dGate, dUp, dBig, gate[l], up[l], N * F);
            // gate = xn2 Wg^T, up = xn2 Wu^T
            projectBackward(l, Projection.GATE_PROJ, dxn, false, dGate, xn2[l], N);
            projectBackward(l, Projection.UP_PROJ, dxn, true, dUp, xn2[l], N);
            // xn2 = rmsnorm(xMid): dxMid += ...
            RmsNorm.backward(dx, bg != null ? bg.dPostNorm : null, dxn, xMid[l], bw.postNorm, rstd2[l], N, C);
            // xMid = x + o(attOut): dx (residual) = dxMid, dAttOut = o-backward
            projectBackward(l, Projection.O_PROJ, dBig, false, dx, attOut[l], N);
            // attOut = attention(q, k, v)
            Arrays.fill(dq, 0, N * H * D, 0f);
            Arrays.fill(dk, 0, N * KV * D, 0f);
            Arrays.fill(dv, 0, N * KV * D, 0f);
            Attention.backward(dq, dk, dv, dBig, att[l], q[l], k[l], v[l], B, T, H, KV, D);
            // q, k rotated in place: rotate their gradients back
            Rope.backward(dq, dk, pos, rope.cos(), rope.sin(), N, H, KV, D);
            // q, k, v = xn1 W^T
            float[] dxq = inputGrad ? dxn : null;
            projectBackward(l, Projection.Q_PROJ, dxq, false, dq, xn1[l], N);
            projectBackward(l, Projection.K_PROJ, dxq, true, dk, xn1[l], N);
            projectBackward(l, Projection.V_PROJ, dxq, true, dv, xn1[l], N);
            // xn1 = rmsnorm(x): dx += ...
            if (inputGrad) {
                RmsNorm.backward(dx, bg != null ? bg.dInputNorm : null, dxn, xIn[l], bw.inputNorm, rstd1[l], N, C);
            }
        }
        // x = embed_tokens[ids]: scatter-add into the table's rows (full mode); frozen, the gradient stops here
        if (dEmbed != null) {
            Embedding.backward(dEmbed, dx, ids, N, c.vocabSize(), C);
        }
    }

    /**
     * dx (+)= dy W (overwriting dxOut unless {@code accumulate}; skipped when dxOut is null), and
     * dW += dy^T x, db += sum dy (full mode), or the LoRA branch's dx, dA, dB and the recovery
     * branch's dx, dD, dU.
     */
    private void projectBackward(int layer, Projection p, float[] dxOut, boolean accumulate, float[] dy, float[] x, int N) {
        Tensor w = blocks[layer].w[p.ordinal()];
        if (dxOut != null) {
            Linear.backwardInput(dxOut, dy, w, N, accumulate);
        }
        if (blockGrads != null) {
            BlockGrads bg = blockGrads[layer];
            Linear.backwardWeight(bg.dW[p.ordinal()], dy, x, N, w.dim(1), w.dim(0));
            if (bg.dBias[p.ordinal()] != null) {
                Linear.backwardBias(bg.dBias[p.ordinal()], dy, N, w.dim(0));
            }
        }
        LoraParameters lp = loraAt[layer][p.ordinal()];
        if (lp != null) {
            int i = loraIndex[layer][p.ordinal()];
            float[] mask = dropout > 0 ? loraMask[i] : null;
            Lora.backward(dxOut, lp.gradA(), lp.gradB(), dy, mask == null ? x : loraXDrop[i], loraU[i], mask, lp.a(), lp.b(),
                    lp.scale(), loraWork, N, lp.inFeatures(), lp.outFeatures(), lp.rank());
        }
        int r = recoveryIndex[layer][p.ordinal()];
        if (r >= 0) {
            RecoveryParameters rp = recoveries.get(r);
            Recovery.backward(dxOut, rp.gradD(), rp.gradU(), dy, recH[r], recG[r], x, rp.d(), rp.u(), rp.scale(), recWork,
                    N, rp.inFeatures(), rp.outFeatures(), rp.rank());
        }
    }

    /** The per-row losses of the last forward ([N], 0 for ignored rows; not divided by the normaliser). */
    public float[] rowLosses() {
        return losses;
    }

    private void ensureCapacity(int N, int attSize, boolean withDropout) {
        int C = c.hiddenSize();
        int qd = c.queryDim();
        int kvd = c.keyValueDim();
        int F = c.intermediateSize();
        if (N > capRows) {
            xIn = perLayer(N * C);
            xn1 = perLayer(N * C);
            rstd1 = perLayer(N);
            q = perLayer(N * qd);
            k = perLayer(N * kvd);
            v = perLayer(N * kvd);
            attOut = perLayer(N * qd);
            xMid = perLayer(N * C);
            xn2 = perLayer(N * C);
            rstd2 = perLayer(N);
            gate = perLayer(N * F);
            up = perLayer(N * F);
            h = perLayer(N * F);
            xFinal = new float[N * C];
            xnF = new float[N * C];
            rstdF = new float[N];
            logits = null; // allocated by the first training forward
            losses = new float[N];
            pos = new int[N];
            if (saveActivations) {
                dx = new float[N * C];
                dxn = new float[N * C];
                dBig = new float[N * Math.max(qd, F)];
                dGate = new float[N * F];
                dUp = new float[N * F];
                dq = new float[N * qd];
                dk = new float[N * kvd];
                dv = new float[N * kvd];
                kdGrad = new float[N * C];
            }
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
            recH = new float[recoveries.size()][];
            recG = new float[recoveries.size()][];
            work = 0;
            for (int i = 0; i < recoveries.size(); i++) {
                RecoveryParameters p = recoveries.get(i);
                recH[i] = new float[N * p.rank()];
                recG[i] = new float[N * p.rank()];
                work = Math.max(work, Recovery.workSize(N, p.rank()));
            }
            recWork = new float[Math.max(1, work)];
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
            att = perLayer(attSize);
            capAtt = attSize;
        }
    }

    /**
     * One buffer of {@code size} floats per layer, or (forward-only) one buffer shared by every
     * layer: block l only reads what blocks before it wrote in other roles, so nothing is lost.
     */
    private float[][] perLayer(int size) {
        float[][] a = new float[blocks.length][];
        float[] shared = saveActivations ? null : new float[size];
        for (int l = 0; l < a.length; l++) {
            a[l] = saveActivations ? new float[size] : shared;
        }
        return a;
    }

    @Override
    public void close() {
        if (dir != null) {
            dir.close();
        }
    }
}
