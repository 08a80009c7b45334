package dev.lorakit.generate;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Lets chat templates call Python {@code str} methods ({@code content.strip()},
 * {@code role.startswith('sys')}, {@code text.split('\n')}...) on strings, which Jinjava would
 * otherwise look up as Java methods (absent, or with other semantics such as Java's regex
 * {@code split}). Placed before Jinjava's own resolver; any other call falls through to it.
 */
final class PythonStringMethods extends ELResolver {
    private static final Set<String> METHODS = Set.of("strip", "lstrip", "rstrip", "startswith", "endswith",
            "upper", "lower", "title", "capitalize", "split", "replace", "find", "count", "join",
            "isspace", "isdigit", "isalpha", "isalnum", "islower", "isupper");

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof CharSequence cs) || !(method instanceof String name) || !METHODS.contains(name)) {
            return null;
        }
        Object result = call(cs.toString(), name, params == null ? new Object[0] : params);
        context.setPropertyResolved(true);
        return result;
    }

    private static Object call(String s, String name, Object[] args) {
        return switch (name) {
            case "strip" -> strip(s, chars(args), true, true);
            case "lstrip" -> strip(s, chars(args), true, false);
            case "rstrip" -> strip(s, chars(args), false, true);
            case "startswith" -> anyAffix(s, arg(args, 0, name), true);
            case "endswith" -> anyAffix(s, arg(args, 0, name), false);
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "split" -> split(s, args.length > 0 && args[0] != null ? args[0].toString() : null,
                    args.length > 1 ? ((Number) args[1]).intValue() : -1);
            case "replace" -> replace(s, str(arg(args, 0, name)), str(arg(args, 1, name)),
                    args.length > 2 ? ((Number) args[2]).intValue() : -1);
            case "find" -> (long) s.indexOf(str(arg(args, 0, name)));
            case "count" -> count(s, str(arg(args, 0, name)));
            case "join" -> join(s, arg(args, 0, name));
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(PythonStringMethods::isPythonSpace);
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum" -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "islower" -> s.chars().anyMatch(Character::isLowerCase) && s.chars().noneMatch(Character::isUpperCase);
            case "isupper" -> s.chars().anyMatch(Character::isUpperCase) && s.chars().noneMatch(Character::isLowerCase);
            default -> throw new IllegalStateException(name);
        };
    }

    private static Object arg(Object[] args, int i, String method) {
        if (i >= args.length) {
            throw new IllegalArgumentException("str." + method + "() needs at least " + (i + 1) + " argument(s)");
        }
        return args[i];
    }

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    private static String chars(Object[] args) {
        return args.length > 0 && args[0] != null ? args[0].toString() : null;
    }

    /** Python's str.isspace for one char (Java's isWhitespace misses the no-break spaces and U+0085). */
    static boolean isPythonSpace(int c) {
        return Character.isWhitespace(c) || c == '\u00a0' || c == '\u2007' || c == '\u202f' || c == '\u0085';
    }

    /** Python's str.strip / lstrip / rstrip: whitespace, or the given set of characters. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end && stripped(s.charAt(start), chars)) {
                start++;
            }
        }
        if (right) {
            while (end > start && stripped(s.charAt(end - 1), chars)) {
                end--;
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isPythonSpace(c) : chars.indexOf(c) >= 0;
    }

    private static boolean anyAffix(String s, Object affix, boolean prefix) {
        if (affix instanceof Collection<?> options) {
            for (Object o : options) {
                if (prefix ? s.startsWith(str(o)) : s.endsWith(str(o))) {
                    return true;
                }
            }
            return false;
        }
        return prefix ? s.startsWith(str(affix)) : s.endsWith(str(affix));
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean cased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
            out.append(cased ? (previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c)) : c);
            previousCased = cased;
        }
        return out.toString();
    }

    /** Python's str.split: on runs of whitespace (dropping empties) without sep, else on sep exactly. */
    private static List<String> split(String s, String sep, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isPythonSpace(s.charAt(i))) {
                    i++;
                }
                if (i == n) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(s.substring(i), null, false, true));
                    return parts;
                }
                int j = i;
                while (j < n && !isPythonSpace(s.charAt(j))) {
                    j++;
                }
                parts.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("str.split(): empty separator");
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** Python's str.replace; a count limits the number of replacements (not with an empty old). */
    private static String replace(String s, String old, String replacement, int count) {
        if (count < 0 || old.isEmpty()) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        int at;
        for (int done = 0; done < count && (at = s.indexOf(old, from)) >= 0; done++) {
            out.append(s, from, at).append(replacement);
            from = at + old.length();
        }
        return out.append(s, from, s.length()).toString();
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String separator, Object items) {
        if (!(items instanceof Iterable<?> iterable)) {
            throw new IllegalArgumentException("str.join() needs a list, got " + items);
        }
        StringBuilder out = new StringBuilder();
        boolean first = true;
        for (Object o : iterable) {
            out.append(first ? "" : separator).append(str(o));
            first = false;
        }
        return out.toString();
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // not ours: other resolvers handle assignments
    }
}
