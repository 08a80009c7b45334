package dev.lorakit.testing;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A miniature of the bundled demo world for tests of {@code lorakit demo}: under a root directory,
 * {@code base/} (a random tiny byte-level model, F32), {@code tasks/{alpha,beta}/{train,dev,test}.jsonl}
 * (prompt/completion, {@value #EXAMPLES} examples each), {@code adapters/{alpha,beta}/} (random
 * rank-4 LoRAs on all seven projections) and {@code adapters/mixed-rank/{alpha,beta}/} (ranks 2
 * and 4). Deterministic.
 */
public final class TinyDemoWorld {
    /** Examples per task and split. */
    public static final int EXAMPLES = 6;
    /** The tasks, in name order. */
    public static final java.util.List<String> TASKS = java.util.List.of("alpha", "beta");

    private TinyDemoWorld() {
    }

    /** Writes the world under {@code root} and returns root. */
    public static Path write(Path root) throws IOException {
        ModelConfig c = ModelPreset.TINY.config(DType.F32);
        SyntheticModel.write(root.resolve("base"), c, DType.F32, 7, Long.MAX_VALUE, true);
        String[] words = {"red", "sun", "dog", "map", "cup", "tea", "owl", "fig", "ink", "bus", "jam", "kit"};
        for (String task : TASKS) {
            Path dir = Files.createDirectories(root.resolve("tasks").resolve(task));
            for (String split : new String[] {"train", "dev", "test"}) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < EXAMPLES; i++) {
                    String w = words[(i + (split.equals("dev") ? 6 : split.equals("train") ? 3 : 0)) % words.length];
                    String prompt = (task.equals("alpha") ? "Upper: " : "Twice: ") + w + "\\n";
                    String completion = task.equals("alpha") ? w.toUpperCase(java.util.Locale.ROOT) : w + " " + w;
                    sb.append("{\"prompt\": \"").append(prompt).append("\", \"completion\": \"").append(completion).append("\"}\n");
                }
                Files.writeString(dir.resolve(split + ".jsonl"), sb);
            }
        }
        int kvDim = c.numKeyValueHeads() * c.headDim();
        Path adapters = root.resolve("adapters");
        TinyAdapters.llama(101, c.numHiddenLayers(), c.hiddenSize(), kvDim, c.intermediateSize()).rank(4).alpha(8)
                .stdB(0.05).write(adapters.resolve("alpha"));
        TinyAdapters.llama(102, c.numHiddenLayers(), c.hiddenSize(), kvDim, c.intermediateSize()).rank(4).alpha(8)
                .stdB(0.05).write(adapters.resolve("beta"));
        TinyAdapters.llama(103, c.numHiddenLayers(), c.hiddenSize(), kvDim, c.intermediateSize()).rank(2).alpha(4)
                .stdB(0.05).write(adapters.resolve("mixed-rank").resolve("alpha"));
        TinyAdapters.llama(104, c.numHiddenLayers(), c.hiddenSize(), kvDim, c.intermediateSize()).rank(4).alpha(8)
                .stdB(0.05).write(adapters.resolve("mixed-rank").resolve("beta"));
        return root;
    }
}
