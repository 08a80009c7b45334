package dev.lorakit.io.peft;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How PEFT matches module names against the user's patterns, reproduced rule for rule.
 * Facts from PEFT's {@code get_pattern_key} (peft/utils/other.py, PEFT >= 0.15, PR #2419) and
 * {@code check_target_module_exists} (peft/tuners/tuners_utils.py, PEFT 0.19):
 * <ul>
 *   <li>a {@code rank_pattern} / {@code alpha_pattern} key matches a module name when
 *       {@code re.match(rf"(.*\.)?({key})$", name)} succeeds; the FIRST matching key in the
 *       dict's order wins (so a bare suffix like {@code "q_proj"} matches every q_proj, a
 *       {@code "^..."} key only a name starting there);</li>
 *   <li>a string {@code target_modules} / {@code exclude_modules} is a regex that must
 *       {@code re.fullmatch} the name; a list matches a name equal to an entry or ending with
 *       {@code "." + entry};</li>
 *   <li>{@code layers_to_transform} reads the layer index with
 *       {@code re.match(rf".*\.{pattern}\.(\d+)\.", name)} (pattern {@code [^.]*} when no
 *       {@code layers_pattern} is given).</li>
 * </ul>
 * Python and Java regexes agree on the syntax these patterns use; Python's named groups
 * {@code (?P<n>...)} and {@code (?P=n)} are translated.
 */
final class PeftPatterns {
    private static final Map<String, Pattern> PATTERN_KEYS = new ConcurrentHashMap<>();
    private static final Map<String, Pattern> FULL_MATCH = new ConcurrentHashMap<>();
    private static final Map<String, Pattern> LAYER_INDEX = new ConcurrentHashMap<>();
    private static final Pattern ANY_LAYER_INDEX = Pattern.compile(".*\\.[^.]*\\.(\\d+)\\.");

    private PeftPatterns() {
    }

    /** The first key (in iteration order) that matches {@code name} the PEFT way, or null. */
    static String firstMatchingKey(Collection<String> keys, String name) {
        for (String key : keys) {
            if (patternKey(key).matcher(name).lookingAt()) {
                return key;
            }
        }
        return null;
    }

    /** True if the regex matches the whole name (Python {@code re.fullmatch}). */
    static boolean fullMatch(String regex, String name) {
        return FULL_MATCH.computeIfAbsent(regex, r -> Pattern.compile(pythonToJava(r))).matcher(name).matches();
    }

    /** True if the name equals an entry or ends with "." + entry (PEFT's list matching). */
    static boolean listMatch(List<String> entries, String name) {
        for (String e : entries) {
            if (name.equals(e) || name.endsWith("." + e)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The layer index PEFT reads from a module name for {@code layers_to_transform}, or -1 if
     * none of the layer patterns occurs (an empty list means "any layer pattern").
     */
    static long layerIndex(List<String> layersPattern, String name) {
        if (layersPattern.isEmpty()) {
            return index(ANY_LAYER_INDEX.matcher(name));
        }
        for (String p : layersPattern) {
            Pattern compiled = LAYER_INDEX.computeIfAbsent(p,
                    k -> Pattern.compile(".*\\." + pythonToJava(k) + "\\.(\\d+)\\."));
            long idx = index(compiled.matcher(name));
            if (idx >= 0) {
                return idx;
            }
        }
        return -1;
    }

    private static long index(Matcher m) {
        if (!m.lookingAt()) {
            return -1;
        }
        String digits = m.group(m.groupCount());
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Throws IllegalArgumentException naming {@code what} if the key is not a valid pattern key. */
    static void checkPatternKey(String key, String what) {
        try {
            patternKey(key);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(what + " key \"" + key + "\" is not a valid regex: " + e.getDescription());
        }
    }

    /** Throws IllegalArgumentException naming {@code what} if the regex does not compile. */
    static void checkRegex(String regex, String what) {
        try {
            FULL_MATCH.computeIfAbsent(regex, r -> Pattern.compile(pythonToJava(r)));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(what + " \"" + regex + "\" is not a valid regex: " + e.getDescription());
        }
    }

    /** Throws IllegalArgumentException naming {@code what} if the layer pattern does not compile. */
    static void checkLayerPattern(String pattern, String what) {
        try {
            LAYER_INDEX.computeIfAbsent(pattern, k -> Pattern.compile(".*\\." + pythonToJava(k) + "\\.(\\d+)\\."));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(what + " \"" + pattern + "\" is not a valid regex: " + e.getDescription());
        }
    }

    private static Pattern patternKey(String key) {
        return PATTERN_KEYS.computeIfAbsent(key, k -> Pattern.compile("(.*\\.)?(" + pythonToJava(k) + ")$"));
    }

    /** Translates the Python-only named-group syntax; everything else is shared. */
    static String pythonToJava(String regex) {
        if (!regex.contains("(?P")) {
            return regex;
        }
        return regex.replaceAll("\\(\\?P<", "(?<").replaceAll("\\(\\?P=(\\w+)\\)", "\\\\k<$1>");
    }
}
