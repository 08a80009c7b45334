package dev.lorakit.generate;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import jinjava.javax.el.CompositeELResolver;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The Jinja engine (Jinjava) set up like transformers' chat-template environment (trim_blocks,
 * lstrip_blocks, the final newline of a template dropped, the globals {@code raise_exception}
 * and {@code strftime_now}), plus what makes Jinjava behave like Jinja2 on real templates: the
 * template text prepared as Jinja2's lexer reads it ({@link JinjaSource}), values printed as
 * Python prints them ({@link PythonValues}), Python string methods
 * ({@link PythonStringMethods}), Python-semantics filters and tests ({@link JinjaFilters}),
 * the {@code {% generation %}} tag and loop filters ({@link JinjaTags}). Shared and thread-safe.
 */
final class HfJinja {
    /**
     * Jinjava's opt-in fixes that bring it closer to Jinja2: dict literal keys are expressions,
     * {@code for k in dict} walks the keys, containers print in Python syntax, {@code {{- }}
     * needs the dash right after the braces (so {@code {{ -7 }}} is minus seven), dashes also
     * strip around comments and expressions, null loop items are kept, backslashes escape only
     * inside quotes. Not enabled:
     * whitespace-required-within-tokens, which breaks {@code {%- if %}}.
     */
    private static final LegacyOverrides JINJA_SEMANTICS = LegacyOverrides.newBuilder()
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withUsePyishObjectMapper(true)
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withAllowAdjacentTextNodes(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withKeepNullableLoopValues(true)
            .withHandleBackslashInQuotesOnly(true)
            .build();

    /**
     * The global functions are also variables in Jinja2, and templates test them
     * ({@code {% if strftime_now is defined %}}); Jinjava functions are not variables, so
     * each also gets a variable of the same name (it does not shadow the call).
     */
    private static final Map<String, Object> GLOBALS = Map.of(
            "raise_exception", new GlobalFunction("raise_exception"),
            "strftime_now", new GlobalFunction("strftime_now"));

    /** Stands for a global function where the template reads it as a value. */
    private record GlobalFunction(String name) {
        @Override
        public String toString() {
            return "<function " + name + ">";
        }
    }

    static {
        quietLoggingWithoutProvider();
    }

    private static final Jinjava ENGINE = create();

    /**
     * Jinjava logs through SLF4J. With no SLF4J provider on the class path (lorakit ships none),
     * SLF4J would print a three-line "no providers" warning to stderr the first time Jinjava
     * logs, in the middle of a command's output; its own verbosity switch silences that. An
     * application with a provider, or that set the switch, is left alone.
     */
    private static void quietLoggingWithoutProvider() {
        String verbosity = "slf4j.internal.verbosity";
        if (System.getProperty(verbosity) == null
                && ServiceLoader.load(SLF4JServiceProvider.class).findFirst().isEmpty()) {
            System.setProperty(verbosity, "ERROR");
        }
    }

    private HfJinja() {
    }

    /**
     * Renders a prepared template. Most errors come back in the result, as Jinjava reports
     * them; some (syntax errors found while rendering) are thrown as Jinjava exceptions. Filters
     * and tests the engine lacks fail with {@link Unsupported} when reached (Jinjava would
     * silently print nothing for them).
     */
    static RenderResult render(JinjaSource source, Map<String, Object> bindings) {
        JinjavaConfig config = ENGINE.getGlobalConfig();
        Map<String, Object> variables = new LinkedHashMap<>(GLOBALS);
        variables.putAll(bindings);
        Context context = new Context(ENGINE.getGlobalContextCopy(), variables, config.getDisabled());
        context.setExpressionStrategy(HfJinja::printExpression);  // not kept by the global context's copy
        for (String name : source.filters) {
            if (context.getFilter(name) == null) {
                context.registerFilter(new MissingFilter(name));
            }
        }
        for (String name : source.tests) {
            if (context.getExpTest(name) == null) {
                context.registerExpTest(new MissingTest(name));
            }
        }
        JinjavaInterpreter created = config.getInterpreterFactory().newInstance(ENGINE, context, config);
        try (var current = JinjavaInterpreter.closeablePushCurrent(created).get()) {
            JinjavaInterpreter interpreter = current.value();
            String output = interpreter.render(source.text);
            return new RenderResult(output, context, interpreter.getErrorsCopy());
        }
    }

    /** Syntax errors (unknown or unclosed tags, bad expressions...) found by parsing, one line each. */
    static List<String> syntaxErrors(JinjaSource source) {
        List<String> problems = new ArrayList<>();
        try (var current = JinjavaInterpreter.closeablePushCurrent(ENGINE.newInterpreter()).get()) {
            JinjavaInterpreter interpreter = current.value();
            interpreter.parse(source.text);
            for (TemplateError e : interpreter.getErrorsCopy()) {
                if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                    problems.add("line " + e.getLineno() + ": " + e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            problems.add(String.valueOf(e.getMessage()));
        }
        return problems;
    }

    /** A filter, test or strftime directive the template uses that this engine does not have. */
    static final class Unsupported extends RuntimeException {
        Unsupported(String message) {
            super(message, null, false, false);
        }
    }

    private record MissingFilter(String name) implements Filter {
        @Override
        public String getName() {
            return name;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            throw new Unsupported("the filter \"" + name + "\" is not supported by lorakit's Jinja engine");
        }
    }

    private record MissingTest(String name) implements ExpTest {
        @Override
        public String getName() {
            return name;
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            throw new Unsupported("the test \"" + name + "\" is not supported by lorakit's Jinja engine");
        }
    }

    /** {@code {{ expr }}} prints Python's str() of the value (True, None-free lists...), not Java's. */
    private static RenderedOutputNode printExpression(ExpressionToken token, JinjavaInterpreter interpreter) {
        Object value = interpreter.resolveELExpression(token.getExpr(), token.getLineNumber());
        return new RenderedOutputNode(PythonValues.str(value));
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(false)   // both done by JinjaSource, as Jinja2 does them
                .withLstripBlocks(false)
                .withKeepTrailingNewline(true)
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withLegacyOverrides(JINJA_SEMANTICS)
                .withElResolver(resolver)
                .withLocale(Locale.ROOT)
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", HfJinja.class,
                "raiseException", Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", HfJinja.class,
                "strftimeNow", String.class));
        JinjaFilters.filters().forEach(jinjava::registerFilter);
        JinjaFilters.tests().forEach(jinjava::registerExpTest);
        JinjaTags.tags().forEach(jinjava::registerTag);
        return jinjava;
    }

    /** What the template's {@code raise_exception(message)} throws; carries the template's message. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message, null, false, false);
        }
    }

    /** The template global {@code raise_exception}. */
    public static Object raiseException(Object message) {
        throw new TemplateRaised(String.valueOf(message));
    }

    /** The template global {@code strftime_now}: the local time now, formatted by Python's strftime. */
    public static String strftimeNow(String format) {
        return strftime(LocalDateTime.now(), format);
    }

    /** Python's strftime for the common directives (English names); others are an error. */
    static String strftime(LocalDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> out.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> out.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> out.append(t.getYear());
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'b' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'H' -> out.append(String.format("%02d", t.getHour()));
                case 'I' -> out.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> out.append(String.format("%02d", t.getMinute()));
                case 'S' -> out.append(String.format("%02d", t.getSecond()));
                case 'j' -> out.append(String.format("%03d", t.getDayOfYear()));
                case '%' -> out.append('%');
                default -> throw new Unsupported("strftime_now: the directive %" + d + " is not supported");
            }
        }
        return out.toString();
    }
}
