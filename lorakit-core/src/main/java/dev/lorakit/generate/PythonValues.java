package dev.lorakit.generate;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Collection;
import java.util.Map;

/**
 * Python's {@code str()} and {@code repr()} of Java values, which is how Jinja prints template
 * values: {@code True}/{@code False}, floats in repr form ({@code 1e+20}), lists as
 * {@code [1, 'a']} and dicts as {@code {'k': None}}. Null prints as the empty string at the top
 * level (Jinjava cannot tell None from an undefined variable; an undefined one prints empty) and
 * as {@code None} inside containers.
 */
final class PythonValues {
    private PythonValues() {
    }

    /** Python's {@code str(value)}, except that null is "" (see the class comment). */
    static String str(Object value) {
        return switch (value) {
            case null -> "";
            case CharSequence s -> s.toString();
            default -> repr(value);
        };
    }

    /** Python's {@code repr(value)}. */
    static String repr(Object value) {
        StringBuilder out = new StringBuilder();
        repr(value, out);
        return out.toString();
    }

    private static void repr(Object value, StringBuilder out) {
        switch (value) {
            case null -> out.append("None");
            case CharSequence s -> quote(s.toString(), out);
            case Boolean b -> out.append(b ? "True" : "False");
            case Double d -> out.append(floatRepr(d));
            case Float f -> out.append(floatRepr(Double.parseDouble(Float.toString(f))));
            case BigDecimal d -> out.append(floatRepr(d.doubleValue()));
            case Number n -> out.append(n);
            case Map<?, ?> m -> {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    out.append(first ? "" : ", ");
                    first = false;
                    repr(e.getKey(), out);
                    out.append(": ");
                    repr(e.getValue(), out);
                }
                out.append('}');
            }
            case Collection<?> c -> {
                out.append('[');
                boolean first = true;
                for (Object item : c) {
                    out.append(first ? "" : ", ");
                    first = false;
                    repr(item, out);
                }
                out.append(']');
            }
            default -> out.append(value);
        }
    }

    /** A Python string literal: single quotes unless the text has ' and no ", escapes as Python. */
    private static void quote(String s, StringBuilder out) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        out.append(q);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == q || c == '\\') {
                out.append('\\').append(c);
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                out.append(String.format("\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append(q);
    }

    /**
     * Python's float repr: the shortest digits that round-trip (Java's, except that Java never
     * prints fewer than two: 4.9E-324 is Python's 5e-324), written in fixed
     * notation when the decimal exponent is in [-4, 16), else as {@code d.ddde+XX}; {@code nan},
     * {@code inf}.
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        if (exact.precision() == 2) {  // Java prints at least two digits; Python's shortest may have one
            BigDecimal one = new BigDecimal(Math.abs(d)).round(new MathContext(1, RoundingMode.HALF_EVEN));
            if (one.doubleValue() == Math.abs(d)) {
                exact = one.stripTrailingZeros();
            }
        }
        String digits = exact.unscaledValue().toString();
        int exponent = digits.length() - 1 - exact.scale();  // |d| = d.ddd x 10^exponent
        StringBuilder out = new StringBuilder(d < 0 ? "-" : "");
        if (exponent >= -4 && exponent < 16) {
            if (exponent >= digits.length() - 1) {
                out.append(digits).append("0".repeat(exponent - digits.length() + 1)).append(".0");
            } else if (exponent >= 0) {
                out.append(digits, 0, exponent + 1).append('.').append(digits, exponent + 1, digits.length());
            } else {
                out.append("0.").append("0".repeat(-exponent - 1)).append(digits);
            }
        } else {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            out.append('e').append(exponent < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exponent));
            out.append(e.length() < 2 ? "0" + e : e);
        }
        return out.toString();
    }
}
