package dev.lorakit.io.safetensors;

import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

/**
 * A sharded safetensors checkpoint: an index ({@code model.safetensors.index.json}) and the
 * shard files it names, opened and cross-checked together.
 *
 * <p>Checks on open, each a {@link BadInputException} naming the index or shard file and the
 * tensor: the index is valid ({@link SafetensorsIndex}); every shard exists and is a valid
 * safetensors file ({@link SafetensorsFile}); every tensor of the weight map is in the shard the
 * map names; no shard holds a tensor the map does not list or puts in another shard.
 */
public final class ShardedSafetensors implements TensorSource {
    private final Path indexFile;
    private final SafetensorsIndex index;
    private final Map<String, SafetensorsFile> shardByFile;
    private final Map<String, SafetensorsFile> shardByTensor;
    private final SequencedSet<String> names;

    private ShardedSafetensors(Path indexFile, SafetensorsIndex index, Map<String, SafetensorsFile> shardByFile,
                               Map<String, SafetensorsFile> shardByTensor, SequencedSet<String> names) {
        this.indexFile = indexFile;
        this.index = index;
        this.shardByFile = shardByFile;
        this.shardByTensor = shardByTensor;
        this.names = names;
    }

    /** Opens an index file and all its shards, validating them against each other. */
    public static ShardedSafetensors open(Path indexFile) {
        SafetensorsIndex index = SafetensorsIndex.read(indexFile);
        String where = indexFile.toString();
        Path dir = indexFile.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        try {
            for (String file : index.shardFiles()) {
                Path shardPath = dir.resolve(file);
                if (!Files.isRegularFile(shardPath)) {
                    String example = index.weightMap().entrySet().stream().filter(e -> e.getValue().equals(file))
                            .findFirst().orElseThrow().getKey();
                    throw new BadInputException(where + ": shard \"" + file + "\" (which the weight_map names for tensor \""
                            + example + "\" and others) does not exist in " + dir);
                }
                shards.put(file, SafetensorsFile.open(shardPath));
            }
            Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : index.weightMap().entrySet()) {
                SafetensorsFile shard = shards.get(e.getValue());
                if (!shard.contains(e.getKey())) {
                    throw new BadInputException(where + ": weight_map puts tensor \"" + e.getKey() + "\" in \"" + e.getValue()
                            + "\", but that shard has no such tensor");
                }
                byTensor.put(e.getKey(), shard);
            }
            SequencedSet<String> names = new LinkedHashSet<>();
            for (Map.Entry<String, SafetensorsFile> s : shards.entrySet()) {
                for (String name : s.getValue().names()) {
                    String mapped = index.weightMap().get(name);
                    if (mapped == null) {
                        throw new BadInputException(s.getValue().path() + ": tensor \"" + name + "\" is not listed in the weight_map of "
                                + where + " (expected every shard tensor to be listed)");
                    }
                    if (!mapped.equals(s.getKey())) {
                        throw new BadInputException(where + ": tensor \"" + name + "\" is stored in both \"" + mapped + "\" and \""
                                + s.getKey() + "\" (expected exactly one shard; the weight_map names \"" + mapped + "\")");
                    }
                    names.add(name);
                }
            }
            return new ShardedSafetensors(indexFile, index, Collections.unmodifiableMap(shards),
                    Collections.unmodifiableMap(byTensor), Collections.unmodifiableSequencedSet(names));
        } catch (RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    /** The index file this was opened from. */
    public Path indexFile() {
        return indexFile;
    }

    /** The parsed index. */
    public SafetensorsIndex index() {
        return index;
    }

    /** The open shards, by file name, sorted. */
    public List<SafetensorsFile> shards() {
        return new ArrayList<>(shardByFile.values());
    }

    /** The shard file holding a tensor. */
    public Path shardOf(String name) {
        return shard(name).path();
    }

    private SafetensorsFile shard(String name) {
        SafetensorsFile s = shardByTensor.get(name);
        if (s == null) {
            throw new BadInputException(indexFile + ": no tensor named \"" + name + "\" in the weight_map");
        }
        return s;
    }

    /** Tensor names: shards in file-name order, tensors of a shard in data order. */
    @Override
    public SequencedSet<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return shardByTensor.containsKey(name);
    }

    /** The tensor's info; its offsets are relative to the data buffer of its shard ({@link #shardOf}). */
    @Override
    public TensorInfo info(String name) {
        return shard(name).info(name);
    }

    @Override
    public Tensor get(String name) {
        return shard(name).get(name);
    }

    /** The index's "metadata" (e.g. {@code total_size}), values as text. */
    @Override
    public Map<String, String> metadata() {
        return index.metadata();
    }

    @Override
    public String description() {
        return indexFile.toString();
    }

    /** Closes every shard. */
    @Override
    public void close() {
        shardByFile.values().forEach(SafetensorsFile::close);
    }
}
