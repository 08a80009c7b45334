package dev.lorakit.testing;

import dev.lorakit.synth.SyntheticModel;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Generates tiny random Hugging Face model directories (config.json, generation_config.json,
 * safetensors weights) for tests: seeded, so the same spec always gives the same bytes.
 *
 * <p>Weights: embeddings and lm_head ~ N(0, 1); linear weights ~ N(0, 1/in_features) so that
 * activations stay O(1) through the layers; biases ~ N(0, 0.1^2); RMSNorm weights
 * 1 + N(0, 0.1^2). Drawn in float32 and rounded to the requested dtype.
 */
public final class TinyModels {
    private TinyModels() {
    }

    /**
     * What to generate.
     *
     * @param architecture model class
     * @param dtype weight dtype (F32, F16 or BF16)
     * @param seed RNG seed
     * @param hiddenSize model width
     * @param intermediateSize MLP width
     * @param layers decoder layers
     * @param heads query heads
     * @param kvHeads key/value heads
     * @param vocabSize vocabulary size
     * @param tiedEmbeddings share lm_head with the embeddings
     * @param maxShardBytes shard size limit (Long.MAX_VALUE: one model.safetensors)
     */
    public record Spec(ModelArchitecture architecture, DType dtype, long seed, int hiddenSize, int intermediateSize,
                       int layers, int heads, int kvHeads, int vocabSize, boolean tiedEmbeddings, long maxShardBytes) {

        /** hidden 64, intermediate 128, 2 layers, 4 heads (head_dim 16), 2 KV heads, vocab 256, F32, seed 42. */
        public static Spec of(ModelArchitecture architecture) {
            return new Spec(architecture, DType.F32, 42, 64, 128, 2, 4, 2, 256,
                    architecture == ModelArchitecture.QWEN2, Long.MAX_VALUE);
        }

        public Spec withDtype(DType d) {
            return new Spec(architecture, d, seed, hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                    tiedEmbeddings, maxShardBytes);
        }

        public Spec withSeed(long s) {
            return new Spec(architecture, dtype, s, hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                    tiedEmbeddings, maxShardBytes);
        }

        public Spec withTiedEmbeddings(boolean t) {
            return new Spec(architecture, dtype, seed, hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                    t, maxShardBytes);
        }

        public Spec withShards(long maxBytes) {
            return new Spec(architecture, dtype, seed, hiddenSize, intermediateSize, layers, heads, kvHeads, vocabSize,
                    tiedEmbeddings, maxBytes);
        }

        public Spec withSizes(int hidden, int intermediate, int nLayers, int nHeads, int nKvHeads, int vocab) {
            return new Spec(architecture, dtype, seed, hidden, intermediate, nLayers, nHeads, nKvHeads, vocab,
                    tiedEmbeddings, maxShardBytes);
        }
    }

    /** The config a spec describes (bos 1, eos 2, rope_theta 10000, rms_norm_eps 1e-5). */
    public static ModelConfig config(Spec s) {
        ModelConfig.Builder b = ModelConfig.builder(s.architecture())
                .hiddenSize(s.hiddenSize())
                .intermediateSize(s.intermediateSize())
                .numHiddenLayers(s.layers())
                .numAttentionHeads(s.heads())
                .numKeyValueHeads(s.kvHeads())
                .vocabSize(s.vocabSize())
                .maxPositionEmbeddings(512)
                .rmsNormEps(1e-5)
                .ropeTheta(10000)
                .tieWordEmbeddings(s.tiedEmbeddings())
                .bosTokenId(1)
                .eosTokenIds(List.of(2))
                .torchDtype(s.dtype());
        if (s.architecture() == ModelArchitecture.QWEN2) {
            b.slidingWindow(512).useSlidingWindow(false);
        }
        return b.build();
    }

    /** Random weights for a config, in WeightLayout#expected order (see {@link SyntheticModel#weights}). */
    public static Map<String, Tensor> weights(ModelConfig c, DType dtype, long seed) {
        return SyntheticModel.weights(c, dtype, seed);
    }

    /** Writes a model directory for the spec (replacing {@code dir} atomically) and returns it. */
    public static Path write(Path dir, Spec s) {
        return write(dir, config(s), s.dtype(), s.seed(), s.maxShardBytes());
    }

    /** Writes the default spec of an architecture in the given dtype. */
    public static Path write(Path dir, ModelArchitecture architecture, DType dtype) {
        return write(dir, Spec.of(architecture).withDtype(dtype));
    }

    /**
     * Writes config.json, generation_config.json and random weights for any config (sharded when
     * they exceed {@code maxShardBytes}), replacing {@code dir} atomically.
     */
    public static Path write(Path dir, ModelConfig config, DType dtype, long seed, long maxShardBytes) {
        try {
            SyntheticModel.write(dir, config, dtype, seed, maxShardBytes, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }
}
