package dev.lorakit.synth;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.tensor.DType;
import java.util.List;
import java.util.Locale;

/**
 * Named model shapes for synthetic models: a tiny one for examples and tests, and the shapes
 * of real models that benchmarks reproduce without downloading them.
 */
public enum ModelPreset {
    /** hidden 64, 2 layers, 4 heads / 2 KV heads, FFN 128, byte vocabulary (259). */
    TINY(64, 128, 2, 4, 2, 259, 512),
    /**
     * The bundled base model's shape, for pretraining from scratch with full-parameter training:
     * hidden 256, 8 layers, 8 heads / 4 KV heads (head_dim 32), FFN 688, context 512, byte
     * vocabulary (259), untied LM head: 5,936,896 parameters (5,804,032 in the blocks, 132,608 in
     * the embedding and LM head).
     */
    BASE6M(256, 688, 8, 8, 4, 259, 512),
    /** ~20M parameters, the training benchmark's shape: hidden 512, 8 layers, 8 heads, FFN 1376, byte vocabulary. */
    BENCH20M(512, 1376, 8, 8, 8, 259, 2048),
    /** TinyLlama-1.1B: hidden 2048, 22 layers, 32 heads / 4 KV heads, FFN 5632, vocab 32000. */
    TINYLLAMA(2048, 5632, 22, 32, 4, 32000, 2048),
    /** Llama-2-7B: hidden 4096, 32 layers, 32 heads (no GQA), FFN 11008, vocab 32000. */
    LLAMA2_7B(4096, 11008, 32, 32, 32, 32000, 4096);

    private final int hidden;
    private final int intermediate;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int vocab;
    private final int context;

    ModelPreset(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, int context) {
        this.hidden = hidden;
        this.intermediate = intermediate;
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.vocab = vocab;
        this.context = context;
    }

    /** The CLI spelling: lower case with dashes ("tinyllama", "llama2-7b"). */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** A LlamaForCausalLM config of this shape (bos 0 / eos 1 for the byte vocabulary, else 1 / 2). */
    public ModelConfig config(DType dtype) {
        boolean bytes = vocab == ByteTokenizerBuilder.VOCAB_SIZE;
        return ModelConfig.builder(ModelArchitecture.LLAMA)
                .hiddenSize(hidden)
                .intermediateSize(intermediate)
                .numHiddenLayers(layers)
                .numAttentionHeads(heads)
                .numKeyValueHeads(kvHeads)
                .vocabSize(vocab)
                .maxPositionEmbeddings(context)
                .rmsNormEps(1e-5)
                .ropeTheta(10000)
                .tieWordEmbeddings(false)
                .bosTokenId(bytes ? ByteTokenizerBuilder.BOS_ID : 1)
                .eosTokenIds(List.of(bytes ? ByteTokenizerBuilder.EOS_ID : 2))
                .torchDtype(dtype)
                .build();
    }
}
