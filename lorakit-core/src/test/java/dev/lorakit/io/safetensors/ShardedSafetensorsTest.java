package dev.lorakit.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.TensorSource;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Sharded checkpoints: the writer, the index reader and the cross-checks between them. */
class ShardedSafetensorsTest {
    @TempDir
    Path dir;

    /** Five tensors of 40, 24, 40, 8 and 16 bytes, in this order. */
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    @BeforeEach
    void makeTensors() {
        Random rnd = new Random(11);
        tensors.put("model.embed_tokens.weight", SafetensorsRoundTripTest.randomBytes(DType.F32, rnd, 2, 5));
        tensors.put("model.layers.0.mlp.up_proj.weight", SafetensorsRoundTripTest.randomBytes(DType.BF16, rnd, 3, 4));
        tensors.put("model.layers.1.mlp.up_proj.weight", SafetensorsRoundTripTest.randomBytes(DType.F32, rnd, 10));
        tensors.put("model.norm.weight", SafetensorsRoundTripTest.randomBytes(DType.F16, rnd, 4));
        tensors.put("lm_head.weight", SafetensorsRoundTripTest.randomBytes(DType.I64, rnd, 2));
    }

    @Test
    void planCutsShardsAtTheLimitInCallerOrder() {
        assertEquals(List.of(
                        List.of("model.embed_tokens.weight"),
                        List.of("model.layers.0.mlp.up_proj.weight"),
                        List.of("model.layers.1.mlp.up_proj.weight"),
                        List.of("model.norm.weight", "lm_head.weight")),
                ShardedSafetensorsWriter.plan(tensors, 40));
        assertEquals(List.of(
                        List.of("model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight"),
                        List.of("model.layers.1.mlp.up_proj.weight", "model.norm.weight", "lm_head.weight")),
                ShardedSafetensorsWriter.plan(tensors, 64));
        // A tensor larger than the limit gets a shard of its own.
        assertEquals(5, ShardedSafetensorsWriter.plan(tensors, 1).size());
        assertEquals(1, ShardedSafetensorsWriter.plan(tensors, 128).size());
        assertEquals(List.of(List.of()), ShardedSafetensorsWriter.plan(Map.of(), 10));
        assertThrows(IllegalArgumentException.class, () -> ShardedSafetensorsWriter.plan(tensors, 0));
    }

    @Test
    void shardNamesFollowHuggingFace() {
        assertEquals("model-00001-of-00003.safetensors", ShardedSafetensorsWriter.shardName(1, 3));
        assertEquals("model-00012-of-00123.safetensors", ShardedSafetensorsWriter.shardName(12, 123));
    }

    @Test
    void writesShardsAndIndexAndReadsThemBack() throws IOException {
        Path out = dir.resolve("out");
        List<String> written = ShardedSafetensorsWriter.write(out, tensors, Map.of("format", "pt"), 64);
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                SafetensorsIndex.FILE_NAME), written);
        assertEquals(written.stream().sorted().toList(), list(out));

        JsonNode index = new ObjectMapper().readTree(out.resolve(SafetensorsIndex.FILE_NAME).toFile());
        assertEquals(128, index.get("metadata").get("total_size").asLong());
        assertTrue(index.get("metadata").get("total_size").isIntegralNumber(), "total_size is a number");
        List<String> keys = index.get("weight_map").properties().stream().map(Map.Entry::getKey).toList();
        assertEquals(keys.stream().sorted().toList(), keys, "weight_map keys sorted");
        assertEquals("model-00002-of-00002.safetensors", index.get("weight_map").get("lm_head.weight").asText());
        assertEquals("model-00001-of-00002.safetensors",
                index.get("weight_map").get("model.layers.0.mlp.up_proj.weight").asText());

        for (Path open : List.of(out, out.resolve(SafetensorsIndex.FILE_NAME))) {
            try (TensorSource src = SafetensorsCheckpoint.open(open)) {
                ShardedSafetensors sharded = assertInstanceOf(ShardedSafetensors.class, src);
                assertEquals(tensors.keySet(), src.names(), "shard order, then data order");
                assertEquals("128", src.metadata().get("total_size"));
                assertEquals(out.resolve("model-00002-of-00002.safetensors").toAbsolutePath(),
                        sharded.shardOf("model.norm.weight").toAbsolutePath());
                for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                    assertArrayEquals(SafetensorsRoundTripTest.bytesOf(e.getValue()),
                            SafetensorsRoundTripTest.bytesOf(src.get(e.getKey())), e.getKey());
                    assertEquals(e.getValue().shape(), src.info(e.getKey()).shape());
                }
                for (SafetensorsFile shard : sharded.shards()) {
                    assertEquals(Map.of("format", "pt"), shard.metadata());
                }
                BadInputException e = assertThrows(BadInputException.class, () -> src.get("nope"));
                assertTrue(e.getMessage().contains("no tensor named \"nope\""), e.getMessage());
            }
        }
    }

    @Test
    void everythingInOneShardIsASingleModelFile() throws IOException {
        Path out = dir.resolve("single");
        assertEquals(List.of("model.safetensors"), ShardedSafetensorsWriter.write(out, tensors, Map.of(), 1 << 20));
        assertEquals(List.of("model.safetensors"), list(out));
        try (TensorSource src = SafetensorsCheckpoint.open(out)) {
            assertInstanceOf(SafetensorsFile.class, src);
            assertEquals(tensors.keySet().stream().sorted().toList(), src.names().stream().sorted().toList());
        }
    }

    @Test
    void oversizedTensorsEachGetAShard() throws IOException {
        Path out = dir.resolve("tiny-shards");
        List<String> written = ShardedSafetensorsWriter.write(out, tensors, Map.of(), 1);
        assertEquals(6, written.size());
        assertEquals("model-00005-of-00005.safetensors", written.get(4));
        try (TensorSource src = SafetensorsCheckpoint.open(out)) {
            assertEquals(tensors.keySet(), src.names());
        }
    }

    @Test
    void failedShardedWriteLeavesNothing() throws IOException {
        Path source = dir.resolve("src.safetensors");
        SafetensorsWriter.write(source, Map.of("w", Tensor.ofFloats(new float[] {1, 2}, 2)));
        Tensor dangling;
        try (SafetensorsFile sf = SafetensorsFile.open(source)) {
            dangling = sf.get("w");
        }
        Map<String, Tensor> broken = new LinkedHashMap<>(tensors);
        broken.put("dangling", dangling); // lands in the last shard
        Path out = dir.resolve("sub").resolve("out");
        assertThrows(IllegalStateException.class, () -> ShardedSafetensorsWriter.write(out, broken, Map.of(), 40));
        assertFalse(Files.exists(out));
        assertEquals(List.of(), list(out.getParent()), "no temporary directory left");

        // writeInto cleans up its own files too.
        Path into = Files.createDirectories(dir.resolve("into"));
        Files.writeString(into.resolve("config.json"), "{}");
        assertThrows(IllegalStateException.class, () -> ShardedSafetensorsWriter.writeInto(into, broken, Map.of(), 40));
        assertEquals(List.of("config.json"), list(into));
    }

    @Test
    void writingOverAnExistingDirectoryReplacesItWhole() throws IOException {
        Path out = dir.resolve("out");
        ShardedSafetensorsWriter.write(out, tensors, Map.of(), 16);
        assertEquals(6, list(out).size());
        ShardedSafetensorsWriter.write(out, tensors, Map.of(), 64);
        assertEquals(List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                SafetensorsIndex.FILE_NAME), list(out), "no stale shards");
        try (TensorSource src = SafetensorsCheckpoint.open(out)) {
            assertEquals(tensors.keySet(), src.names());
        }
    }

    @Test
    void writeIntoAddsToAnAtomicDirectoryAndRefusesToMixCheckpoints() throws IOException {
        Path out = dir.resolve("model");
        AtomicFiles.writeDirectory(out, tmp -> {
            Files.writeString(tmp.resolve("config.json"), "{}");
            ShardedSafetensorsWriter.writeInto(tmp, tensors, Map.of(), 64);
        });
        assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                SafetensorsIndex.FILE_NAME), list(out));
        BadInputException e = assertThrows(BadInputException.class,
                () -> ShardedSafetensorsWriter.writeInto(out, tensors, Map.of(), 1 << 20));
        assertTrue(e.getMessage().contains("already holds model-00001-of-00002.safetensors, model-00002-of-00002.safetensors, model.safetensors.index.json"), e.getMessage());
        assertEquals(4, list(out).size());
    }

    // ---- corrupt indexes -------------------------------------------------------------------

    /** A valid two-shard checkpoint to corrupt: a,b in shard 1 and c in shard 2. */
    private Path twoShards() throws IOException {
        Path d = Files.createDirectories(dir.resolve("ckpt"));
        SafetensorsWriter.write(d.resolve("s1.safetensors"), ordered("a", "b"));
        SafetensorsWriter.write(d.resolve("s2.safetensors"), ordered("c"));
        return d;
    }

    private static Map<String, Tensor> ordered(String... names) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < names.length; i++) {
            m.put(names[i], Tensor.ofFloats(new float[] {i, i + 0.5f}, 2));
        }
        return m;
    }

    private String rejectedIndex(Path d, String json, String... fragments) throws IOException {
        Path index = d.resolve(SafetensorsIndex.FILE_NAME);
        Files.writeString(index, json);
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsCheckpoint.open(d).close());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain <" + f + ">: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("\n"));
        return e.getMessage();
    }

    @Test
    void validHandWrittenIndexOpens() throws IOException {
        Path d = twoShards();
        Files.writeString(d.resolve(SafetensorsIndex.FILE_NAME),
                "{\"metadata\": {\"total_size\": 24, \"note\": \"x\"}, \"weight_map\": {\"c\": \"s2.safetensors\", "
                        + "\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}}");
        try (TensorSource src = SafetensorsCheckpoint.open(d)) {
            assertEquals(List.of("a", "b", "c"), List.copyOf(src.names()));
            assertEquals(Map.of("total_size", "24", "note", "x"), src.metadata());
            assertArrayEquals(new float[] {0, 0.5f}, src.get("c").toFloatArray());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{\"weight_map\": |not valid JSON|",
            "[1, 2]|must be a JSON object|got an array",
            "{\"metadata\": {}}|missing field \"weight_map\"|expected an object {tensor name: shard file}",
            "{\"weight_map\": [\"a\"]}|field \"weight_map\" must be an object|got an array",
            "{\"weight_map\": {}}|field \"weight_map\" is empty|",
            "{\"weight_map\": {\"a\": 1}}|weight_map entry for tensor \"a\" must be a shard file name|got a number 1",
            "{\"weight_map\": {\"a\": \"../s1.safetensors\"}}|tensor \"a\" is \"../s1.safetensors\"|without path separators",
            "{\"metadata\": 5, \"weight_map\": {\"a\": \"s1.safetensors\"}}|field \"metadata\" must be an object|",
            "{\"weight_map\": {\"a\": \"s1.safetensors\", \"a\": \"s2.safetensors\"}}|duplicate key \"a\"|expected each key once"})
    void malformedIndex(String json, String fragment1, String fragment2) throws IOException {
        Path d = twoShards();
        String msg = fragment2 == null ? rejectedIndex(d, json, fragment1) : rejectedIndex(d, json, fragment1, fragment2);
        assertTrue(msg.startsWith(d.resolve(SafetensorsIndex.FILE_NAME) + ": "), msg);
    }

    @Test
    void missingShardFile() throws IOException {
        Path d = twoShards();
        rejectedIndex(d, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", \"c\": \"s3.safetensors\"}}",
                "shard \"s3.safetensors\"", "tensor \"c\"", "does not exist in");
    }

    @Test
    void corruptShardIsNamed() throws IOException {
        Path d = twoShards();
        Files.write(d.resolve("s2.safetensors"), new byte[] {1, 2, 3});
        String msg = rejectedIndex(d, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", \"c\": \"s2.safetensors\"}}",
                "s2.safetensors: not a safetensors file");
        assertTrue(msg.startsWith(d.resolve("s2.safetensors").toString()), msg);
    }

    @Test
    void mappedTensorMissingFromItsShard() throws IOException {
        Path d = twoShards();
        rejectedIndex(d, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", \"c\": \"s1.safetensors\"}}",
                "weight_map puts tensor \"c\" in \"s1.safetensors\", but that shard has no such tensor");
    }

    @Test
    void tensorPresentInTwoShards() throws IOException {
        Path d = twoShards();
        SafetensorsWriter.write(d.resolve("s2.safetensors"), ordered("c", "a"));
        rejectedIndex(d, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\", \"c\": \"s2.safetensors\"}}",
                "tensor \"a\" is stored in both \"s1.safetensors\" and \"s2.safetensors\"", "expected exactly one shard");
    }

    @Test
    void shardTensorMissingFromTheMap() throws IOException {
        Path d = twoShards();
        String msg = rejectedIndex(d, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"c\": \"s2.safetensors\"}}",
                "tensor \"b\" is not listed in the weight_map of", "expected every shard tensor to be listed");
        assertTrue(msg.startsWith(d.resolve("s1.safetensors").toString()), msg);
    }

    private static List<String> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
