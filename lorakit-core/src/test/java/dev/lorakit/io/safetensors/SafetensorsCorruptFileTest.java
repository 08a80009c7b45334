package dev.lorakit.io.safetensors;

import static dev.lorakit.io.safetensors.RawSafetensors.f32;
import static dev.lorakit.io.safetensors.RawSafetensors.file;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** One hand-made corrupt file per validation rule of {@link SafetensorsFile}. */
class SafetensorsCorruptFileTest {
    private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    @TempDir
    Path dir;

    private int counter;

    /** Opens the bytes, expects a one-line BadInputException naming the file and each fragment. */
    private String rejected(byte[] bytes, String... fragments) throws IOException {
        Path f = dir.resolve("bad" + (counter++) + ".safetensors");
        Files.write(f, bytes);
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(f).close());
        String msg = e.getMessage();
        assertTrue(msg.startsWith(f.toString() + ": "), "names the file: " + msg);
        for (String fragment : fragments) {
            assertTrue(msg.contains(fragment), "message should contain <" + fragment + ">: " + msg);
        }
        assertFalse(msg.contains("\n"), "one line: " + msg);
        assertTrue(msg.contains("expected") || msg.contains(" must "), "says what was expected: " + msg);
        return msg;
    }

    @Test
    void fileShorterThanEightBytes() throws IOException {
        rejected(new byte[] {5, 0, 0, 0, 0}, "5 bytes", "expected at least 8");
        rejected(new byte[0], "0 bytes", "expected at least 8");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] header = "{}".getBytes(StandardCharsets.US_ASCII);
        rejected(file(100, header, new byte[0]), "header length 100", "file of 10 bytes", "expected at most 2");
        // A u64 length with the top bit set (what a pickle or zip file often looks like).
        rejected(file(-2L, header, new byte[0]), "header length 18446744073709551614", "expected at most 2");
    }

    @Test
    void headerNotUtf8() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        rejected(file(header.length, header, new byte[0]), "not valid UTF-8", "expected a UTF-8 JSON object");
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"a\": ", "hello", "{\"a\":{\"dtype\":\"F32\"}", "{} x", "[1, 2", "{}}"})
    void headerNotJson(String header) throws IOException {
        String msg = rejected(file(header, new byte[0]), "header is not valid JSON: ", "expected a JSON object");
        assertFalse(msg.contains("Source:"), "no parser location noise: " + msg);
    }

    @Test
    void secondValueAfterTheObjectIsNamed() throws IOException {
        rejected(file("{} {}", new byte[0]), "content after the closing '}'", "expected only space padding");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"[1, 2]|an array", "\"x\"|a string", "42|a number", "null|null"})
    void headerNotAnObject(String header, String kind) throws IOException {
        rejected(file(header, new byte[0]), "header must be a JSON object", "got " + kind);
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"F33\"", "\"f32\"", "\"float32\"", "7"})
    void unknownDtype(String dtype) throws IOException {
        String h = "{\"w\":{\"dtype\":" + dtype + ",\"shape\":[2],\"data_offsets\":[0,8]}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "unknown dtype " + dtype, "expected one of", "BF16", "F32");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"shape\":[2],\"data_offsets\":[0,8]|missing \"dtype\"|expected one of",
            "\"dtype\":\"F32\",\"data_offsets\":[0,8]|missing \"shape\"|expected an array of non-negative integers",
            "\"dtype\":\"F32\",\"shape\":[2]|missing \"data_offsets\"|expected [begin, end]"})
    void missingField(String entry, String what, String expected) throws IOException {
        rejected(file("{\"w\":{" + entry + "}}", new byte[8]), "tensor \"w\"", what, expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"[-1]", "[2.5]", "[\"2\"]", "[2147483648]", "[1, null]"})
    void badShapeDimension(String shape) throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,8]}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "\"shape\" must hold non-negative integers below 2^31");
    }

    @Test
    void shapeNotAnArray() throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "\"shape\" must be an array", "got a number 2");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[0]", "[0, 8, 9]", "[-1, 7]", "[0.0, 8]", "\"0-8\"", "[0, null]"})
    void malformedDataOffsets(String offsets) throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "\"data_offsets\" must be [begin, end] with non-negative integers");
    }

    @Test
    void offsetsEndingBeforeTheyBegin() throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "end before they begin", "expected begin <= end");
    }

    @Test
    void entryNotAnObject() throws IOException {
        rejected(file("{\"w\":[1,2]}", new byte[0]), "tensor \"w\"", "entry must be an object", "got an array");
    }

    @Test
    void byteSizeNotShapeTimesDtype() throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}";
        rejected(file(h, new byte[12]), "tensor \"w\"", "F32 shape [2, 2] needs 16 bytes", "data_offsets [0, 12] span 12");
        String bf = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,3]}}";
        rejected(file(bf, new byte[3]), "tensor \"w\"", "BF16 shape [3] needs 6 bytes");
    }

    @Test
    void shapeWhoseByteSizeOverflows() throws IOException {
        String h = "{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "is too large (expected product(shape) x 8 bytes to fit in 63 bits)");
    }

    @Test
    void offsetsBeyondTheBuffer() throws IOException {
        String h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        rejected(file(h, new byte[8]), "tensor \"w\"", "data_offsets [0, 16] end beyond the 8-byte data buffer",
                "expected end <= 8");
    }

    @Test
    void overlappingTensors() throws IOException {
        String h = "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        rejected(file(h, new byte[12]), "tensor \"b\"", "overlap tensor \"a\", which ends at 8", "expected begin 8");
    }

    @Test
    void overlapIsFoundWhateverTheHeaderOrder() throws IOException {
        String h = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}," + A + "}";
        rejected(file(h, new byte[12]), "tensor \"b\"", "overlap tensor \"a\"");
    }

    @Test
    void holeBetweenTensors() throws IOException {
        String h = "{" + A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}";
        rejected(file(h, new byte[20]), "tensor \"b\"", "hole of 4 bytes after tensor \"a\"", "expected begin 8");
    }

    @Test
    void holeAtTheStart() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        rejected(file(h, new byte[12]), "tensor \"a\"", "hole of 4 bytes at the start of the data buffer", "expected begin 0");
    }

    @Test
    void trailingBytesOwnedByNoTensor() throws IOException {
        rejected(file("{" + A + "}", new byte[12]), "the last 4 bytes of the 12-byte data buffer belong to no tensor",
                "tensors end at 8");
        rejected(file("{}", new byte[3]), "the last 3 bytes of the 3-byte data buffer belong to no tensor");
    }

    @Test
    void duplicateTensorName() throws IOException {
        String h = "{" + A + ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
        rejected(file(h, new byte[16]), "tensor \"a\" appears twice in the header", "expected unique names");
    }

    @Test
    void duplicateKeyInsideAnEntry() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        rejected(file(h, new byte[8]), "tensor \"a\": duplicate key \"dtype\" inside the entry (expected each key once)");
    }

    @Test
    void duplicateMetadata() throws IOException {
        String h = "{\"__metadata__\":{},\"__metadata__\":{}}";
        rejected(file(h, new byte[0]), "\"__metadata__\" appears twice");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"[1]|an array", "\"pt\"|a string", "3|a number"})
    void metadataNotAnObject(String value, String kind) throws IOException {
        rejected(file("{\"__metadata__\":" + value + "," + A + "}", new byte[8]),
                "\"__metadata__\" must be an object of strings", "got " + kind);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "true", "{\"x\":\"y\"}", "[\"pt\"]", "null"})
    void metadataValueNotAString(String value) throws IOException {
        rejected(file("{\"__metadata__\":{\"format\":\"pt\",\"k\":" + value + "}}", new byte[0]),
                "\"__metadata__\" value of \"k\" must be a string");
    }

    @Test
    void nullMetadataIsTreatedAsAbsentLikeTheReferenceReader() throws IOException {
        Path f = dir.resolve("ok.safetensors");
        Files.write(f, file("{\"__metadata__\":null," + A + "}", f32(1f, 2f)));
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertTrue(sf.metadata().isEmpty());
            assertEquals(2f, sf.get("a").getFloat(1));
        }
    }

    @Test
    void missingFileAndDirectoryAreNamed() {
        Path missing = dir.resolve("nope.safetensors");
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(missing));
        assertEquals(missing + ": no such file", e.getMessage());
        e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(dir));
        assertEquals(dir + ": is a directory, expected a .safetensors file", e.getMessage());
    }
}
