package dev.lorakit.generate;

import static dev.lorakit.generate.TemplateFixtures.map;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** tojson must print exactly what Python's json.dumps prints (expected strings are Python's). */
class PythonJsonTest {

    @Test
    void floatsUseReprForm() {
        double[] values = {1.0, 1e16, 1e15, 0.0001, 0.00001, 123.456, -0.0, 1.5e300, 5e-324, 0.1, 2.5e-5, 100.0,
            1234567890123456.7, 12345678901234567.0};
        String[] python = {"1.0", "1e+16", "1000000000000000.0", "0.0001", "1e-05", "123.456", "-0.0", "1.5e+300",
            "5e-324", "0.1", "2.5e-05", "100.0", "1234567890123456.8", "1.2345678901234568e+16"};
        for (int i = 0; i < values.length; i++) {
            assertEquals(python[i], PythonJson.dumps(values[i]), "json.dumps(" + values[i] + ")");
            assertEquals(python[i], PythonValues.repr(values[i]), "repr(" + values[i] + ")");
        }
        assertEquals("[NaN, Infinity, -Infinity]", PythonJson.dumps(List.of(Double.NaN, Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY)));
        assertEquals("[nan, inf, -inf]", PythonValues.repr(List.of(Double.NaN, Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY)));
        assertEquals("0.1", PythonJson.dumps(0.1f));  // a float32 prints as the decimal it was written as
        assertEquals("[1, 12345678901234567890]", PythonJson.dumps(List.of(1, new BigInteger("12345678901234567890"))));
    }

    @Test
    void stringsEscapeOnlyWhatPythonEscapes() {
        assertEquals("\"\\u0001\\u001f\u007f\u2028\\\"\\\\/\\b\\f\\n\\r\\t\"",
                PythonJson.dumps("\u0001\u001f\u007f\u2028\"\\/\b\f\n\r\t"));
        assertEquals("\"\\u00e9\\u007f\\ud83d\\ude00\"",
                new PythonJson(null, null, false, true).write("é\u007f😀"));
    }

    @Test
    void indentSeparatorsAndSortedKeys() {
        assertEquals("{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": null\n    }\n  ]\n}",
                new PythonJson("  ", null, false, false).write(map("a", List.of(), "b", map(),
                        "c", List.of(1, map("d", null)))));
        assertEquals("{\n\t\"a\": 2,\n\t\"b\": 1\n}", new PythonJson("\t", null, true, false).write(map("b", 1, "a", 2)));
        assertEquals("[1,2]", new PythonJson(null, new String[] {",", ":"}, false, false).write(List.of(1, 2)));
        assertEquals("{\n\"k\": [\n1\n]\n}", new PythonJson("", null, false, false).write(map("k", List.of(1))));
        Map<Object, Object> keys = new LinkedHashMap<>();  // Python turns int, None, float, bool keys into strings
        keys.put(1, "a");
        keys.put(null, "c");
        keys.put(2.5, "d");
        keys.put(true, "e");
        assertEquals("{\"1\": \"a\", \"null\": \"c\", \"2.5\": \"d\", \"true\": \"e\"}", PythonJson.dumps(keys));
    }

    @Test
    void pythonReprOfContainers() {
        assertEquals("{'a': [1, None, True], 'b': \"it's\", 'c': 'x\\ny', 'd': '\\x01\\x7f\\\\'}",
                PythonValues.repr(map("a", Arrays.asList(1, null, true), "b", "it's", "c", "x\ny",
                        "d", "\u0001\u007f\\")));
        assertEquals("['a\"b', \"c'd\", 'e\\'f\"g']", PythonValues.repr(List.of("a\"b", "c'd", "e'f\"g")));
    }
}
