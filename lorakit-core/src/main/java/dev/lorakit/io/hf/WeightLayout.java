package dev.lorakit.io.hf;

import dev.lorakit.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * The tensors a Llama-family checkpoint must hold for a given {@link ModelConfig}, with their
 * Hugging Face names and shapes ([out, in] for linear weights), in checkpoint order: embeddings,
 * then per layer input norm, q/k/v/o (+ biases), post-attention norm, gate/up/down, then the
 * final norm and lm_head (absent when embeddings are tied).
 */
public final class WeightLayout {
    /** Token embeddings [vocab_size, hidden_size]. */
    public static final String EMBED_TOKENS = "model.embed_tokens.weight";
    /** Final RMSNorm weight [hidden_size]. */
    public static final String FINAL_NORM = "model.norm.weight";
    /** Output projection [vocab_size, hidden_size]; absent when tie_word_embeddings. */
    public static final String LM_HEAD = "lm_head.weight";

    private WeightLayout() {
    }

    /**
     * One expected tensor.
     *
     * @param name Hugging Face tensor name
     * @param shape expected shape
     * @param meaning how the shape derives from config.json, e.g. "[intermediate_size, hidden_size]"
     */
    public record Entry(String name, Shape shape, String meaning) {
    }

    /** RMSNorm before attention in layer {@code layer} [hidden_size]. */
    public static String inputLayernorm(int layer) {
        return "model.layers." + layer + ".input_layernorm.weight";
    }

    /** RMSNorm before the MLP in layer {@code layer} [hidden_size]. */
    public static String postAttentionLayernorm(int layer) {
        return "model.layers." + layer + ".post_attention_layernorm.weight";
    }

    /** Every tensor the model needs, in checkpoint order. */
    public static List<Entry> expected(ModelConfig c) {
        List<Entry> out = new ArrayList<>();
        int hidden = c.hiddenSize();
        out.add(new Entry(EMBED_TOKENS, Shape.of(c.vocabSize(), hidden), "[vocab_size, hidden_size]"));
        for (int layer = 0; layer < c.numHiddenLayers(); layer++) {
            out.add(new Entry(inputLayernorm(layer), Shape.of(hidden), "[hidden_size]"));
            for (Projection p : Projection.values()) {
                if (p == Projection.GATE_PROJ) {
                    out.add(new Entry(postAttentionLayernorm(layer), Shape.of(hidden), "[hidden_size]"));
                }
                out.add(new Entry(p.weightName(layer), Shape.of(p.outFeatures(c), p.inFeatures(c)), p.shapeMeaning()));
                if (c.hasBias(p)) {
                    String meaning = p.shapeMeaning();
                    out.add(new Entry(p.biasName(layer), Shape.of(p.outFeatures(c)),
                            meaning.substring(0, meaning.indexOf(',')) + "]"));
                }
            }
        }
        out.add(new Entry(FINAL_NORM, Shape.of(hidden), "[hidden_size]"));
        if (!c.tieWordEmbeddings()) {
            out.add(new Entry(LM_HEAD, Shape.of(c.vocabSize(), hidden), "[vocab_size, hidden_size]"));
        }
        return out;
    }

    /** Number of parameters the model has (counting tied embeddings once). */
    public static long parameterCount(ModelConfig c) {
        long n = 0;
        for (Entry e : expected(c)) {
            n += e.shape().size();
        }
        return n;
    }
}
