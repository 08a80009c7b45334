package dev.lorakit.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** SafetensorsWriter -> SafetensorsFile round trips, header layout and atomicity. */
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** A heap tensor of the dtype filled with random bytes (every bit pattern allowed, NaNs included). */
    static Tensor randomBytes(DType dtype, Random rnd, int... dims) {
        Tensor t = Tensor.zeros(dtype, dims);
        byte[] bytes = new byte[(int) t.byteSize()];
        rnd.nextBytes(bytes);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, t.segment(), 0, bytes.length);
        return t;
    }

    static byte[] bytesOf(Tensor t) {
        return t.segment().toArray(ValueLayout.JAVA_BYTE);
    }

    @ParameterizedTest
    // block types: QuantizedSafetensorsTest; the row-interleaved ones are never stored (RowGroupsTest)
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q8_0_R32", "Q4_0_R32"}, mode = EnumSource.Mode.EXCLUDE)
    void everyDtypeRoundTripsBitExactly(DType dtype) throws IOException {
        Random rnd = new Random(1000 + dtype.ordinal());
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("matrix", randomBytes(dtype, rnd, 3, 5));
        tensors.put("vector", randomBytes(dtype, rnd, 7));
        tensors.put("scalar", randomBytes(dtype, rnd));
        tensors.put("cube", randomBytes(dtype, rnd, 2, 3, 4));
        Path f = dir.resolve(dtype + ".safetensors");
        SafetensorsWriter.write(f, tensors);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.copyOf(tensors.keySet()), List.copyOf(sf.names()), "same dtype keeps caller order");
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor back = sf.get(e.getKey());
                assertEquals(dtype, back.dtype());
                assertEquals(e.getValue().shape(), back.shape());
                assertArrayEquals(bytesOf(e.getValue()), bytesOf(back), e.getKey());
            }
        }
    }

    @Test
    void mixedDtypesAreStoredAlignedAndReadBack() throws IOException {
        Random rnd = new Random(7);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (DType d : DType.values()) {
            if (d.isQuantized()) {
                continue; // no per-element size; see QuantizedSafetensorsTest
            }
            tensors.put("t_" + d, randomBytes(d, rnd, 3));
        }
        Path f = dir.resolve("mixed.safetensors");
        SafetensorsWriter.write(f, tensors);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(tensors.keySet(), sf.names());
            long headerEnd = 8 + headerLength(f);
            int previousSize = Integer.MAX_VALUE;
            for (TensorInfo info : sf.infos()) {
                int size = info.dtype().byteSize();
                assertTrue(size <= previousSize, "descending element size");
                assertEquals(0, (headerEnd + info.begin()) % size, info.name() + " aligned in the file");
                previousSize = size;
                assertArrayEquals(bytesOf(tensors.get(info.name())), bytesOf(sf.get(info.name())), info.name());
            }
        }
    }

    @Test
    void floatValuesSurviveInEveryComputeDtype() throws IOException {
        float[] values = {0f, -0f, 1f, -2.5f, 65504f, Float.MIN_NORMAL, 3.140625f, Float.POSITIVE_INFINITY};
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F64)) {
            Tensor t = Tensor.zeros(d, values.length);
            for (int i = 0; i < values.length; i++) {
                t.setFloat(i, values[i]);
            }
            tensors.put(d.name(), t);
        }
        Path f = dir.resolve("floats.safetensors");
        SafetensorsWriter.write(f, tensors);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                assertArrayEquals(e.getValue().toFloatArray(), sf.get(e.getKey()).toFloatArray(), e.getKey());
            }
            assertEquals(3.140625f, sf.get("BF16").getFloat(6));
            assertEquals(65504f, sf.get("F16").getFloat(4));
        }
    }

    @Test
    void metadataRoundTrips() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "unicode é 😀 \"quoted\" \\ back");
        meta.put("empty", "");
        Path f = dir.resolve("meta.safetensors");
        SafetensorsWriter.write(f, Map.of("w", Tensor.ofFloats(new float[] {1, 2}, 2)), meta);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(meta, sf.metadata());
        }
    }

    @Test
    void zeroElementTensorsRoundTrip() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("before", Tensor.ofFloats(new float[] {1, 2, 3}, 3));
        tensors.put("rows0", Tensor.zeros(DType.F32, 0, 4));
        tensors.put("cols0", Tensor.zeros(DType.BF16, 3, 0));
        tensors.put("after", Tensor.ofFloats(new float[] {4, 5}, 2));
        tensors.put("last0", Tensor.zeros(DType.F32, 0));
        Path f = dir.resolve("zero.safetensors");
        SafetensorsWriter.write(f, tensors);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(Shape.of(0, 4), sf.get("rows0").shape());
            assertEquals(Shape.of(3, 0), sf.get("cols0").shape());
            assertEquals(0, sf.get("cols0").byteSize());
            assertArrayEquals(new float[] {1, 2, 3}, sf.get("before").toFloatArray());
            assertArrayEquals(new float[] {4, 5}, sf.get("after").toFloatArray());
            assertEquals(20, sf.dataSize());
            assertEquals(5, sf.names().size());
        }
    }

    @Test
    void fileWithoutTensorsIsTheMinimalHeader() throws IOException {
        Path f = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(f, Map.of());
        byte[] expected = RawSafetensors.file(RawSafetensors.padded("{}"), new byte[0]);
        assertArrayEquals(expected, Files.readAllBytes(f));
        assertEquals(16, expected.length);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertTrue(sf.names().isEmpty());
            assertTrue(sf.metadata().isEmpty());
            assertEquals(0, sf.dataSize());
        }
        SafetensorsWriter.write(f, Map.of(), Map.of("format", "pt"));
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(Map.of("format", "pt"), sf.metadata());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 21})
    void headerLengthIsAMultipleOfEightPaddedWithSpaces(int nameLength) throws IOException {
        Path f = dir.resolve("pad.safetensors");
        SafetensorsWriter.write(f, Map.of("x".repeat(nameLength), Tensor.ofFloats(new float[] {1}, 1)));
        byte[] bytes = Files.readAllBytes(f);
        long n = headerLength(f);
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        String json = header.stripTrailing();
        assertTrue(json.endsWith("}"));
        assertTrue(n - json.length() < 8, "at most 7 padding bytes");
        assertEquals(" ".repeat((int) n - json.length()), header.substring(json.length()), "padding is spaces");
        assertEquals("{\"" + "x".repeat(nameLength) + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", json);
        assertEquals(8 + n + 4, bytes.length);
    }

    @Test
    void throwingBodyLeavesNoTargetAndNoTempFile() throws IOException {
        Path source = dir.resolve("source.safetensors");
        SafetensorsWriter.write(source, Map.of("w", Tensor.ofFloats(new float[] {1, 2, 3}, 3)));
        Tensor dangling;
        try (SafetensorsFile sf = SafetensorsFile.open(source)) {
            dangling = sf.get("w");
        }
        Path out = dir.resolve("out").resolve("target.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("ok", Tensor.ofFloats(new float[] {1}, 1));
        tensors.put("closed", dangling); // reading its data fails after the header is written
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(out, tensors));
        assertFalse(Files.exists(out));
        assertEquals(List.of(), listDir(out.getParent()));

        assertThrows(IOException.class, () -> AtomicFiles.writeFile(out, stream -> {
            stream.write(new byte[1000]);
            throw new IOException("disk full");
        }));
        assertEquals(List.of(), listDir(out.getParent()));
    }

    @Test
    void failedWriteOverAnExistingFileKeepsTheOldOne() throws IOException {
        Path f = dir.resolve("keep.safetensors");
        SafetensorsWriter.write(f, Map.of("w", Tensor.ofFloats(new float[] {1, 2}, 2)));
        byte[] before = Files.readAllBytes(f);
        Tensor dangling;
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            dangling = sf.get("w");
        }
        assertThrows(IllegalStateException.class, () -> SafetensorsWriter.write(f, Map.of("w", dangling)));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(List.of("keep.safetensors"), listDir(dir));
    }

    @Test
    void writingOverAnExistingFileReplacesItWhole() throws IOException {
        Path f = dir.resolve("model.safetensors");
        Random rnd = new Random(3);
        SafetensorsWriter.write(f, Map.of("big", randomBytes(DType.F32, rnd, 1000), "other", randomBytes(DType.I8, rnd, 5)));
        long bigSize = Files.size(f);
        Tensor small = Tensor.ofFloats(new float[] {9, 8}, 2);
        // The new file is written while the old one is still mapped and being read.
        try (SafetensorsFile old = SafetensorsFile.open(f)) {
            SafetensorsWriter.write(f, Map.of("small", small));
            assertEquals(1000, old.get("big").size(), "an open reader keeps its mapping");
        }
        assertTrue(Files.size(f) < bigSize);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(List.of("small"), List.copyOf(sf.names()));
            assertArrayEquals(new float[] {9, 8}, sf.get("small").toFloatArray());
        }
        assertEquals(List.of("model.safetensors"), listDir(dir));
    }

    @Test
    void writerRefusesAMetadataTensorName() {
        Path f = dir.resolve("x.safetensors");
        assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(f, Map.of("__metadata__", Tensor.ofFloats(new float[] {1}, 1))));
        assertFalse(Files.exists(f));
    }

    @Test
    void slicedViewsAreWrittenAsTheirOwnData() throws IOException {
        Tensor full = Tensor.ofFloats(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 4, 2);
        Path f = dir.resolve("views.safetensors");
        SafetensorsWriter.write(f, Map.of("rows", full.slice(1, 3), "row", full.row(3)));
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertArrayEquals(new float[] {2, 3, 4, 5}, sf.get("rows").toFloatArray());
            assertEquals(Shape.of(2, 2), sf.get("rows").shape());
            assertArrayEquals(new float[] {6, 7}, sf.get("row").toFloatArray());
        }
    }

    @Test
    void closeIsIdempotentAndTensorsAreRefusedAfterwards() throws IOException {
        Path f = dir.resolve("c.safetensors");
        SafetensorsWriter.write(f, Map.of("w", Tensor.ofFloats(new float[] {1}, 1)));
        SafetensorsFile sf = SafetensorsFile.open(f);
        sf.close();
        sf.close();
        assertThrows(IllegalStateException.class, () -> sf.get("w"));
    }

    private static long headerLength(Path f) throws IOException {
        byte[] bytes = Files.readAllBytes(f);
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private static List<String> listDir(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
