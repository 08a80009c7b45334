package dev.lorakit.generate;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps} output for Java values (maps, collections, arrays, strings,
 * numbers, booleans, null), which chat templates' {@code tojson} filter must reproduce byte for
 * byte: transformers defines it as {@code json.dumps(x, ensure_ascii=False, indent=indent,
 * separators=separators, sort_keys=sort_keys)}. Python's defaults: items separated by
 * {@code ", "} and keys by {@code ": "} without indent, {@code ","} and {@code ": "} with one;
 * floats in {@code repr} form; NaN and infinities as {@code NaN}, {@code Infinity}.
 */
final class PythonJson {
    private static final Object NULL = new Object();  // stands for null values in entry lists

    private final String indent;         // null: single line
    private final String itemSeparator;
    private final String keySeparator;
    private final boolean sortKeys;
    private final boolean ensureAscii;

    /**
     * @param indent     null for one line, else the string repeated per nesting level
     * @param separators null for Python's defaults, else {item separator, key separator}
     */
    PythonJson(String indent, String[] separators, boolean sortKeys, boolean ensureAscii) {
        this.indent = indent;
        this.itemSeparator = separators != null ? separators[0] : indent != null ? "," : ", ";
        this.keySeparator = separators != null ? separators[1] : ": ";
        this.sortKeys = sortKeys;
        this.ensureAscii = ensureAscii;
    }

    /** json.dumps(value) with Python's defaults and ensure_ascii=False (transformers' tojson). */
    static String dumps(Object value) {
        return new PythonJson(null, null, false, false).write(value);
    }

    String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, 0);
        return out.toString();
    }

    private void write(Object v, StringBuilder out, int depth) {
        switch (v) {
            case null -> out.append("null");
            case CharSequence s -> string(s.toString(), out);
            case Boolean b -> out.append(b ? "true" : "false");
            case Double d -> out.append(number(d));
            case Float f -> out.append(number(Double.parseDouble(Float.toString(f))));
            case BigDecimal d -> out.append(number(d.doubleValue()));
            case Number n -> out.append(n);
            case Map<?, ?> m -> object(m, out, depth);
            case Collection<?> c -> array(c, out, depth);
            case Object[] a -> array(List.of(a), out, depth);
            case Character c -> string(c.toString(), out);
            default -> string(v.toString(), out);
        }
    }

    private void object(Map<?, ?> map, StringBuilder out, int depth) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<String, Object>> entries = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            entries.add(Map.entry(key(e.getKey()), e.getValue() == null ? NULL : e.getValue()));
        }
        if (sortKeys) {
            entries.sort(Map.Entry.comparingByKey());
        }
        out.append('{');
        for (int i = 0; i < entries.size(); i++) {
            out.append(i == 0 ? "" : itemSeparator);
            newline(out, depth + 1);
            string(entries.get(i).getKey(), out);
            out.append(keySeparator);
            Object value = entries.get(i).getValue();
            write(value == NULL ? null : value, out, depth + 1);
        }
        newline(out, depth);
        out.append('}');
    }

    private void array(Collection<?> items, StringBuilder out, int depth) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        boolean first = true;
        for (Object item : items) {
            out.append(first ? "" : itemSeparator);
            first = false;
            newline(out, depth + 1);
            write(item, out, depth + 1);
        }
        newline(out, depth);
        out.append(']');
    }

    private void newline(StringBuilder out, int depth) {
        if (indent != null) {
            out.append('\n');
            out.append(indent.repeat(depth));
        }
    }

    /** Python converts str, int, float, bool and None keys to strings. */
    private static String key(Object k) {
        return switch (k) {
            case null -> "null";
            case Boolean b -> b ? "true" : "false";
            case Double d -> number(d);
            default -> k.toString();
        };
    }

    private void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** A float as json.dumps writes it: repr, with NaN, Infinity, -Infinity. */
    private static String number(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        return PythonValues.floatRepr(d);
    }
}
