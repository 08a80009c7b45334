package dev.lorakit.adapt;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.compress.CompressOptions;
import dev.lorakit.compress.CompressionListener;
import dev.lorakit.compress.ModelCompressor;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * Models, adapters and data for the CA-LoRA tests, generated in code: the tiny preset (hidden
 * 64, FFN 128, 2 layers, byte tokenizer) as the uncompressed teacher, its compressed copies, a
 * LoRA "trained" on it (random factors) and a small prompt/completion task.
 */
final class AdaptFixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"};

    private AdaptFixtures() {
    }

    /** The uncompressed tiny model (byte tokenizer). */
    static Path teacher(Path dir) throws IOException {
        SyntheticModel.write(dir, ModelPreset.TINY.config(DType.F32), DType.F32, 1, Long.MAX_VALUE, true);
        return dir;
    }

    /** A compressed copy of {@code teacher}. */
    static Path compress(Path teacher, CompressOptions options, Path out) throws IOException {
        ModelCompressor.compress(teacher, options, out, CompressionListener.NONE);
        return out;
    }

    /** A LoRA on every projection of the tiny model with rsLoRA, a rank pattern and an alpha pattern. */
    static TinyAdapters.Spec adapterSpec(long seed) {
        return TinyAdapters.llama(seed, 2, 64, 32, 128).rank(4).alpha(6).rslora(true)
                .rankPattern("model.layers.1.mlp.down_proj", 3).alphaPattern("v_proj", 5).stdB(0.2);
    }

    /** Uppercasing words: {"prompt": "Up: beta =", "completion": " BETA"}. */
    static Path uppercaseTask(Path file, int n, long seed) throws IOException {
        Random rnd = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String w = WORDS[rnd.nextInt(WORDS.length)];
            sb.append(JSON.writeValueAsString(Map.of("prompt", "Up: " + w + " =", "completion", " " + w.toUpperCase())))
                    .append('\n');
        }
        Files.writeString(file, sb);
        return file;
    }
}
