package dev.lorakit.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Real chat templates (test resources under dev/lorakit/generate/templates, each a JSON file with
 * the model's tokenizer_config.json {@code chat_template}, {@code bos_token}, {@code eos_token}
 * and the {@code source} it was taken from) and the conversations the tests render with them.
 */
final class TemplateFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TemplateFixtures() {
    }

    /** The named template (file name without .json); a missing resource fails the test. */
    static ChatTemplate template(String name) {
        String resource = "templates/" + name + ".json";
        try (InputStream in = Objects.requireNonNull(TemplateFixtures.class.getResourceAsStream(resource),
                "missing test resource dev/lorakit/generate/" + resource)) {
            JsonNode root = JSON.readTree(in);
            return ChatTemplate.of(name + ".json", root.get("chat_template").asText(),
                    text(root.get("bos_token")), text(root.get("eos_token")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    static final List<ChatMessage> SYSTEM_USER = List.of(
            ChatMessage.system("You are a helpful assistant."), ChatMessage.user("Hello!"));

    static final List<ChatMessage> USER_ASSISTANT_USER = List.of(
            ChatMessage.user("What is 2+2?"), ChatMessage.assistant("2+2 equals 4."), ChatMessage.user("And 3+3?"));

    /** Padding whitespace (the templates differ in what they strip) and Jinja-looking content. */
    static final List<ChatMessage> UNTRIMMED = List.of(
            ChatMessage.system(" Be terse. \n"), ChatMessage.user("  Hi  "), ChatMessage.assistant("\tHello.\u00a0"),
            ChatMessage.user("{{ 1 + 1 }} {% if x %}é😀\"quoted\""));

    static final List<ChatMessage> TWO_USERS = List.of(ChatMessage.user("a"), ChatMessage.user("b"));

    /** An ordered map from alternating keys and values. */
    static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    /** One tool in the OpenAI / transformers format, with a "return" entry Mistral's template skips. */
    static final List<Map<String, Object>> WEATHER_TOOL = List.of(map(
            "type", "function",
            "function", map(
                    "name", "get_weather",
                    "description", "Get the weather in a city",
                    "parameters", map(
                            "type", "object",
                            "properties", map(
                                    "city", map("type", "string", "description", "City name, e.g. \"Paris\""),
                                    "days", map("type", "integer")),
                            "required", List.of("city")),
                    "return", map("type", "string"))));

    /** System, user, an assistant tool call (9-character id, as Mistral requires), the tool's result. */
    static final List<Map<String, Object>> TOOL_CONVERSATION = List.of(
            map("role", "system", "content", "You can call tools."),
            map("role", "user", "content", "Weather in Paris?"),
            map("role", "assistant", "content", "", "tool_calls", List.of(map(
                    "id", "abc123xyz", "type", "function",
                    "function", map("name", "get_weather", "arguments", map("city", "Paris", "days", 2))))),
            map("role", "tool", "tool_call_id", "abc123xyz", "content", "{\"temp\": 21.5, \"sky\": \"clear\"}"));
}
