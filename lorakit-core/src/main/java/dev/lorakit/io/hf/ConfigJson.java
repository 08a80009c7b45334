package dev.lorakit.io.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed reads of one JSON object from a config file, where every bad value becomes a
 * {@link BadInputException} like {@code path/config.json: field "r" must be a positive integer,
 * got -3}; and the writer that formats config files the way Hugging Face does (sorted keys,
 * 2-space indent). Absent fields and JSON nulls both count as "not set".
 */
final class ConfigJson {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field '(.*?)' for `");

    private final String where;
    private final String prefix;
    private final JsonNode node;

    private ConfigJson(String where, String prefix, JsonNode node) {
        this.where = where;
        this.prefix = prefix;
        this.node = node;
    }

    /** Reads a file that must hold a JSON object. */
    static ConfigJson read(Path file) {
        String where = file.toString();
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(where + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot read: " + e.getMessage(), e);
        }
        return parse(where, text);
    }

    /** Parses text that must hold a JSON object; {@code where} names it in messages. */
    static ConfigJson parse(String where, String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": not valid JSON: " + oneLine(e.getOriginalMessage()));
        }
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new BadInputException(where + ": must be a JSON object, got "
                    + (root == null || root.isMissingNode() ? "nothing" : describe(root)));
        }
        return new ConfigJson(where, "", root);
    }

    /** The file, for messages. */
    String where() {
        return where;
    }

    /** The raw value of a field, or null if absent or JSON null. */
    JsonNode raw(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    boolean has(String field) {
        return raw(field) != null;
    }

    /** A nested object field, or null if absent or null. */
    ConfigJson object(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            throw error(field, v, "an object");
        }
        return new ConfigJson(where, prefix + field + ".", v);
    }

    /** A message for a bad value: {@code where: field "x" must be <expected>, got <value>}. */
    BadInputException error(String field, JsonNode value, String expected) {
        return new BadInputException(where + ": field \"" + prefix + field + "\" must be " + expected + ", got "
                + (value == null ? "nothing (the field is missing)" : describe(value)));
    }

    /** A free-form message about a field: {@code where: field "x" <text>}. */
    BadInputException fieldError(String field, String text) {
        return new BadInputException(where + ": field \"" + prefix + field + "\" " + text);
    }

    int requiredInt(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            throw error(field, null, "an integer");
        }
        return asInt(field, v);
    }

    Integer optionalInt(String field) {
        JsonNode v = raw(field);
        return v == null ? null : asInt(field, v);
    }

    int intOr(String field, int fallback) {
        Integer v = optionalInt(field);
        return v == null ? fallback : v;
    }

    private int asInt(String field, JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw error(field, v, "an integer");
        }
        return v.intValue();
    }

    Double optionalDouble(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw error(field, v, "a number");
        }
        return v.doubleValue();
    }

    double doubleOr(String field, double fallback) {
        Double v = optionalDouble(field);
        return v == null ? fallback : v;
    }

    Boolean optionalBoolean(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isBoolean()) {
            throw error(field, v, "true or false");
        }
        return v.booleanValue();
    }

    boolean booleanOr(String field, boolean fallback) {
        Boolean v = optionalBoolean(field);
        return v == null ? fallback : v;
    }

    String optionalString(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw error(field, v, "a string");
        }
        return v.textValue();
    }

    /** An integer or a list of integers (like eos_token_id); empty if absent. */
    List<Integer> intOrIntList(String field) {
        JsonNode v = raw(field);
        List<Integer> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (v.isArray()) {
            for (JsonNode e : v) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                    throw error(field, v, "an integer or a list of integers");
                }
                out.add(e.intValue());
            }
            return out;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw error(field, v, "an integer or a list of integers");
        }
        out.add(v.intValue());
        return out;
    }

    /** A value as it appears in JSON, shortened: 5, "yarn", [1, 2], {"a": 1}, null. */
    static String describe(JsonNode v) {
        String text = v.toString();
        return text.length() > 80 ? text.substring(0, 77) + "..." : text;
    }

    /** A Jackson message on one line, with its duplicate-key wording shortened. */
    static String oneLine(String s) {
        String line = s == null ? "" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ")
                .replaceAll("\\s*\\(start marker at \\[Source: .*?\\]\\)", "").strip();
        Matcher dup = DUPLICATE.matcher(line);
        return dup.lookingAt() ? "duplicate key \"" + dup.group(1) + "\" (expected each key once)" : line;
    }


    /** Formats a config object as Hugging Face writes it: sorted keys, 2-space indent, ": ", final newline. */
    static String format(ObjectNode root) {
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"));
        try {
            Object sorted = JSON.treeToValue(root, Object.class); // maps, so ORDER_MAP_ENTRIES_BY_KEYS applies
            return JSON.writer(printer).writeValueAsString(sorted) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
