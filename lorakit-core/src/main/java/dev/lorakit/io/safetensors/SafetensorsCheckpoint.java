package dev.lorakit.io.safetensors;

import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Opens model weights stored as safetensors, whatever the layout: a single {@code .safetensors}
 * file, a {@code model.safetensors.index.json} with its shards, or a directory holding either
 * (like Hugging Face, a directory's {@code model.safetensors} wins over its index). Anything else
 * is a {@link BadInputException} saying what was found and what to do (for pickle checkpoints:
 * convert them to safetensors).
 */
public final class SafetensorsCheckpoint {
    /** The single-file weight name Hugging Face uses. */
    public static final String SINGLE_FILE = "model.safetensors";

    private static final List<String> PICKLE_NAMES = List.of("pytorch_model.bin", "pytorch_model.bin.index.json");
    private static final List<String> PICKLE_SUFFIXES = List.of(".bin", ".pt", ".pth", ".ckpt", ".pkl");

    private SafetensorsCheckpoint() {
    }

    /**
     * Opens a .safetensors file, a .index.json file, or a directory containing
     * {@code model.safetensors} or {@code model.safetensors.index.json}.
     */
    public static TensorSource open(Path path) {
        if (Files.isDirectory(path)) {
            return openDirectory(path);
        }
        if (!Files.exists(path)) {
            throw new BadInputException(path + ": no such file or directory (expected a .safetensors file, a "
                    + SafetensorsIndex.FILE_NAME + " or a model directory)");
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".safetensors")) {
            return SafetensorsFile.open(path);
        }
        if (name.endsWith(".index.json")) {
            if (name.startsWith("pytorch_model")) {
                throw pickle(path);
            }
            return ShardedSafetensors.open(path);
        }
        if (PICKLE_SUFFIXES.stream().anyMatch(name::endsWith)) {
            throw pickle(path);
        }
        throw new BadInputException(path + ": not a safetensors checkpoint (expected a .safetensors file, a "
                + SafetensorsIndex.FILE_NAME + " or a model directory)");
    }

    private static TensorSource openDirectory(Path dir) {
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return SafetensorsFile.open(single);
        }
        Path index = dir.resolve(SafetensorsIndex.FILE_NAME);
        if (Files.isRegularFile(index)) {
            return ShardedSafetensors.open(index);
        }
        for (String pickleName : PICKLE_NAMES) {
            if (Files.exists(dir.resolve(pickleName))) {
                throw pickle(dir.resolve(pickleName));
            }
        }
        List<String> others = safetensorsFilesIn(dir);
        String found = others.isEmpty() ? "" : "; found " + String.join(", ", others) + " (pass the file itself to use it)";
        throw new BadInputException(dir + ": no " + SINGLE_FILE + " or " + SafetensorsIndex.FILE_NAME
                + " in the directory (expected Hugging Face safetensors weights" + found + ")");
    }

    private static BadInputException pickle(Path file) {
        return new BadInputException(file + ": pickle (PyTorch .bin) checkpoints are not supported; convert the model to "
                + "safetensors first (e.g. load it in transformers and call save_pretrained(dir, safe_serialization=True))");
    }

    private static List<String> safetensorsFilesIn(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted().limit(5).toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
