package dev.lorakit.io.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The parsed and validated JSON header of a safetensors file: tensor entries in data order
 * (ascending offsets) and the {@code __metadata__} strings.
 *
 * <p>Validation follows the format's rules (see the class comment of {@link SafetensorsFile});
 * every violation is a {@link BadInputException} naming the file and, where there is one, the
 * tensor. Key order in the header does not matter; unknown keys inside a tensor entry are
 * ignored, as the reference reader ignores them. U8 tensors that {@code __metadata__} marks as
 * block-quantized come out with their quantized type and logical shape ({@link QuantizedStorage}).
 *
 * @param tensors tensor entries sorted by data offset (ties keep header order)
 * @param metadata {@code __metadata__}, empty if absent or null
 */
record SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata) {
    /** Key of the string metadata entry. */
    static final String METADATA_KEY = "__metadata__";

    /** Parses tree values; nested duplicate keys are errors (top-level ones are checked by hand). */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();

    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*?)' for `");

    private static final String DTYPE_NAMES = Arrays.stream(DType.values()).filter(d -> !d.isQuantized())
            .map(DType::safetensorsName).collect(Collectors.joining(", "));

    /**
     * Decodes, parses and validates header bytes against a data buffer of {@code dataSize} bytes.
     *
     * @param where the file, for messages
     */
    static SafetensorsHeader parse(String where, ByteBuffer headerBytes, long dataSize) {
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBytes).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(where + ": header is not valid UTF-8 (expected a UTF-8 JSON object)");
        }
        return parse(where, json, dataSize);
    }

    /** Parses and validates a header already decoded to a string. */
    static SafetensorsHeader parse(String where, String json, long dataSize) {
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        checkSyntax(where, json);
        try (JsonParser p = JSON.createParser(json)) {
            JsonToken first = p.nextToken();
            if (first != JsonToken.START_OBJECT) {
                throw new BadInputException(where + ": header must be a JSON object {name: {dtype, shape, data_offsets}}, got "
                        + describeToken(first));
            }
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                String name = p.currentName();
                p.nextToken();
                if (!seen.add(name)) {
                    throw new BadInputException(where + ": " + (name.equals(METADATA_KEY) ? "\"" + METADATA_KEY + "\""
                            : "tensor \"" + name + "\"") + " appears twice in the header (expected unique names)");
                }
                JsonNode value = readValue(p, where, name);
                if (name.equals(METADATA_KEY)) {
                    parseMetadata(where, value, metadata);
                } else {
                    infos.add(parseTensor(where, name, value));
                }
            }
            if (p.nextToken() != null) {
                throw new BadInputException(where + ": header has content after the closing '}' (expected only space padding)");
            }
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": header is not valid JSON: " + jsonProblem(e));
        } catch (IOException e) {
            throw new BadInputException(where + ": header cannot be parsed: " + oneLine(e.getMessage()));
        }
        List<TensorInfo> byOffset = new ArrayList<>(infos);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkLayout(where, byOffset, dataSize);
        List<TensorInfo> resolved = QuantizedStorage.resolve(where, byOffset, metadata);
        return new SafetensorsHeader(Collections.unmodifiableList(resolved), Collections.unmodifiableMap(metadata));
    }

    /** A first pass over all tokens, so that broken JSON is reported as such before any entry. */
    private static void checkSyntax(String where, String json) {
        try (JsonParser p = JSON.createParser(json)) {
            while (p.nextToken() != null) {
                // tokens only
            }
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": header is not valid JSON: " + jsonProblem(e));
        } catch (IOException e) {
            throw new BadInputException(where + ": header cannot be parsed: " + oneLine(e.getMessage()));
        }
    }

    private static String jsonProblem(JsonProcessingException e) {
        String msg = oneLine(e.getOriginalMessage());
        return msg.startsWith("duplicate key") ? msg : msg + " (expected a JSON object)";
    }

    private static JsonNode readValue(JsonParser p, String where, String name) throws IOException {
        try {
            JsonNode v = p.readValueAsTree();
            return v == null ? JSON.nullNode() : v;
        } catch (JsonProcessingException e) {
            Matcher dup = DUPLICATE.matcher(String.valueOf(e.getOriginalMessage()));
            if (dup.lookingAt()) {
                String what = name.equals(METADATA_KEY) ? "\"" + METADATA_KEY + "\"" : "tensor \"" + name + "\"";
                throw new BadInputException(where + ": " + what + ": duplicate key \"" + dup.group(1)
                        + "\" inside the entry (expected each key once)");
            }
            throw e;
        }
    }

    private static void parseMetadata(String where, JsonNode v, Map<String, String> out) {
        if (v.isNull()) {
            return; // the reference reader treats a null __metadata__ as absent
        }
        if (!v.isObject()) {
            throw new BadInputException(where + ": \"" + METADATA_KEY + "\" must be an object of strings, got "
                    + describe(v));
        }
        for (Map.Entry<String, JsonNode> m : v.properties()) {
            if (!m.getValue().isTextual()) {
                throw new BadInputException(where + ": \"" + METADATA_KEY + "\" value of \"" + m.getKey()
                        + "\" must be a string, got " + describe(m.getValue()));
            }
            out.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static TensorInfo parseTensor(String where, String name, JsonNode v) {
        String at = where + ": tensor \"" + name + "\"";
        if (!v.isObject()) {
            throw new BadInputException(at + ": entry must be an object {dtype, shape, data_offsets}, got " + describe(v));
        }
        JsonNode dt = v.get("dtype");
        if (dt == null) {
            throw new BadInputException(at + ": missing \"dtype\" (expected one of " + DTYPE_NAMES + ")");
        }
        DType dtype = dt.isTextual() ? DType.fromSafetensorsName(dt.textValue()) : null;
        if (dtype == null || !dt.textValue().equals(dtype.safetensorsName())) {
            throw new BadInputException(at + ": unknown dtype " + dt + " (expected one of " + DTYPE_NAMES + ")");
        }
        JsonNode sh = v.get("shape");
        if (sh == null) {
            throw new BadInputException(at + ": missing \"shape\" (expected an array of non-negative integers)");
        }
        if (!sh.isArray()) {
            throw new BadInputException(at + ": \"shape\" must be an array of non-negative integers, got " + describe(sh));
        }
        long[] dims = new long[sh.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0 || d.longValue() > Integer.MAX_VALUE) {
                throw new BadInputException(at + ": \"shape\" must hold non-negative integers below 2^31, got " + sh);
            }
            dims[i] = d.longValue();
        }
        JsonNode off = v.get("data_offsets");
        if (off == null) {
            throw new BadInputException(at + ": missing \"data_offsets\" (expected [begin, end])");
        }
        if (!off.isArray() || off.size() != 2 || !isNonNegativeLong(off.get(0)) || !isNonNegativeLong(off.get(1))) {
            throw new BadInputException(at + ": \"data_offsets\" must be [begin, end] with non-negative integers, got " + off);
        }
        long begin = off.get(0).longValue();
        long end = off.get(1).longValue();
        if (end < begin) {
            throw new BadInputException(at + ": data_offsets [" + begin + ", " + end + "] end before they begin (expected begin <= end)");
        }
        Shape shape;
        long expectedBytes;
        try {
            shape = Shape.ofLongs(dims);
            expectedBytes = Math.multiplyExact(shape.size(), (long) dtype.byteSize());
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw new BadInputException(at + ": shape " + sh + " is too large (expected product(shape) x "
                    + dtype.byteSize() + " bytes to fit in 63 bits)");
        }
        if (end - begin != expectedBytes) {
            throw new BadInputException(at + ": " + dtype + " shape " + shape + " needs " + expectedBytes
                    + " bytes (product of shape x " + dtype.byteSize() + ") but data_offsets [" + begin + ", " + end
                    + "] span " + (end - begin) + " (expected end - begin = " + expectedBytes + ")");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static boolean isNonNegativeLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong() && n.longValue() >= 0;
    }

    /** Offsets inside the buffer, in order, without overlaps or holes, covering it to the end. */
    private static void checkLayout(String where, List<TensorInfo> byOffset, long dataSize) {
        long expectedBegin = 0;
        String previous = null;
        for (TensorInfo t : byOffset) {
            String at = where + ": tensor \"" + t.name() + "\": data_offsets [" + t.begin() + ", " + t.end() + "]";
            if (t.end() > dataSize) {
                throw new BadInputException(at + " end beyond the " + dataSize + "-byte data buffer (expected end <= "
                        + dataSize + ")");
            }
            if (t.begin() < expectedBegin) {
                throw new BadInputException(at + " overlap tensor \"" + previous + "\", which ends at " + expectedBegin
                        + " (expected begin " + expectedBegin + ")");
            }
            if (t.begin() > expectedBegin) {
                String after = previous == null ? "at the start of the data buffer" : "after tensor \"" + previous + "\"";
                throw new BadInputException(at + " leave a hole of " + (t.begin() - expectedBegin) + " bytes " + after
                        + " (expected begin " + expectedBegin + ")");
            }
            expectedBegin = t.end();
            previous = t.name();
        }
        if (expectedBegin != dataSize) {
            throw new BadInputException(where + ": the last " + (dataSize - expectedBegin) + " bytes of the " + dataSize
                    + "-byte data buffer belong to no tensor (tensors end at " + expectedBegin
                    + "; expected them to cover the buffer exactly)");
        }
    }

    private static String describeToken(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /** A short description of a JSON value for messages: its type and (short) text. */
    static String describe(JsonNode v) {
        String kind = switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
        if (v.isNull()) {
            return kind;
        }
        String text = v.toString();
        return kind + " " + (text.length() > 60 ? text.substring(0, 57) + "..." : text);
    }

    /** A Jackson message on one line, with its duplicate-key wording shortened. */
    static String oneLine(String s) {
        String line = s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ")
                .replaceAll("\\s*\\(start marker at \\[Source: .*?\\]\\)", "").strip();
        Matcher dup = DUPLICATE.matcher(line);
        return dup.lookingAt() ? "duplicate key \"" + dup.group(1) + "\" (expected each key once)" : line;
    }
}
