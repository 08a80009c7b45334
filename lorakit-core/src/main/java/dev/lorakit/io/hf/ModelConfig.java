package dev.lorakit.io.hf;

import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.tensor.DType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The architecture hyper-parameters of a Llama-family model, as config.json states them,
 * validated: sizes positive, attention heads a multiple of KV heads, head_dim even, token ids
 * inside the vocabulary, biases as the architecture allows. Construction with bad values throws
 * {@link BadInputException} naming the config.json field, the value and what was expected;
 * {@link #read} prefixes the file path.
 *
 * <p>Fields config.json may leave out get the Hugging Face defaults: num_key_value_heads =
 * num_attention_heads, head_dim = hidden_size / num_attention_heads, rms_norm_eps 1e-6,
 * rope_theta 10000, tie_word_embeddings false, torch_dtype float32, attention_bias false.
 *
 * @param architecture which model class
 * @param hiddenSize model width (hidden_size)
 * @param intermediateSize MLP width (intermediate_size)
 * @param numHiddenLayers decoder layers
 * @param numAttentionHeads query heads
 * @param numKeyValueHeads key/value heads (grouped-query attention); divides numAttentionHeads
 * @param headDim per-head width, even
 * @param rmsNormEps RMSNorm epsilon, positive
 * @param ropeTheta RoPE base, positive
 * @param ropeScaling RoPE scaling, or null for none ("default")
 * @param maxPositionEmbeddings the context length the model was trained for (with scaling)
 * @param tieWordEmbeddings true if lm_head shares model.embed_tokens.weight
 * @param vocabSize vocabulary size
 * @param bosTokenId beginning-of-sequence token, or null
 * @param eosTokenIds end-of-sequence tokens (config.json allows one or a list), possibly empty
 * @param padTokenId padding token, or null (not range-checked: some configs use -1 for none)
 * @param torchDtype the dtype the weights were saved in (F32, F16 or BF16)
 * @param attentionBias Llama: q/k/v/o have biases; Qwen2: always true (q/k/v biases); Mistral: false
 * @param slidingWindow sliding attention window in tokens, or null
 * @param useSlidingWindow whether the window applies (Qwen2: use_sliding_window; Mistral: a
 *     window is set; Llama: false)
 */
public record ModelConfig(
        ModelArchitecture architecture,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        int vocabSize,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        DType torchDtype,
        boolean attentionBias,
        Integer slidingWindow,
        boolean useSlidingWindow) {

    /** The file name of a model config in a Hugging Face directory. */
    public static final String FILE_NAME = "config.json";

    public ModelConfig {
        if (architecture == null) {
            throw new BadInputException("field \"architectures\" must name one of " + ModelArchitecture.supportedNames()
                    + ", got null");
        }
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("vocab_size", vocabSize);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new BadInputException("field \"num_key_value_heads\" must divide num_attention_heads " + numAttentionHeads
                    + ", got " + numKeyValueHeads);
        }
        if (headDim % 2 != 0) {
            throw new BadInputException("field \"head_dim\" must be even (RoPE rotates pairs of dimensions), got " + headDim);
        }
        if (!(rmsNormEps > 0) || Double.isInfinite(rmsNormEps)) {
            throw new BadInputException("field \"rms_norm_eps\" must be a finite number > 0, got " + rmsNormEps);
        }
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new BadInputException("field \"rope_theta\" must be a finite number > 0, got " + ropeTheta);
        }
        if (bosTokenId != null) {
            tokenId("bos_token_id", bosTokenId, vocabSize);
        }
        eosTokenIds = List.copyOf(Objects.requireNonNull(eosTokenIds, "eosTokenIds"));
        for (int id : eosTokenIds) {
            tokenId("eos_token_id", id, vocabSize);
        }
        if (torchDtype == null || !torchDtype.isCompute()) {
            throw new BadInputException("field \"torch_dtype\" must be \"float32\", \"float16\" or \"bfloat16\", got "
                    + (torchDtype == null ? "null" : "\"" + torchDtype.torchName() + "\""));
        }
        if (slidingWindow != null) {
            positive("sliding_window", slidingWindow);
        }
        if (useSlidingWindow && slidingWindow == null) {
            throw new BadInputException("field \"sliding_window\" must be a positive integer when use_sliding_window is true, got null");
        }
        switch (architecture) {
            case LLAMA -> {
                if (slidingWindow != null || useSlidingWindow) {
                    throw new BadInputException("field \"sliding_window\" must be absent for " + architecture.className()
                            + ", got " + slidingWindow);
                }
            }
            case MISTRAL -> {
                if (attentionBias) {
                    throw new BadInputException("field \"attention_bias\" must be false for " + architecture.className()
                            + " (it has no attention biases), got true");
                }
                if (useSlidingWindow != (slidingWindow != null)) {
                    throw new BadInputException("field \"sliding_window\" decides the window for " + architecture.className()
                            + "; use_sliding_window must be " + (slidingWindow != null) + ", got " + useSlidingWindow);
                }
            }
            case QWEN2 -> {
                if (!attentionBias) {
                    throw new BadInputException("field \"attention_bias\" must be true for " + architecture.className()
                            + " (q/k/v always have biases), got false");
                }
            }
        }
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new BadInputException("field \"" + field + "\" must be a positive integer, got " + value);
        }
    }

    private static void tokenId(String field, int id, int vocabSize) {
        if (id < 0 || id >= vocabSize) {
            throw new BadInputException("field \"" + field + "\" must be a token id in [0, vocab_size " + vocabSize
                    + "), got " + id);
        }
    }

    /** Reads and validates a config.json; messages start with its path. */
    public static ModelConfig read(Path configJson) {
        return ModelConfigJson.parse(ConfigJson.read(configJson));
    }

    /** Parses config.json text; {@code where} names the file in messages. */
    public static ModelConfig parse(String where, String json) {
        return ModelConfigJson.parse(ConfigJson.parse(where, json));
    }

    /** This config as Hugging Face writes config.json (sorted keys, 2-space indent). */
    public String toJson() {
        return ModelConfigJson.toJson(this);
    }

    /** Writes config.json atomically. */
    public void write(Path configJson) throws IOException {
        AtomicFiles.writeString(configJson, toJson());
    }

    /** A builder with the Hugging Face defaults, for generated models. */
    public static Builder builder(ModelArchitecture architecture) {
        return new Builder(architecture);
    }

    /** Width of all query heads together: num_attention_heads * head_dim. */
    public int queryDim() {
        return numAttentionHeads * headDim;
    }

    /** Width of all key (or value) heads together: num_key_value_heads * head_dim. */
    public int keyValueDim() {
        return numKeyValueHeads * headDim;
    }

    /** Query heads per KV head. */
    public int queriesPerKeyValueHead() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** True if the projection has a bias: Qwen2 q/k/v; Llama q/k/v/o with attention_bias; never MLP. */
    public boolean hasBias(Projection p) {
        return switch (architecture) {
            case LLAMA -> attentionBias && p.isAttention();
            case QWEN2 -> p == Projection.Q_PROJ || p == Projection.K_PROJ || p == Projection.V_PROJ;
            case MISTRAL -> false;
        };
    }

    /** The same config with another torch_dtype (the dtype a writer stores the weights in). */
    public ModelConfig withTorchDtype(DType dtype) {
        return new ModelConfig(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, rmsNormEps, ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings,
                vocabSize, bosTokenId, eosTokenIds, padTokenId, dtype, attentionBias, slidingWindow, useSlidingWindow);
    }

    /** The first EOS token, or null if none. */
    public Integer eosTokenId() {
        return eosTokenIds.isEmpty() ? null : eosTokenIds.getFirst();
    }

    /** Builds a {@link ModelConfig}; unset fields take the Hugging Face defaults. */
    public static final class Builder {
        private final ModelArchitecture architecture;
        private int hiddenSize;
        private int intermediateSize;
        private int numHiddenLayers;
        private int numAttentionHeads;
        private Integer numKeyValueHeads;
        private Integer headDim;
        private double rmsNormEps = 1e-6;
        private double ropeTheta = 10000;
        private RopeScaling ropeScaling;
        private int maxPositionEmbeddings = 2048;
        private boolean tieWordEmbeddings;
        private int vocabSize;
        private Integer bosTokenId;
        private List<Integer> eosTokenIds = List.of();
        private Integer padTokenId;
        private DType torchDtype = DType.F32;
        private boolean attentionBias;
        private Integer slidingWindow;
        private Boolean useSlidingWindow;

        private Builder(ModelArchitecture architecture) {
            this.architecture = architecture;
            this.attentionBias = architecture == ModelArchitecture.QWEN2;
        }

        public Builder hiddenSize(int v) { hiddenSize = v; return this; }
        public Builder intermediateSize(int v) { intermediateSize = v; return this; }
        public Builder numHiddenLayers(int v) { numHiddenLayers = v; return this; }
        public Builder numAttentionHeads(int v) { numAttentionHeads = v; return this; }
        public Builder numKeyValueHeads(int v) { numKeyValueHeads = v; return this; }
        public Builder headDim(int v) { headDim = v; return this; }
        public Builder rmsNormEps(double v) { rmsNormEps = v; return this; }
        public Builder ropeTheta(double v) { ropeTheta = v; return this; }
        public Builder ropeScaling(RopeScaling v) { ropeScaling = v; return this; }
        public Builder maxPositionEmbeddings(int v) { maxPositionEmbeddings = v; return this; }
        public Builder tieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder bosTokenId(Integer v) { bosTokenId = v; return this; }
        public Builder eosTokenIds(List<Integer> v) { eosTokenIds = v; return this; }
        public Builder padTokenId(Integer v) { padTokenId = v; return this; }
        public Builder torchDtype(DType v) { torchDtype = v; return this; }
        public Builder attentionBias(boolean v) { attentionBias = v; return this; }
        public Builder slidingWindow(Integer v) { slidingWindow = v; return this; }
        public Builder useSlidingWindow(boolean v) { useSlidingWindow = v; return this; }

        /** Validates and builds. */
        public ModelConfig build() {
            int heads = numAttentionHeads;
            int kv = numKeyValueHeads == null ? heads : numKeyValueHeads;
            int hd = headDim != null ? headDim : ModelConfigJson.defaultHeadDim(hiddenSize, heads);
            boolean useWindow = useSlidingWindow != null ? useSlidingWindow
                    : architecture == ModelArchitecture.MISTRAL && slidingWindow != null;
            return new ModelConfig(architecture, hiddenSize, intermediateSize, numHiddenLayers, heads, kv, hd, rmsNormEps,
                    ropeTheta, ropeScaling, maxPositionEmbeddings, tieWordEmbeddings, vocabSize, bosTokenId, eosTokenIds,
                    padTokenId, torchDtype, attentionBias, slidingWindow, useWindow);
        }
    }
}
