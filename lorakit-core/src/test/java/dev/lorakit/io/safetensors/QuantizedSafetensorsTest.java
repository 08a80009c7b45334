package dev.lorakit.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import dev.lorakit.tensor.quant.BlockQuantizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Block-quantized tensors in safetensors ({@link QuantizedStorage}): stored as U8 [.., in/32 *
 * blockBytes] with "lorakit.quant.NAME" = "TYPE:[dims]" metadata, read back with their type and
 * logical shape and identical bytes, rewritten to an identical file; inconsistent metadata is a
 * one-line {@link BadInputException} naming the file and tensor.
 */
class QuantizedSafetensorsTest {
    @TempDir
    Path dir;

    static Tensor quantized(Random rnd, DType dt, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return BlockQuantizer.quantize(Tensor.ofFloats(v, rows, cols), dt);
    }

    static byte[] bytes(Tensor t) {
        return t.segment().toArray(ValueLayout.JAVA_BYTE);
    }

    static JsonNode header(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return SafetensorsHeader.JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
    }

    Map<String, Tensor> mixed() {
        Random rnd = new Random(21);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("model.layers.0.self_attn.q_proj.weight", quantized(rnd, DType.Q4_0, 5, 64));
        tensors.put("norm", Tensor.ofFloats(new float[] {1, 2, 3}, 3));
        tensors.put("model.layers.0.mlp.down_proj.weight", quantized(rnd, DType.Q8_0, 3, 96));
        tensors.put("half", Tensor.zeros(DType.BF16, 2, 2));
        return tensors;
    }

    @Test
    void roundTripKeepsTypeShapeAndBytes() throws IOException {
        Map<String, Tensor> tensors = mixed();
        Path f = dir.resolve("q.safetensors");
        SafetensorsWriter.write(f, tensors, Map.of("format", "pt"));
        JsonNode h = header(f);
        JsonNode q = h.get("model.layers.0.self_attn.q_proj.weight");
        assertEquals("U8", q.get("dtype").textValue());
        assertEquals("[5,36]", q.get("shape").toString(), "64/32 blocks of 18 bytes per row");
        assertEquals("[3,102]", h.get("model.layers.0.mlp.down_proj.weight").get("shape").toString());
        JsonNode meta = h.get("__metadata__");
        assertEquals("Q4_0:[5,64]", meta.get("lorakit.quant.model.layers.0.self_attn.q_proj.weight").textValue());
        assertEquals("Q8_0:[3,96]", meta.get("lorakit.quant.model.layers.0.mlp.down_proj.weight").textValue());
        assertEquals("pt", meta.get("format").textValue());
        Map<String, Tensor> back = new LinkedHashMap<>();
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = sf.get(e.getKey());
                TensorInfo info = sf.info(e.getKey());
                assertEquals(e.getValue().dtype(), t.dtype(), e.getKey());
                assertEquals(e.getValue().dtype(), info.dtype(), e.getKey());
                assertEquals(e.getValue().shape(), t.shape(), e.getKey());
                assertEquals(e.getValue().byteSize(), info.byteSize(), e.getKey());
                assertArrayEquals(bytes(e.getValue()), bytes(t), e.getKey());
                back.put(e.getKey(), t);
            }
            assertArrayEquals(tensors.get("model.layers.0.self_attn.q_proj.weight").toFloatArray(),
                    sf.get("model.layers.0.self_attn.q_proj.weight").toFloatArray());
            Path again = dir.resolve("again.safetensors");
            SafetensorsWriter.write(again, back, sf.metadata());
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(again), "rewriting what was read gives the same file");
        }
    }

    @Test
    void writerDropsStaleQuantKeysAndOtherReadersSeeBytes() throws IOException {
        Path f = dir.resolve("plain.safetensors");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("lorakit.quant.gone", "Q4_0:[1,32]");
        meta.put("lorakit.quant.norm", "Q8_0:[1,32]");
        meta.put("keep", "yes");
        SafetensorsWriter.write(f, Map.of("norm", Tensor.ofFloats(new float[32], 32)), meta);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(Map.of("keep", "yes"), sf.metadata());
            assertEquals(DType.F32, sf.get("norm").dtype());
        }
    }

    @Test
    void shardedCheckpointCarriesEachKeyInItsShard() throws IOException {
        Map<String, Tensor> tensors = mixed();
        Path ckpt = dir.resolve("sharded");
        ShardedSafetensorsWriter.write(ckpt, tensors, Map.of("format", "pt"), 200);
        try (TensorSource src = SafetensorsCheckpoint.open(ckpt)) {
            assertTrue(src instanceof ShardedSafetensors, "split into shards");
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = src.get(e.getKey());
                assertEquals(e.getValue().dtype(), t.dtype());
                assertEquals(e.getValue().shape(), t.shape());
                assertArrayEquals(bytes(e.getValue()), bytes(t));
            }
        }
    }

    /** A safetensors file from a raw header (padded) and a zero data buffer of dataBytes. */
    Path raw(String name, String headerJson, int dataBytes) throws IOException {
        byte[] json = headerJson.getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
        out.write(json);
        for (int i = json.length; i < padded; i++) {
            out.write(' ');
        }
        out.write(new byte[dataBytes]);
        Path f = dir.resolve(name);
        Files.write(f, out.toByteArray());
        return f;
    }

    String rejected(String name, String quantValue, String dtype, String shape, int bytes) throws IOException {
        Path f = raw(name + ".safetensors", "{\"__metadata__\":{\"lorakit.quant.w\":\"" + quantValue + "\"},"
                + "\"w\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[0," + bytes + "]}}", bytes);
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(f).close());
        assertTrue(e.getMessage().startsWith(f.toString() + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
        return e.getMessage();
    }

    @Test
    void inconsistentMetadataIsRejected() throws IOException {
        assertTrue(rejected("unknown", "Q5_K:[2,32]", "U8", "[2,18]", 36).contains("unknown quantized type \"Q5_K\""));
        assertTrue(rejected("malformed", "Q4_0", "U8", "[2,18]", 36).contains("expected \"Q8_0:[out,in]\""));
        assertTrue(rejected("notU8", "Q4_0:[2,32]", "I8", "[2,18]", 36).contains("is I8 [2, 18], expected U8 [2, 18]"));
        assertTrue(rejected("shape", "Q4_0:[2,32]", "U8", "[2,34]", 68).contains("expected U8 [2, 18]"));
        assertTrue(rejected("partial", "Q4_0:[2,40]", "U8", "[2,18]", 36).contains("multiple of 32"));
        Path f = raw("missing.safetensors", "{\"__metadata__\":{\"lorakit.quant.x\":\"Q8_0:[1,32]\"},"
                + "\"w\":{\"dtype\":\"U8\",\"shape\":[34],\"data_offsets\":[0,34]}}", 34);
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(f).close());
        assertTrue(e.getMessage().contains("names tensor \"x\", which the file does not have"), e.getMessage());
        // a consistent hand-made file opens as Q8_0 [1, 32]
        Path ok = raw("ok.safetensors", "{\"__metadata__\":{\"lorakit.quant.w\":\"Q8_0:[1,32]\"},"
                + "\"w\":{\"dtype\":\"U8\",\"shape\":[1,34],\"data_offsets\":[0,34]}}", 34);
        try (SafetensorsFile sf = SafetensorsFile.open(ok)) {
            assertEquals(DType.Q8_0, sf.get("w").dtype());
            assertEquals(Shape.of(1, 32), sf.get("w").shape());
        }
        // the block types have no safetensors dtype of their own
        Path direct = raw("direct.safetensors", "{\"w\":{\"dtype\":\"Q4_0\",\"shape\":[1,32],\"data_offsets\":[0,18]}}", 18);
        BadInputException d = assertThrows(BadInputException.class, () -> SafetensorsFile.open(direct).close());
        assertTrue(d.getMessage().contains("unknown dtype \"Q4_0\""), d.getMessage());
        assertFalse(d.getMessage().contains("Q8_0"), "not listed among the expected dtypes: " + d.getMessage());
    }
}
