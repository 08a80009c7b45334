package dev.lorakit.generate;

import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import dev.lorakit.BadInputException;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's chat template (the Jinja2 {@code chat_template} of tokenizer_config.json or
 * chat_template.jinja), rendered the way transformers' {@code apply_chat_template(...,
 * tokenize=False)} renders it: the same variables ({@code messages}, {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token}, plus any extra such as {@code tools} or
 * {@code date_string}), the same globals ({@code raise_exception}, {@code strftime_now}) and
 * whitespace rules. See {@link HfJinja} for the engine and what it adds to Jinjava.
 *
 * <p>Errors are one-line {@link BadInputException}s naming the template's file: a template that
 * does not parse fails when created; one that fails while rendering gives Jinjava's message and
 * line; {@code raise_exception("...")} gives the template's own message (e.g. roles not
 * alternating); a filter or test lorakit's engine lacks is named when the template reaches it.
 *
 * <p>Known differences from transformers (none affect the templates tested): a variable bound
 * to None counts as undefined ({@code tools is defined} is false when tools is None;
 * transformers always passes {@code tools=None}, so lorakit leaves it unbound); None prints as
 * the empty string, also after {@code ~}; not supported: extended slices with a step
 * ({@code messages[::-1]}), backslash-u escapes in string literals, string repetition
 * ({@code 'ab' * 2}), the filters {@code min} and {@code max}.
 */
public final class ChatTemplate {
    private final String source;
    private final String template;
    private final JinjaSource prepared;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(String source, String template, String bosToken, String eosToken) {
        this.source = Objects.requireNonNull(source, "source");
        this.template = Objects.requireNonNull(template, "template");
        this.prepared = new JinjaSource(template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        List<String> errors = HfJinja.syntaxErrors(prepared);
        if (!errors.isEmpty()) {
            throw new BadInputException(source + ": chat template is not valid Jinja: " + oneLine(errors.getFirst()));
        }
    }

    /**
     * @param source   names the template in error messages (its file, e.g. model/tokenizer_config.json)
     * @param template the Jinja2 template text
     * @param bosToken the BOS token string ({@code bos_token}), or null if the tokenizer has none
     * @param eosToken the EOS token string ({@code eos_token}), or null if the tokenizer has none
     * @throws BadInputException if the template does not parse (unknown or unclosed tags...)
     */
    public static ChatTemplate of(String source, String template, String bosToken, String eosToken) {
        return new ChatTemplate(source, template, bosToken, eosToken);
    }

    /**
     * The chat template of a loaded tokenizer, with its BOS and EOS token strings.
     *
     * @throws BadInputException if the tokenizer has no chat template
     */
    public static ChatTemplate fromTokenizer(TextTokenizer tokenizer) {
        Path dir = tokenizer.tokenizerFile().toAbsolutePath().getParent();
        String template = tokenizer.chatTemplate().orElseThrow(() -> new BadInputException(
                dir.resolve(TextTokenizer.CONFIG_FILE) + ": no \"chat_template\" (and no chat_template.jinja"
                        + " next to it): this model has no chat format; use a plain prompt instead"));
        String bos = tokenizer.bosId().isPresent() ? tokenizer.tokenToString(tokenizer.bosId().getAsInt()) : null;
        String eos = tokenizer.eosId().isPresent() ? tokenizer.tokenToString(tokenizer.eosId().getAsInt()) : null;
        return new ChatTemplate(templateFile(dir).toString(), template, bos, eos);
    }

    /** Which file the tokenizer took its template from, in its search order. */
    private static Path templateFile(Path dir) {
        Path config = dir.resolve(TextTokenizer.CONFIG_FILE);
        try {
            if (Files.isRegularFile(config)
                    && Files.readString(config, StandardCharsets.UTF_8).contains("\"chat_template\"")) {
                return config;
            }
        } catch (IOException e) {
            return config;
        }
        Path jinja = dir.resolve("chat_template.jinja");
        return Files.isRegularFile(jinja) ? jinja : dir.resolve("chat_template.json");
    }

    /** The name used in error messages. */
    public String source() {
        return source;
    }

    /** The raw template text. */
    public String template() {
        return template;
    }

    /**
     * Renders a conversation of plain role/content turns.
     *
     * @param addGenerationPrompt end with the header that starts an assistant turn (to generate one)
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> maps = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            maps.add(map);
        }
        return render(maps, addGenerationPrompt, Map.of());
    }

    /**
     * Renders messages given as JSON-like maps (strings, numbers, booleans, null, maps, lists),
     * e.g. assistant turns with {@code tool_calls}, with extra template variables such as
     * {@code tools} (a list of JSON-schema maps) or {@code date_string}. Map order is kept, as
     * Python keeps dict order, so use ordered maps where order shows in the output (tojson).
     */
    public String render(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt,
                         Map<String, ?> variables) {
        Map<String, Object> bindings = new LinkedHashMap<>();
        if (bosToken != null) {
            bindings.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            bindings.put("eos_token", eosToken);
        }
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            bindings.put(e.getKey(), copy(e.getValue()));
        }
        bindings.put("messages", copy(messages));
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result;
        try {
            result = HfJinja.render(prepared, bindings);
        } catch (RuntimeException e) {
            throw failure(e, e instanceof InterpretException ie ? ie.getLineNumber() : -1);
        }
        TemplateError fatal = null;
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                if (e.getException() != null && cause(e.getException()) != null) {
                    throw failure(e.getException(), e.getLineno());
                }
                fatal = fatal == null ? e : fatal;
            }
        }
        if (fatal != null) {
            throw new BadInputException(source + ": chat template does not render (line " + fatal.getLineno()
                    + "): " + oneLine(fatal.getMessage()));
        }
        return result.getOutput();
    }

    /** The one-line error for an exception thrown while rendering. */
    private BadInputException failure(Throwable e, int line) {
        RuntimeException cause = cause(e);
        if (cause instanceof HfJinja.TemplateRaised) {
            return new BadInputException(source + ": the chat template rejects this conversation: "
                    + oneLine(cause.getMessage()), e);
        }
        String where = line > 0 ? " (line " + line + ")" : "";
        if (cause instanceof HfJinja.Unsupported) {
            return new BadInputException(source + ": chat template cannot be rendered" + where + ": "
                    + oneLine(cause.getMessage()), e);
        }
        return new BadInputException(source + ": chat template does not render" + where + ": "
                + oneLine(e.getMessage()), e);
    }

    /** The template's own raise_exception, or an unsupported filter or test, behind Jinjava's wrapping. */
    private static RuntimeException cause(Throwable t) {
        for (int depth = 0; t != null && depth < 20; depth++, t = t.getCause()) {
            if (t instanceof HfJinja.TemplateRaised || t instanceof HfJinja.Unsupported) {
                return (RuntimeException) t;
            }
        }
        return null;
    }

    /** Deep copy into mutable Java collections, which Jinjava wraps as Python-like dicts and lists. */
    private static Object copy(Object value) {
        return switch (value) {
            case Map<?, ?> m -> {
                Map<String, Object> out = new LinkedHashMap<>();
                m.forEach((k, v) -> out.put(String.valueOf(k), copy(v)));
                yield out;
            }
            case Collection<?> c -> {
                List<Object> out = new ArrayList<>(c.size());
                c.forEach(v -> out.add(copy(v)));
                yield out;
            }
            case null -> null;
            default -> value;
        };
    }

    private static String oneLine(String message) {
        return message == null ? "(no message)" : message.replaceAll("\\s*\\R\\s*", " ").strip();
    }

    @Override
    public String toString() {
        return "ChatTemplate(" + source + ")";
    }
}
