package dev.lorakit.synth;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.hf.GenerationConfig;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.safetensors.ShardedSafetensorsWriter;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random Hugging Face model directories of any supported shape, reproducible from a seed: for
 * tests, examples and benchmarks that need a model of real size but no download. Weights are
 * N(0, 1/in)-scaled (linears), N(0, 1) (embeddings) and 1 + N(0, 0.1) (norms) by default
 * ({@link Init#RANDOM}: activations of realistic scale for kernels and benchmarks), or the
 * usual starting point for pretraining ({@link Init#PRETRAIN}). Each tensor has its own
 * generator seeded from (seed, tensor index), so generation runs in parallel and the result
 * does not depend on the thread count.
 */
public final class SyntheticModel {
    /** How weights are drawn. */
    public enum Init {
        /** Linears N(0, 1/in), embeddings N(0, 1), norms 1 + N(0, 0.1), biases N(0, 0.01). */
        RANDOM,
        /**
         * GPT-2 style, for pretraining: every matrix N(0, 0.02^2), the residual outputs (o_proj,
         * down_proj) N(0, (0.02 / sqrt(2 L))^2), norms exactly 1, biases 0; the initial loss is
         * then close to ln(vocab).
         */
        PRETRAIN
    }

    /** Default shard size of written checkpoints (like transformers' 5 GB default, smaller). */
    public static final long DEFAULT_SHARD_BYTES = 2L << 30;

    private SyntheticModel() {
    }

    /** Random weights ({@link Init#RANDOM}) for a config in {@link WeightLayout#expected} order, rounded to dtype. */
    public static Map<String, Tensor> weights(ModelConfig c, DType dtype, long seed) {
        return weights(c, dtype, seed, Init.RANDOM);
    }

    /** Random weights drawn as {@code init} says, in {@link WeightLayout#expected} order, rounded to dtype. */
    public static Map<String, Tensor> weights(ModelConfig c, DType dtype, long seed, Init init) {
        List<WeightLayout.Entry> entries = WeightLayout.expected(c);
        Tensor[] tensors = new Tensor[entries.size()];
        Parallel.forRange(entries.size(), 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                tensors[i] = randomTensor(entries.get(i), dtype, new SplittableRandom(seed * 1_000_003L + i), init,
                        c.numHiddenLayers());
            }
        });
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < tensors.length; i++) {
            out.put(entries.get(i).name(), tensors[i]);
        }
        return out;
    }

    private static Tensor randomTensor(WeightLayout.Entry e, DType dtype, SplittableRandom rnd, Init init, int layers) {
        String n = e.name();
        int[] dims = e.shape().dims();
        double mean = 0;
        double std;
        if (init == Init.PRETRAIN) {
            if (n.endsWith("norm.weight")) {
                mean = 1;
                std = 0;
            } else if (n.endsWith(".bias")) {
                std = 0;
            } else if (n.endsWith("o_proj.weight") || n.endsWith("down_proj.weight")) {
                std = 0.02 / Math.sqrt(2.0 * layers);
            } else {
                std = 0.02;
            }
        } else if (n.endsWith("norm.weight")) {
            mean = 1;
            std = 0.1;
        } else if (n.endsWith(".bias")) {
            std = 0.1;
        } else if (n.equals(WeightLayout.EMBED_TOKENS) || n.equals(WeightLayout.LM_HEAD)) {
            std = 1;
        } else {
            std = 1 / Math.sqrt(dims[1]);
        }
        Tensor t = Tensor.zeros(dtype, e.shape());
        long size = t.size();
        for (long i = 0; i < size; i++) {
            t.setFloat(i, (float) (mean + std * gaussian(rnd)));
        }
        return t;
    }

    /** A standard normal sample (Box-Muller, one value per call: simple and reproducible). */
    static double gaussian(SplittableRandom rnd) {
        double u = 1.0 - rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /**
     * Writes config.json, generation_config.json and random weights (sharded beyond
     * {@code maxShardBytes}); with {@code byteTokenizer}, also lorakit's byte-level tokenizer
     * (the config's vocabulary must then be the byte vocabulary). Replaces {@code dir} atomically.
     */
    public static void write(Path dir, ModelConfig config, DType dtype, long seed, long maxShardBytes, boolean byteTokenizer)
            throws IOException {
        write(dir, config, dtype, seed, maxShardBytes, byteTokenizer, Init.RANDOM);
    }

    /** As {@link #write(Path, ModelConfig, DType, long, long, boolean)} with weights drawn as {@code init} says. */
    public static void write(Path dir, ModelConfig config, DType dtype, long seed, long maxShardBytes, boolean byteTokenizer,
                             Init init) throws IOException {
        if (byteTokenizer && config.vocabSize() != ByteTokenizerBuilder.VOCAB_SIZE) {
            throw new IllegalArgumentException("a byte tokenizer needs vocab_size " + ByteTokenizerBuilder.VOCAB_SIZE
                    + ", the config has " + config.vocabSize());
        }
        Map<String, Tensor> weights = weights(config, dtype, seed, init);
        GenerationConfig gen = new GenerationConfig(config.bosTokenId(), config.eosTokenIds(), null, 0.7, 0.9, 50,
                null, null, true, null);
        AtomicFiles.writeDirectory(dir, tmp -> {
            config.write(tmp.resolve(ModelConfig.FILE_NAME));
            gen.write(tmp.resolve(GenerationConfig.FILE_NAME));
            ShardedSafetensorsWriter.writeInto(tmp, weights, Map.of("format", "pt"), maxShardBytes);
            if (byteTokenizer) {
                new ByteTokenizerBuilder().addBosToken(true).writeTo(tmp);
            }
        });
    }
}
