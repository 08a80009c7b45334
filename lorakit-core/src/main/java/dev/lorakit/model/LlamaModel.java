package dev.lorakit.model;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.lora.AdapterBranch;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.lora.AdapterSet;
import dev.lorakit.lora.LoraBranch;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Convert;
import dev.lorakit.tensor.ops.Ops;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A Llama-family causal language model (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)
 * over memory-mapped Hugging Face weights, with any number of LoRA adapters applied unmerged
 * (or folded into private F32 copies of the affected weights in merged mode) and the CA-LoRA
 * recovery modules of adapter directories that have them (always unmerged: the GELU keeps
 * them out of the weights).
 *
 * <p>{@link #forward} runs the new tokens of several sequences at once: their rows are stacked
 * so every projection streams its weight once for the whole batch (prefill through the packed
 * matmul, decode through the batched matrix-vector kernel), while attention runs per sequence
 * against its own {@link KvCache}. Legend: R rows (new tokens of all sequences), C hidden size,
 * H query heads, KV key/value heads, D head dim, F FFN size, V vocabulary.
 *
 * <p>Not thread-safe: one forward at a time (each forward uses every core).
 */
public final class LlamaModel implements LanguageModel, AutoCloseable {
    private final HfModelDirectory directory;
    private final AdapterSet adapters;
    private final Arena ownedWeights; // off-heap copies: merged weights (merged mode), row-interleaved quantized weights
    private final ModelConfig c;
    private final Tensor embed;      // [V, C], stored dtype
    private final Layer[] layers;
    private final float[] finalNorm; // [C]
    private final Linear lmHead;     // [V, C] (the embedding when tied)
    private final RopeTables rope;
    private final float eps;
    private final Workspace ws = new Workspace();
    /** Whether quantized projections are repacked into row groups (see {@link #useDecodeLayout}). */
    private static final boolean DECODE_LAYOUT_GROUPS = !"rows".equalsIgnoreCase(configured("lorakit.decodeLayout", "LORAKIT_DECODE_LAYOUT"));

    /** One transformer block's weights. */
    private record Layer(float[] inputNorm, Linear q, Linear k, Linear v, Linear o, float[] postNorm,
                         Linear gate, Linear up, Linear down) {
    }

    private LlamaModel(HfModelDirectory directory, AdapterSet adapters, Arena ownedWeights, Layer[] layers,
                       float[] finalNorm, Linear lmHead) {
        this.directory = directory;
        this.adapters = adapters;
        this.ownedWeights = ownedWeights;
        this.c = directory.config();
        this.embed = directory.weight(WeightLayout.EMBED_TOKENS);
        this.layers = layers;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.rope = new RopeTables(c);
        this.eps = (float) c.rmsNormEps();
    }

    private static String configured(String property, String variable) {
        String v = System.getProperty(property);
        return v != null && !v.isBlank() ? v.trim() : System.getenv(variable) == null ? "" : System.getenv(variable).trim();
    }

    /** Opens a model directory with adapters applied unmerged. */
    public static LlamaModel open(Path modelDir, List<AdapterRef> adapterRefs) {
        return open(modelDir, adapterRefs, false);
    }

    /**
     * Opens a model directory (validating every weight's name and shape) and attaches the
     * adapters: unmerged, or folded into private F32 copies of the affected weights when
     * {@code merge}.
     */
    public static LlamaModel open(Path modelDir, List<AdapterRef> adapterRefs, boolean merge) {
        return open(modelDir, adapterRefs, merge, DECODE_LAYOUT_GROUPS);
    }

    /** As {@link #open(Path, List, boolean)}, choosing whether Q8_0/Q4_0 weights are repacked into row groups. */
    static LlamaModel open(Path modelDir, List<AdapterRef> adapterRefs, boolean merge, boolean rowGroups) {
        HfModelDirectory dir = HfModelDirectory.open(modelDir);
        AdapterSet adapters = null;
        Arena ownedWeights = Arena.ofShared();
        try {
            dir.validateWeights();
            ModelConfig c = dir.config();
            adapters = AdapterSet.open(adapterRefs, c);
            Layer[] layers = new Layer[c.numHiddenLayers()];
            for (int l = 0; l < layers.length; l++) {
                Linear[] p = new Linear[Projection.values().length];
                for (Projection proj : Projection.values()) {
                    float[] bias = c.hasBias(proj) ? dir.weight(proj.biasName(l)).toFloatArray() : null;
                    Linear lin = new Linear(proj.modulePath(l), dir.weight(proj.weightName(l)), bias);
                    adapters.allBranches(lin.name()).forEach(lin::addBranch); // LoRA, then CA-LoRA recovery
                    if (merge) {
                        foldBranches(lin, ownedWeights, rowGroups);
                    }
                    if (rowGroups) {
                        useDecodeLayout(lin, ownedWeights);
                    }
                    p[proj.ordinal()] = lin;
                }
                layers[l] = new Layer(dir.weight(WeightLayout.inputLayernorm(l)).toFloatArray(),
                        p[Projection.Q_PROJ.ordinal()], p[Projection.K_PROJ.ordinal()], p[Projection.V_PROJ.ordinal()],
                        p[Projection.O_PROJ.ordinal()], dir.weight(WeightLayout.postAttentionLayernorm(l)).toFloatArray(),
                        p[Projection.GATE_PROJ.ordinal()], p[Projection.UP_PROJ.ordinal()], p[Projection.DOWN_PROJ.ordinal()]);
            }
            Tensor head = c.tieWordEmbeddings() ? dir.weight(WeightLayout.EMBED_TOKENS) : dir.weight(WeightLayout.LM_HEAD);
            Linear lmHead = new Linear("lm_head", head, null);
            if (rowGroups) {
                useDecodeLayout(lmHead, ownedWeights);
            }
            return new LlamaModel(dir, adapters, ownedWeights, layers, dir.weight(WeightLayout.FINAL_NORM).toFloatArray(), lmHead);
        } catch (RuntimeException | Error e) {
            if (adapters != null) {
                adapters.close();
            }
            ownedWeights.close();
            dir.close();
            throw e;
        }
    }

    /**
     * Merged mode: W' = W + sum of LoRA deltas, accumulated in float32 and rounded once to W's
     * stored dtype (as PEFT's merge does), so decode streams the same bytes as the base model.
     * Other branch kinds stay unmerged.
     */
    private static void foldBranches(Linear lin, Arena arena, boolean rowGroups) {
        List<AdapterBranch> keep = new ArrayList<>();
        Tensor merged = null;
        for (AdapterBranch b : lin.branches()) {
            if (b instanceof LoraBranch lora) {
                if (merged == null) {
                    merged = lin.weight().to(DType.F32);
                }
                lora.addDeltaTo(merged);
            } else {
                keep.add(b);
            }
        }
        if (merged != null) {
            DType stored = lin.weight().dtype();
            // F32 stays on the heap (the kernels' array path); other dtypes go off-heap beside the
            // mapped weights, quantized ones directly as row groups when those are used (one copy)
            Tensor folded = stored == DType.F32 ? merged : merged.to(stored);
            boolean groupedLater = rowGroups && decodeLayoutApplies(folded);
            lin.replaceWeight(stored == DType.F32 || groupedLater ? folded : folded.copyToNative(arena), keep);
        }
    }

    /**
     * A Q8_0 / Q4_0 weight is repacked once into its row-interleaved copy ({@link RowGroups}), the
     * layout of the decode kernels; the prefill matmul packs its panels from the same copy, so the
     * mapped row-major blocks are not touched again. Q4_0 projections of up to
     * {@link Linear#MATVEC_ROWS} rows (decode steps, short prompts) then run on 8-bit activations
     * (see {@code RowGroupMatVec}), longer prefills on float32 ones, so a Q4_0 model's logits for
     * a position depend slightly (~1e-2 of their scale) on how it was computed;
     * {@code -Dlorakit.decodeLayout=rows} (or {@code LORAKIT_DECODE_LAYOUT=rows}) keeps the
     * row-major layout and its float32 decode.
     */
    private static void useDecodeLayout(Linear lin, Arena arena) {
        Tensor w = lin.weight();
        if (decodeLayoutApplies(w)) {
            lin.replaceWeight(RowGroups.interleave(w, arena), List.copyOf(lin.branches()));
            if (w.segment().isMapped()) {
                w.segment().unload(); // the file's pages leave this process's memory (the copy replaces them)
            }
        }
    }

    /**
     * Whether a weight is repacked: Q8_0 / Q4_0 where the row-group kernels run, unless a block
     * scale is inf or NaN (such a weight stays row-major, whose kernels propagate it as before).
     */
    private static boolean decodeLayoutApplies(Tensor w) {
        return (w.dtype() == DType.Q8_0 || w.dtype() == DType.Q4_0) && Ops.rowInterleavedKernels() && RowGroups.hasFiniteScales(w);
    }

    public ModelConfig config() {
        return c;
    }

    /** The model directory this was opened from. */
    public HfModelDirectory directory() {
        return directory;
    }

    /**
     * Lets {@code observer} see the input of every linear layer (the seven projections of every
     * layer, then lm_head) in each following {@link #forward}; null removes it. For calibration.
     */
    public void observeLinearInputs(LinearInputObserver observer) {
        for (Linear lin : linears()) {
            lin.observeInputs(observer);
        }
    }

    /** Every linear layer: the seven projections of each layer in order, then lm_head. */
    List<Linear> linears() {
        List<Linear> out = new ArrayList<>();
        for (Layer layer : layers) {
            out.addAll(List.of(layer.q, layer.k, layer.v, layer.o, layer.gate, layer.up, layer.down));
        }
        out.add(lmHead);
        return out;
    }

    @Override
    public int vocabSize() {
        return c.vocabSize();
    }

    /** A new empty KV cache for one sequence. */
    @Override
    public KvCache newCache(int initialCapacity) {
        return new KvCache(c.numHiddenLayers(), c.keyValueDim(), c.maxPositionEmbeddings(), initialCapacity);
    }

    /** Logits [T, V] (row-major) of every position of one sequence, from scratch. */
    @Override
    public float[] logits(int[] inputIds) {
        return forward(new KvCache[] {newCache(inputIds.length)}, new int[][] {inputIds}, true);
    }

    /**
     * {@link LanguageModel}'s forward: every cache must be a {@link KvCache} made by
     * {@link #newCache}; runs {@link #forward(KvCache[], int[][], boolean)}.
     */
    @Override
    public float[] forward(SequenceCache[] caches, int[][] tokens, boolean allPositions) {
        if (caches instanceof KvCache[] kv) {
            return forward(kv, tokens, allPositions);
        }
        KvCache[] kv = new KvCache[caches.length];
        for (int s = 0; s < caches.length; s++) {
            if (!(caches[s] instanceof KvCache k)) {
                throw new IllegalArgumentException("cache " + s + " is a " + caches[s].getClass().getSimpleName()
                        + ", not a KvCache of this model");
            }
            kv[s] = k;
        }
        return forward(kv, tokens, allPositions);
    }

    /**
     * Runs {@code tokens[s]} as the next tokens of sequence s (whose cache holds its earlier
     * positions) for every s, appends their keys/values to the caches, and returns logits:
     * [sum of lengths, V] for every new position when {@code allPositions}, else [S, V] for the
     * last new position of each sequence.
     */
    public float[] forward(KvCache[] caches, int[][] tokens, boolean allPositions) {
        if (caches.length != tokens.length) {
            throw new IllegalArgumentException(caches.length + " caches for " + tokens.length + " sequences");
        }
        int rows = 0;
        for (int s = 0; s < tokens.length; s++) {
            if (tokens[s].length == 0) {
                throw new IllegalArgumentException("sequence " + s + " has no new tokens");
            }
            caches[s].reserve(tokens[s].length);
            rows += tokens[s].length;
        }
        // Row bookkeeping: which sequence and absolute position each stacked row is.
        int[] rowSeq = new int[rows];
        int[] rowPos = new int[rows];
        int maxPos = 0;
        for (int s = 0, r = 0; s < tokens.length; s++) {
            for (int t = 0; t < tokens[s].length; t++, r++) {
                rowSeq[r] = s;
                rowPos[r] = caches[s].length() + t;
                maxPos = Math.max(maxPos, rowPos[r]);
            }
        }
        rope.ensure(maxPos + 1);
        ws.ensure(c, rows);
        int C = c.hiddenSize();

        // x[R, C] = embed_tokens[token]
        for (int s = 0, r = 0; s < tokens.length; s++) {
            for (int t = 0; t < tokens[s].length; t++, r++) {
                int id = tokens[s][t];
                if (id < 0 || id >= c.vocabSize()) {
                    throw new BadInputException("token id " + id + " is outside the vocabulary [0, " + c.vocabSize() + ")");
                }
                Convert.toF32(embed.segment(), (long) id * C * embed.dtype().byteSize(), embed.dtype(), ws.x, r * C, C);
            }
        }
        for (int l = 0; l < layers.length; l++) {
            Layer layer = layers[l];
            // attention block: x += o_proj(attention(rope(q), rope(k), v)) of rmsnorm(x)
            Ops.rmsnormRows(ws.x, 0, layer.inputNorm, eps, ws.xn, 0, rows, C);
            layer.q.forward(ws.xn, rows, ws.q);
            layer.k.forward(ws.xn, rows, ws.k);
            layer.v.forward(ws.xn, rows, ws.v);
            applyRope(rows, rowPos);
            storeKeyValues(l, caches, rowSeq, rowPos, rows);
            attention(l, caches, rowSeq, rowPos, rows);
            layer.o.forward(ws.att, rows, ws.tmp);
            Ops.add(ws.x, 0, ws.tmp, 0, ws.x, 0, rows * C);
            // MLP block: x += down(silu(gate(h)) * up(h)), h = rmsnorm(x)
            Ops.rmsnormRows(ws.x, 0, layer.postNorm, eps, ws.xn, 0, rows, C);
            layer.gate.forward(ws.xn, rows, ws.gate);
            layer.up.forward(ws.xn, rows, ws.up);
            Ops.swiglu(ws.gate, 0, ws.up, 0, ws.gate, 0, rows * c.intermediateSize());
            layer.down.forward(ws.gate, rows, ws.tmp);
            Ops.add(ws.x, 0, ws.tmp, 0, ws.x, 0, rows * C);
        }
        for (int s = 0; s < tokens.length; s++) {
            caches[s].advance(tokens[s].length);
        }
        // final norm and LM head, on every row or on the last row of each sequence
        int outRows = allPositions ? rows : tokens.length;
        if (!allPositions) {
            for (int s = 0, r = 0; s < tokens.length; s++) {
                r += tokens[s].length;
                System.arraycopy(ws.x, (r - 1) * C, ws.xn, s * C, C);
            }
            System.arraycopy(ws.xn, 0, ws.x, 0, outRows * C);
        }
        Ops.rmsnormRows(ws.x, 0, finalNorm, eps, ws.xn, 0, outRows, C);
        float[] logits = new float[outRows * c.vocabSize()];
        lmHead.forward(ws.xn, outRows, logits);
        return logits;
    }

    /** Rotates q [R, H*D] and k [R, KV*D] in place at each row's position (HF rotate_half). */
    private void applyRope(int rows, int[] rowPos) {
        int D = c.headDim();
        int half = D / 2;
        for (int r = 0; r < rows; r++) {
            int cs = rowPos[r] * half;
            Ops.rope(rope.cos(), rope.sin(), cs, ws.q, r * c.queryDim(), c.numAttentionHeads(), D);
            Ops.rope(rope.cos(), rope.sin(), cs, ws.k, r * c.keyValueDim(), c.numKeyValueHeads(), D);
        }
    }

    /** Copies each row's rotated key and value into its sequence's cache at its position. */
    private void storeKeyValues(int layer, KvCache[] caches, int[] rowSeq, int[] rowPos, int rows) {
        int kv = c.keyValueDim();
        for (int r = 0; r < rows; r++) {
            KvCache cache = caches[rowSeq[r]];
            System.arraycopy(ws.k, r * kv, cache.keys(layer), rowPos[r] * kv, kv);
            System.arraycopy(ws.v, r * kv, cache.values(layer), rowPos[r] * kv, kv);
        }
    }

    /**
     * Causal grouped-query attention: for every row and query head, softmax(q k_j / sqrt(D)) over
     * the sequence's positions j <= the row's position (within the sliding window if the config
     * uses one), times v_j. Output att [R, H*D]. Parallel over (row, head).
     */
    private void attention(int layer, KvCache[] caches, int[] rowSeq, int[] rowPos, int rows) {
        int H = c.numAttentionHeads();
        int D = c.headDim();
        int kv = c.keyValueDim();
        int group = c.queriesPerKeyValueHead();
        int qDim = c.queryDim();
        float scale = (float) (1.0 / Math.sqrt(D));
        Integer window = c.useSlidingWindow() ? c.slidingWindow() : null;
        Parallel.forRange(rows * H, Math.max(1, 4096 / Math.max(1, rowPos[rows - 1] + 1)), (from, to) -> {
            float[] scores = new float[maxPosition(rowPos) + 1];
            for (int i = from; i < to; i++) {
                int r = i / H;
                int h = i % H;
                KvCache cache = caches[rowSeq[r]];
                float[] keys = cache.keys(layer);
                float[] values = cache.values(layer);
                int pos = rowPos[r];
                int first = window == null ? 0 : Math.max(0, pos - window + 1);
                int n = pos - first + 1;
                int qOff = r * qDim + h * D;
                int kvOff = (h / group) * D;
                for (int j = 0; j < n; j++) {
                    scores[j] = Ops.dot(ws.q, qOff, keys, (first + j) * kv + kvOff, D) * scale;
                }
                Ops.softmax(scores, 0, n);
                Ops.weightedRowSum(scores, n, values, first * kv + kvOff, kv, D, ws.att, qOff);
            }
        });
    }

    private static int maxPosition(int[] rowPos) {
        int m = 0;
        for (int p : rowPos) {
            m = Math.max(m, p);
        }
        return m;
    }

    @Override
    public void close() {
        adapters.close();
        ownedWeights.close();
        directory.close();
    }

    /** Activation buffers, grown to the largest row count seen and reused across calls. */
    private static final class Workspace {
        int rows = -1;
        float[] x;    // [R, C] residual stream
        float[] xn;   // [R, C] normed input of a block
        float[] q;    // [R, H*D]
        float[] k;    // [R, KV*D]
        float[] v;    // [R, KV*D]
        float[] att;  // [R, H*D]
        float[] tmp;  // [R, C] block output before the residual add
        float[] gate; // [R, F] (then silu(gate) * up)
        float[] up;   // [R, F]

        void ensure(ModelConfig c, int r) {
            if (r <= rows) {
                return;
            }
            x = new float[r * c.hiddenSize()];
            xn = new float[r * c.hiddenSize()];
            q = new float[r * c.queryDim()];
            k = new float[r * c.keyValueDim()];
            v = new float[r * c.keyValueDim()];
            att = new float[r * c.queryDim()];
            tmp = new float[r * c.hiddenSize()];
            gate = new float[r * c.intermediateSize()];
            up = new float[r * c.intermediateSize()];
            rows = r;
        }
    }
}
