package dev.lorakit.generate;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The filters and tests whose Jinjava versions differ from what transformers' Jinja environment
 * does: {@code tojson} (Python's json.dumps), {@code trim} (Python's strip), {@code string}
 * (Python's str), {@code items} (missing in Jinjava), and the tests {@code iterable} and
 * {@code sequence} (true for strings and dicts, as in Python).
 */
final class JinjaFilters {
    private JinjaFilters() {
    }

    static List<Filter> filters() {
        return List.of(new ToJson(), new Trim(), new StringFilter(), new Items());
    }

    static List<ExpTest> tests() {
        return List.of(new Iterable(), new Sequence());
    }

    /** A filter that receives its positional and keyword arguments as objects. */
    private interface ObjectFilter extends Filter {
        @Override
        default Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }
    }

    /**
     * {@code tojson(indent=None, separators=None, sort_keys=False, ensure_ascii=False)}, as
     * transformers overrides Jinja's: plain {@code json.dumps}, no HTML escaping.
     */
    static final class ToJson implements ObjectFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            String indentText = switch (indent) {
                case null -> null;
                case Number n -> " ".repeat(n.intValue());
                default -> indent.toString();
            };
            String[] separators = null;
            if (kwargs.get("separators") instanceof Collection<?> pair && pair.size() == 2) {
                List<?> list = new ArrayList<>(pair);
                separators = new String[] {String.valueOf(list.get(0)), String.valueOf(list.get(1))};
            }
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            boolean ensureAscii = Boolean.TRUE.equals(kwargs.get("ensure_ascii"));
            return new PythonJson(indentText, separators, sortKeys, ensureAscii).write(var);
        }
    }

    /** {@code trim(chars=None)}: Python's {@code str.strip}, Unicode whitespace included. */
    static final class Trim implements ObjectFilter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object chars = kwargs.containsKey("chars") ? kwargs.get("chars") : args.length > 0 ? args[0] : null;
            return PythonStringMethods.strip(PythonValues.str(var), chars == null ? null : chars.toString(), true, true);
        }
    }

    /** {@code string}: Python's {@code str()} (dicts and lists in Python syntax). */
    static final class StringFilter implements ObjectFilter {
        @Override
        public String getName() {
            return "string";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            return var == null ? "None" : PythonValues.str(var);
        }
    }

    /** {@code items}: a mapping's (key, value) pairs in order; nothing for null. */
    static final class Items implements ObjectFilter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (var == null) {
                return List.of();
            }
            if (!(var instanceof Map<?, ?> map)) {
                throw new IllegalArgumentException("items filter needs a mapping, got " + PythonValues.repr(var));
            }
            return new ArrayList<>(map.entrySet());
        }
    }

    /** {@code is iterable}: anything a for loop can walk, strings and dicts included. */
    static final class Iterable implements ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof CharSequence || var instanceof java.lang.Iterable<?> || var instanceof Map<?, ?>
                    || (var != null && var.getClass().isArray());
        }
    }

    /** {@code is sequence}: has a length and indexing: strings, lists, dicts. */
    static final class Sequence implements ExpTest {
        @Override
        public String getName() {
            return "sequence";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof CharSequence || var instanceof List<?> || var instanceof Map<?, ?>
                    || (var != null && var.getClass().isArray());
        }
    }
}
