package dev.lorakit.io.peft;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeSet;

/**
 * PEFT's {@code target_modules} (and {@code exclude_modules}): which modules of the base model
 * carry a LoRA. Three forms, matched exactly as PEFT matches them (see {@link PeftPatterns}):
 * <ul>
 *   <li>{@link Names}: a JSON list; a module matches when its name equals an entry or ends
 *       with {@code "." + entry} ({@code "q_proj"} matches {@code model.layers.0.self_attn.q_proj}
 *       but not {@code ...xq_proj});</li>
 *   <li>{@link Regex}: a JSON string; the regex must match the whole module name;</li>
 *   <li>{@link AllLinear}: the string {@code "all-linear"} (any case): every linear layer except
 *       the output head ({@code lm_head}). Without the model we cannot tell which modules are
 *       linear, so {@link #matches} assumes the caller only asks about linear modules.</li>
 * </ul>
 */
public sealed interface TargetModules permits TargetModules.Names, TargetModules.Regex, TargetModules.AllLinear {

    /** True if PEFT would select this module (name relative to the base model). */
    boolean matches(String moduleName);

    /** A list of names or name suffixes (duplicates dropped, order kept). */
    record Names(List<String> names) implements TargetModules {
        public Names {
            Objects.requireNonNull(names, "names");
            for (String n : names) {
                Objects.requireNonNull(n, "target module name");
            }
            names = List.copyOf(new LinkedHashSet<>(names));
        }

        @Override
        public boolean matches(String moduleName) {
            return PeftPatterns.listMatch(names, moduleName);
        }
    }

    /** A regex that must match the whole module name (Python {@code re.fullmatch}). */
    record Regex(String pattern) implements TargetModules {
        public Regex {
            Objects.requireNonNull(pattern, "pattern");
            PeftPatterns.checkRegex(pattern, "regex");
        }

        @Override
        public boolean matches(String moduleName) {
            return PeftPatterns.fullMatch(pattern, moduleName);
        }
    }

    /** PEFT's {@code "all-linear"} shorthand: every linear layer but the output head. */
    record AllLinear() implements TargetModules {
        /** The output head PEFT leaves out for causal language models. */
        public static final String OUTPUT_HEAD = "lm_head";

        @Override
        public boolean matches(String moduleName) {
            return !moduleName.equals(OUTPUT_HEAD) && !moduleName.endsWith("." + OUTPUT_HEAD);
        }
    }

    /** A list of names or suffixes. */
    static TargetModules names(String... names) {
        return new Names(List.of(names));
    }

    /** The names list holding each distinct last path component of the given module names, sorted. */
    static TargetModules suffixesOf(Iterable<String> moduleNames) {
        TreeSet<String> suffixes = new TreeSet<>();
        for (String n : moduleNames) {
            suffixes.add(n.substring(n.lastIndexOf('.') + 1));
        }
        return new Names(new ArrayList<>(suffixes));
    }

    /** A string value as PEFT reads it: "all-linear" (any case) or a full-match regex. */
    static TargetModules ofString(String value) {
        return isAllLinear(value) ? new AllLinear() : new Regex(value);
    }

    /** True for PEFT's {@code INCLUDE_LINEAR_LAYERS_SHORTHAND}, compared case-insensitively. */
    static boolean isAllLinear(String value) {
        return value.toLowerCase(Locale.ROOT).equals("all-linear");
    }
}
