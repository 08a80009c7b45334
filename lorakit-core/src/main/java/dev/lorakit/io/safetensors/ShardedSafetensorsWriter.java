package dev.lorakit.io.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes model weights the way Hugging Face {@code save_pretrained} lays them out: tensors, in
 * the caller's order, are cut into shards of at most {@code maxShardBytes} data bytes (a tensor
 * larger than that gets a shard of its own) named {@code model-00001-of-00003.safetensors}, plus
 * {@code model.safetensors.index.json} with {@code metadata.total_size} and a sorted weight map.
 * When everything fits in one shard the result is a single {@code model.safetensors} and no index.
 */
public final class ShardedSafetensorsWriter {
    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d+-of-\\d+\\.safetensors");

    private ShardedSafetensorsWriter() {
    }

    /** The Hugging Face shard file name: {@code model-00001-of-00003.safetensors} (1-based). */
    public static String shardName(int shard, int shardCount) {
        return String.format("model-%05d-of-%05d.safetensors", shard, shardCount);
    }

    /**
     * Splits tensor names into shards of at most {@code maxShardBytes} data bytes, keeping the
     * map's order; a tensor larger than the limit forms a shard of its own.
     */
    public static List<List<String>> plan(Map<String, Tensor> tensors, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long currentBytes = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            long size = e.getValue().byteSize();
            if (!current.isEmpty() && currentBytes + size > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e.getKey());
            currentBytes += size;
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    /**
     * Replaces {@code targetDir} atomically with a directory holding only the checkpoint files.
     * Use {@link #writeInto} inside an {@link AtomicFiles#writeDirectory} body to add other files
     * (config.json, tokenizer) to the same directory.
     */
    public static List<String> write(Path targetDir, Map<String, Tensor> tensors, Map<String, String> shardMetadata,
                                     long maxShardBytes) throws IOException {
        List<List<String>> written = new ArrayList<>();
        AtomicFiles.writeDirectory(targetDir, tmp -> written.add(writeInto(tmp, tensors, shardMetadata, maxShardBytes)));
        return written.getFirst();
    }

    /**
     * Writes the shards (each with {@code shardMetadata} as its {@code __metadata__}) and the
     * index into {@code dir}, which must not already hold a checkpoint. The index is written last;
     * on failure the files written so far are deleted.
     *
     * @return the file names written, shards first, then the index (if any)
     */
    public static List<String> writeInto(Path dir, Map<String, Tensor> tensors, Map<String, String> shardMetadata,
                                         long maxShardBytes) throws IOException {
        List<List<String>> plan = plan(tensors, maxShardBytes);
        Files.createDirectories(dir);
        refuseExistingCheckpoint(dir);
        List<String> written = new ArrayList<>();
        try {
            if (plan.size() == 1) {
                SafetensorsWriter.write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), tensors, shardMetadata);
                written.add(SafetensorsCheckpoint.SINGLE_FILE);
                return written;
            }
            Map<String, String> weightMap = new TreeMap<>();
            long totalSize = 0;
            for (int i = 0; i < plan.size(); i++) {
                String file = shardName(i + 1, plan.size());
                Map<String, Tensor> shard = new LinkedHashMap<>();
                for (String name : plan.get(i)) {
                    Tensor t = tensors.get(name);
                    shard.put(name, t);
                    weightMap.put(name, file);
                    totalSize += t.byteSize();
                }
                SafetensorsWriter.write(dir.resolve(file), shard, shardMetadata);
                written.add(file);
            }
            AtomicFiles.writeString(dir.resolve(SafetensorsIndex.FILE_NAME), indexJson(totalSize, weightMap));
            written.add(SafetensorsIndex.FILE_NAME);
            return written;
        } catch (IOException | RuntimeException | Error e) {
            for (String file : written) {
                Files.deleteIfExists(dir.resolve(file));
            }
            throw e;
        }
    }

    private static void refuseExistingCheckpoint(Path dir) throws IOException {
        List<String> existing;
        try (Stream<Path> files = Files.list(dir)) {
            existing = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.equals(SafetensorsCheckpoint.SINGLE_FILE) || n.equals(SafetensorsIndex.FILE_NAME)
                            || SHARD_NAME.matcher(n).matches())
                    .sorted().toList();
        }
        if (!existing.isEmpty()) {
            throw new BadInputException(dir + ": already holds " + String.join(", ", existing)
                    + "; refusing to mix two checkpoints in one directory (write to a new directory)");
        }
    }

    /**
     * The index JSON: {"metadata": {"total_size": N}, "weight_map": {...}}, 2-space indented (for
     * writers that stream their shards themselves, e.g. with {@link SafetensorsStreamWriter}).
     */
    public static String indexJson(long totalSize, Map<String, String> weightMap) {
        ObjectNode root = SafetensorsHeader.JSON.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        new TreeMap<>(weightMap).forEach(map::put);
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
                .withObjectIndenter(new DefaultIndenter("  ", "\n"));
        try {
            return SafetensorsHeader.JSON.writer(printer).writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
