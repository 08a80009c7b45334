package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** Floats with every awkward bit pattern: NaN payloads, signed zeros, subnormals, infinities. */
    private static float[] awkwardFloats(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = switch (r.nextInt(8)) {
                case 0 -> Float.intBitsToFloat(0x7fc00000 | r.nextInt(0x3fffff));  // quiet NaN with a payload
                case 1 -> -0.0f;
                case 2 -> Float.MIN_VALUE * (1 + r.nextInt(1000));
                case 3 -> r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                default -> Float.intBitsToFloat(r.nextInt());
            };
        }
        return f;
    }

    static Checkpoint sample(long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> trainable = new LinkedHashMap<>();
        trainable.put("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", Tensor.ofFloats(awkwardFloats(r, 32), 4, 8));
        trainable.put("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", Tensor.ofFloats(awkwardFloats(r, 24), 6, 4));
        trainable.put("scalar_like", Tensor.ofFloats(awkwardFloats(r, 1), 1));
        Map<String, float[]> buffers = new LinkedHashMap<>();
        trainable.forEach((name, t) -> {
            buffers.put(name + ".exp_avg", awkwardFloats(r, (int) t.size()));
            buffers.put(name + ".exp_avg_sq", awkwardFloats(r, (int) t.size()));
        });
        Map<String, long[]> rngs = new LinkedHashMap<>();
        rngs.put("dropout", TrainRng.seeded(seed).state());
        rngs.put("other", new long[] {-1L, Long.MIN_VALUE, 0, 1});
        return new Checkpoint(TrainConfigTest.custom().toBuilder().seed(seed).build(), 1000 + r.nextInt(1000),
                new Batcher.Position(r.nextInt(5), r.nextInt(100)), trainable,
                new OptimizerState("adamw", 77, buffers), rngs);
    }

    static void assertBitExact(Checkpoint want, Checkpoint got) {
        assertEquals(want.config(), got.config());
        assertEquals(want.globalStep(), got.globalStep());
        assertEquals(want.position(), got.position());
        assertEquals(List.copyOf(want.trainable().keySet()), List.copyOf(got.trainable().keySet()));
        want.trainable().forEach((name, t) -> {
            Tensor g = got.trainable().get(name);
            assertEquals(t.shape(), g.shape(), name);
            assertEquals(DType.F32, g.dtype());
            for (int i = 0; i < t.size(); i++) {
                assertEquals(Float.floatToRawIntBits(t.getFloat(i)), Float.floatToRawIntBits(g.getFloat(i)), name + "[" + i + "]");
            }
        });
        assertEquals(want.optimizer(), got.optimizer());  // OptimizerState compares raw bits
        assertEquals(want.rngStates().keySet(), got.rngStates().keySet());
        want.rngStates().forEach((name, s) -> assertArrayEquals(s, got.rngStates().get(name), name));
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void saveLoadRoundTripIsBitExact(long seed) throws IOException {
        Checkpoint c = sample(seed);
        Path ckpt = dir.resolve("checkpoint-" + seed);
        c.save(ckpt);
        try (Stream<Path> files = Files.list(ckpt)) {
            assertEquals(List.of("optimizer.safetensors", "train_config.json", "trainable.safetensors", "trainer_state.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Checkpoint back = Checkpoint.load(ckpt);
        assertBitExact(c, back);
        assertEquals(Float.floatToRawIntBits(c.trainable().values().iterator().next().getFloat(0)),
                Float.floatToRawIntBits(back.trainable().values().iterator().next().floatArray()[0]));  // heap copies
        TrainRng rng = back.rng(ckpt, "dropout");
        TrainRng original = TrainRng.seeded(seed);
        assertEquals(original.nextLong(), rng.nextLong());
    }

    @Test
    void savingAgainReplacesTheCheckpointAndExtraFilesAreIncluded() throws IOException {
        Path ckpt = dir.resolve("checkpoint");
        sample(1).save(ckpt);
        Checkpoint second = sample(2);
        second.save(ckpt, d -> Files.writeString(d.resolve("adapter_config.json"), "{}"));
        assertBitExact(second, Checkpoint.load(ckpt));
        assertEquals("{}", Files.readString(ckpt.resolve("adapter_config.json")));
        try (Stream<Path> siblings = Files.list(dir)) {
            assertEquals(List.of("checkpoint"), siblings.map(p -> p.getFileName().toString()).toList());  // no temp dirs left
        }
    }

    @Test
    void sgdStateWithoutBuffersRoundTrips() throws IOException {
        Checkpoint c = new Checkpoint(TrainConfig.builder().optimizer("sgd").build(), 3, Batcher.Position.START,
                Map.of("w", Tensor.ofFloats(new float[] {1, 2}, 2)), new OptimizerState("sgd", 3, Map.of()), Map.of());
        c.save(dir.resolve("c"));
        Checkpoint back = Checkpoint.load(dir.resolve("c"));
        assertBitExact(c, back);
        Sgd sgd = new Sgd(List.of(NamedParameter.of("w", new float[2], new float[2])), 0);
        back.restoreOptimizer(dir.resolve("c"), sgd);
        assertEquals(3, sgd.stepCount());
    }

    @Test
    void missingDirectoryAndFilesAreNamed() throws IOException {
        assertLoadError(dir.resolve("nope"), "nope: no such checkpoint directory");
        for (String file : List.of(Checkpoint.STATE_FILE, Checkpoint.CONFIG_FILE, Checkpoint.TRAINABLE_FILE,
                Checkpoint.OPTIMIZER_FILE)) {
            Path ckpt = dir.resolve("c-" + file);
            sample(1).save(ckpt);
            Files.delete(ckpt.resolve(file));
            assertLoadError(ckpt, file + ": no such file (an incomplete checkpoint");
        }
    }

    @Test
    void badStateFieldsAreNamed() throws IOException {
        assertStateError(o -> o.put("format", "something"), "field \"format\" must be \"lorakit-train-checkpoint\"");
        assertStateError(o -> o.put("format_version", 2), "format_version 2 is not supported (this lorakit reads version 1;"
                + " it was written by a newer lorakit)");
        assertStateError(o -> o.put("format_version", 0), "format_version 0 is not supported");
        assertStateError(o -> o.remove("global_step"), "field \"global_step\" must be an integer >= 0, got null");
        assertStateError(o -> o.put("epoch_example", -1), "field \"epoch_example\" must be an integer >= 0, got -1");
        assertStateError(o -> o.put("optimizer", 1), "field \"optimizer\" must be a string, got 1");
        assertStateError(o -> o.putObject("rng").putArray("dropout").add("00"),
                "field \"rng.dropout\" must be an array of 4 hex strings");
        assertStateError(o -> o.putObject("rng").putArray("dropout").add("xyz0000000000000").add("0000000000000001")
                .add("0000000000000001").add("0000000000000001"), "field \"rng.dropout\"[0] must be 16 lowercase hex digits");
        assertStateError(o -> o.putObject("rng").putArray("dropout").add("0000000000000000").add("0000000000000000")
                .add("0000000000000000").add("0000000000000000"), "field \"rng.dropout\" is all zeros");
        Path ckpt = dir.resolve("garbage");
        sample(1).save(ckpt);
        Files.writeString(ckpt.resolve(Checkpoint.STATE_FILE), "{\"format\": ");
        assertLoadError(ckpt, Checkpoint.STATE_FILE + ": not valid JSON");
    }

    @Test
    void badConfigAndTensorsAreNamed() throws IOException {
        Path ckpt = dir.resolve("cfg");
        sample(1).save(ckpt);
        ObjectNode cfg = TrainConfigTest.custom().toJson();
        cfg.remove("seq_len");
        Files.writeString(ckpt.resolve(Checkpoint.CONFIG_FILE), JSON.writeValueAsString(cfg));
        assertLoadError(ckpt, Checkpoint.CONFIG_FILE + ": training option \"seq_len\" is missing");

        Path bf16 = dir.resolve("bf16");
        sample(1).save(bf16);
        SafetensorsWriter.write(bf16.resolve(Checkpoint.TRAINABLE_FILE), Map.of("w", Tensor.zeros(DType.BF16, 2)));
        assertLoadError(bf16, Checkpoint.TRAINABLE_FILE + ": tensor \"w\" is BF16; a checkpoint holds F32 tensors only");

        Path twoD = dir.resolve("twod");
        sample(1).save(twoD);
        SafetensorsWriter.write(twoD.resolve(Checkpoint.OPTIMIZER_FILE), Map.of("w.exp_avg", Tensor.zeros(DType.F32, 2, 2)));
        assertLoadError(twoD, Checkpoint.OPTIMIZER_FILE + ": tensor \"w.exp_avg\" has shape [2, 2]; optimizer buffers are 1-D");

        Path truncated = dir.resolve("trunc");
        sample(1).save(truncated);
        byte[] bytes = Files.readAllBytes(truncated.resolve(Checkpoint.TRAINABLE_FILE));
        Files.write(truncated.resolve(Checkpoint.TRAINABLE_FILE), java.util.Arrays.copyOf(bytes, bytes.length - 5));
        assertLoadError(truncated, Checkpoint.TRAINABLE_FILE + ":");
    }

    @Test
    void trainableTensorsAreCheckedAgainstTheRun() throws IOException {
        Checkpoint c = sample(1);
        Path ckpt = dir.resolve("c");
        c.save(ckpt);
        Map<String, Shape> expected = new LinkedHashMap<>();
        c.trainable().forEach((name, t) -> expected.put(name, t.shape()));
        c.requireTrainable(ckpt, expected);  // fits

        Map<String, Shape> otherRank = new LinkedHashMap<>(expected);
        otherRank.put("scalar_like", Shape.of(2));
        BadInputException e = assertThrows(BadInputException.class, () -> c.requireTrainable(ckpt, otherRank));
        assertEquals(ckpt.resolve(Checkpoint.TRAINABLE_FILE) + ": tensor \"scalar_like\" has shape [1], expected [2] "
                + "(the checkpoint was made with another rank or model)", e.getMessage());

        Map<String, Shape> more = new LinkedHashMap<>(expected);
        more.put("extra.lora_A.weight", Shape.of(1));
        e = assertThrows(BadInputException.class, () -> c.requireTrainable(ckpt, more));
        assertTrue(e.getMessage().contains("no tensor \"extra.lora_A.weight\""), e.getMessage());

        Map<String, Shape> fewer = new LinkedHashMap<>(expected);
        fewer.remove("scalar_like");
        e = assertThrows(BadInputException.class, () -> c.requireTrainable(ckpt, fewer));
        assertTrue(e.getMessage().contains("tensor \"scalar_like\" is not trainable in this run"), e.getMessage());

        AdamW wrongSizes = new AdamW(List.of(NamedParameter.of("scalar_like", new float[2], new float[2])), 0.9, 0.999, 1e-8, 0);
        e = assertThrows(BadInputException.class, () -> c.restoreOptimizer(ckpt, wrongSizes));
        assertTrue(e.getMessage().startsWith(ckpt.resolve(Checkpoint.OPTIMIZER_FILE) + ": optimizer state: "), e.getMessage());

        e = assertThrows(BadInputException.class, () -> c.rng(ckpt, "shuffle"));
        assertTrue(e.getMessage().contains("no RNG state \"shuffle\" (has [dropout, other])"), e.getMessage());
    }

    private void assertStateError(Consumer<ObjectNode> change, String expected) throws IOException {
        Path ckpt = dir.resolve("state-" + Integer.toHexString(expected.hashCode()));
        sample(1).save(ckpt);
        ObjectNode state = (ObjectNode) JSON.readTree(ckpt.resolve(Checkpoint.STATE_FILE).toFile());
        change.accept(state);
        Files.writeString(ckpt.resolve(Checkpoint.STATE_FILE), JSON.writeValueAsString(state));
        assertLoadError(ckpt, Checkpoint.STATE_FILE + ": " + expected);
    }

    private void assertLoadError(Path ckpt, String expected) {
        BadInputException e = assertThrows(BadInputException.class, () -> Checkpoint.load(ckpt));
        String msg = e.getMessage().replace(ckpt + "/", "").replace(dir + "/", "");
        assertTrue(msg.startsWith(expected), "got: " + msg + "\nwanted: " + expected);
        assertTrue(!msg.contains("\n"), msg);
    }
}
