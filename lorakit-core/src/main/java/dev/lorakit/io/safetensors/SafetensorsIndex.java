package dev.lorakit.io.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The index of a sharded safetensors checkpoint ({@code model.safetensors.index.json}):
 * {@code {"metadata": {...}, "weight_map": {tensor name: shard file name}}}. Shard names are
 * plain file names in the index's directory.
 *
 * @param metadata the "metadata" object with every value as text (numbers such as
 *     {@code total_size} in their JSON form); empty if absent
 * @param weightMap tensor name to shard file name, in file order
 */
public record SafetensorsIndex(Map<String, String> metadata, Map<String, String> weightMap) {
    /** The index file name Hugging Face uses for sharded model weights. */
    public static final String FILE_NAME = "model.safetensors.index.json";

    public SafetensorsIndex {
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        weightMap = Collections.unmodifiableMap(new LinkedHashMap<>(weightMap));
    }

    /** Reads and validates an index file (structure only; the shards are checked by {@link ShardedSafetensors}). */
    public static SafetensorsIndex read(Path indexFile) {
        String where = indexFile.toString();
        String json;
        try {
            json = Files.readString(indexFile);
        } catch (NoSuchFileException e) {
            throw new BadInputException(where + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot read: " + e.getMessage(), e);
        }
        return parse(where, json);
    }

    /** Parses index JSON; {@code where} names the file in messages. */
    static SafetensorsIndex parse(String where, String json) {
        JsonNode root;
        try {
            root = SafetensorsHeader.JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": not valid JSON: " + SafetensorsHeader.oneLine(e.getOriginalMessage()));
        }
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new BadInputException(where + ": must be a JSON object {\"metadata\": {...}, \"weight_map\": {...}}, got "
                    + (root == null || root.isMissingNode() ? "nothing" : SafetensorsHeader.describe(root)));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = root.get("metadata");
        if (meta != null && !meta.isNull()) {
            if (!meta.isObject()) {
                throw new BadInputException(where + ": field \"metadata\" must be an object, got " + SafetensorsHeader.describe(meta));
            }
            for (Map.Entry<String, JsonNode> e : meta.properties()) {
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString());
            }
        }
        JsonNode map = root.get("weight_map");
        if (map == null) {
            throw new BadInputException(where + ": missing field \"weight_map\" (expected an object {tensor name: shard file})");
        }
        if (!map.isObject()) {
            throw new BadInputException(where + ": field \"weight_map\" must be an object {tensor name: shard file}, got "
                    + SafetensorsHeader.describe(map));
        }
        if (map.isEmpty()) {
            throw new BadInputException(where + ": field \"weight_map\" is empty (expected at least one tensor)");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new BadInputException(where + ": weight_map entry for tensor \"" + e.getKey()
                        + "\" must be a shard file name, got " + SafetensorsHeader.describe(v));
            }
            String shard = v.textValue();
            if (!isPlainFileName(shard)) {
                throw new BadInputException(where + ": weight_map entry for tensor \"" + e.getKey() + "\" is \"" + shard
                        + "\" (expected a file name in the index's directory, without path separators)");
            }
            weightMap.put(e.getKey(), shard);
        }
        return new SafetensorsIndex(metadata, weightMap);
    }

    private static boolean isPlainFileName(String s) {
        return !s.isEmpty() && !s.equals(".") && !s.equals("..") && s.indexOf('/') < 0 && s.indexOf('\\') < 0
                && s.indexOf('\0') < 0;
    }

    /** The distinct shard file names, sorted (model-00001-of-00003 first). */
    public List<String> shardFiles() {
        return List.copyOf(new TreeSet<>(weightMap.values()));
    }
}
