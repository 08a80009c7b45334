package dev.lorakit.io.safetensors;

import static dev.lorakit.io.safetensors.RawSafetensors.concat;
import static dev.lorakit.io.safetensors.RawSafetensors.f32;
import static dev.lorakit.io.safetensors.RawSafetensors.file;
import static dev.lorakit.io.safetensors.RawSafetensors.i64;
import static dev.lorakit.io.safetensors.RawSafetensors.padded;
import static dev.lorakit.io.safetensors.RawSafetensors.u16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files assembled byte by byte the way the reference Python/Rust {@code safetensors} library
 * writes them: tensors sorted by descending dtype (in its enum order: I64 > F32 > BF16) then by
 * name, compact JSON with {@code __metadata__} first and dtype/shape/data_offsets in that order,
 * header padded with spaces to a multiple of 8.
 */
class SafetensorsInteropTest {
    /** {"a": F32 [2,2], "b": I64 [3], "c": BF16 [2]}, metadata {"format": "pt"}. */
    static final String REFERENCE_HEADER = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]},"
            + "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[40,44]}}";

    static final byte[] REFERENCE_DATA = concat(
            i64(-1L, 0L, 1L << 40),
            f32(1.0f, -2.0f, 0.5f, 3.25f),
            u16(0x3F80, 0xC0A0)); // bf16 1.0, -5.0

    @TempDir
    Path dir;

    @Test
    void readsTheReferenceLayout() throws IOException {
        assertEquals(199, REFERENCE_HEADER.length());
        assertEquals(200, padded(REFERENCE_HEADER).length(), "header padded with 1 space to a multiple of 8");
        Path f = dir.resolve("ref.safetensors");
        Files.write(f, file(padded(REFERENCE_HEADER), REFERENCE_DATA));
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.of("b", "a", "c"), List.copyOf(sf.names()), "data order");
            assertEquals(Map.of("format", "pt"), sf.metadata());
            Tensor a = sf.get("a");
            assertEquals(DType.F32, a.dtype());
            assertEquals(Shape.of(2, 2), a.shape());
            assertEquals(1.0f, a.get(0, 0));
            assertEquals(-2.0f, a.get(0, 1));
            assertEquals(0.5f, a.get(1, 0));
            assertEquals(3.25f, a.get(1, 1));
            Tensor b = sf.get("b");
            assertEquals(DType.I64, b.dtype());
            ValueLayout.OfLong le = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            assertEquals(-1L, b.segment().get(le, 0));
            assertEquals(0L, b.segment().get(le, 8));
            assertEquals(1L << 40, b.segment().get(le, 16));
            Tensor c = sf.get("c");
            assertEquals(DType.BF16, c.dtype());
            assertArrayEquals(new float[] {1.0f, -5.0f}, c.toFloatArray());
        }
    }

    @Test
    void ourWriterProducesTheSameBytesAsTheReference() throws IOException {
        Path ours = dir.resolve("ours.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        // Any caller order with one tensor per dtype size gives the reference layout.
        tensors.put("c", Tensor.zeros(DType.BF16, 2));
        tensors.put("a", Tensor.ofFloats(new float[] {1.0f, -2.0f, 0.5f, 3.25f}, 2, 2));
        tensors.put("b", Tensor.zeros(DType.I64, 3));
        tensors.get("c").setFloat(0, 1.0f);
        tensors.get("c").setFloat(1, -5.0f);
        ValueLayout.OfLong le = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        tensors.get("b").segment().set(le, 0, -1L);
        tensors.get("b").segment().set(le, 16, 1L << 40);
        SafetensorsWriter.write(ours, tensors, Map.of("format", "pt"));
        assertArrayEquals(file(padded(REFERENCE_HEADER), REFERENCE_DATA), Files.readAllBytes(ours));
    }

    @Test
    void singleTensorFileMatchesTheReferenceByteForByte() throws IOException {
        // The reference writer's own example: "attn0" F32 [1,1,2,3] holding 0..5; a 65-byte
        // header padded with 7 spaces to 72.
        String header = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}";
        assertEquals(65, header.length());
        byte[] expected = file(header + " ".repeat(7), f32(0, 1, 2, 3, 4, 5));
        assertEquals(72, expected[0]);
        Path ours = dir.resolve("attn.safetensors");
        SafetensorsWriter.write(ours, Map.of("attn0", Tensor.ofFloats(new float[] {0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)));
        assertArrayEquals(expected, Files.readAllBytes(ours));
    }

    @Test
    void acceptsAnyKeyOrderWhitespaceAndUnknownEntryKeys() throws IOException {
        String header = "{\n  \"c\": {\"data_offsets\": [40, 44], \"shape\": [2], \"dtype\": \"BF16\"},\n"
                + "  \"a\": {\"shape\": [2, 2], \"extra\": {\"ignored\": true}, \"dtype\": \"F32\", \"data_offsets\": [24, 40]},\n"
                + "  \"__metadata__\": {\"format\": \"pt\"},\n"
                + "  \"b\": {\"dtype\": \"I64\", \"data_offsets\": [0, 24], \"shape\": [3]}\n}\n";
        Path f = dir.resolve("any-order.safetensors");
        Files.write(f, file(header, REFERENCE_DATA)); // unpadded: the reader does not require padding
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.of("b", "a", "c"), List.copyOf(sf.names()));
            assertArrayEquals(new float[] {1.0f, -2.0f, 0.5f, 3.25f}, sf.get("a").toFloatArray());
            assertArrayEquals(new float[] {1.0f, -5.0f}, sf.get("c").toFloatArray());
            assertEquals(Map.of("format", "pt"), sf.metadata());
        }
    }

    @Test
    void emptyReferenceFileIsSixteenBytes() throws IOException {
        byte[] reference = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
        Path f = dir.resolve("empty.safetensors");
        Files.write(f, reference);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(0, sf.names().size());
        }
    }
}
