package dev.lorakit.generate;

import static dev.lorakit.generate.TemplateFixtures.SYSTEM_USER;
import static dev.lorakit.generate.TemplateFixtures.TOOL_CONVERSATION;
import static dev.lorakit.generate.TemplateFixtures.TWO_USERS;
import static dev.lorakit.generate.TemplateFixtures.UNTRIMMED;
import static dev.lorakit.generate.TemplateFixtures.USER_ASSISTANT_USER;
import static dev.lorakit.generate.TemplateFixtures.WEATHER_TOOL;
import static dev.lorakit.generate.TemplateFixtures.map;
import static dev.lorakit.generate.TemplateFixtures.template;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.BadInputException;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Real models' chat templates render exactly what transformers' {@code apply_chat_template(...,
 * tokenize=False)} returns. The expected strings are written out by hand from the templates'
 * rules (and were checked against Jinja2 3.1 set up as transformers sets it up).
 */
class ChatTemplateTest {

    @Test
    void llama2Chat() {
        ChatTemplate t = template("llama2-chat");
        String systemUser = "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello! [/INST]";
        assertEquals(systemUser, t.render(SYSTEM_USER, false));
        assertEquals(systemUser, t.render(SYSTEM_USER, true));  // the template has no generation prompt
        assertEquals("<s>[INST] What is 2+2? [/INST] 2+2 equals 4. </s><s>[INST] And 3+3? [/INST]",
                t.render(USER_ASSISTANT_USER, true));
        // content.strip() is Python's: the no-break space goes too; the system block keeps its padding
        assertEquals("<s>[INST] <<SYS>>\n Be terse. \n\n<</SYS>>\n\n  Hi [/INST] Hello. </s>"
                + "<s>[INST] {{ 1 + 1 }} {% if x %}é😀\"quoted\" [/INST]", t.render(UNTRIMMED, true));
    }

    @Test
    void llama2RaisesOnRolesThatDoNotAlternate() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> template("llama2-chat").render(TWO_USERS, true));
        assertEquals("llama2-chat.json: the chat template rejects this conversation:"
                + " Conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
    }

    @Test
    void llama3Instruct() {
        ChatTemplate t = template("llama3-instruct");
        String systemUser = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant."
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>";
        assertEquals(systemUser, t.render(SYSTEM_USER, false));
        assertEquals(systemUser + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(SYSTEM_USER, true));
        assertEquals("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n2+2 equals 4.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>", t.render(USER_ASSISTANT_USER, false));
        // message['content'] | trim binds tighter than +, and trims Python whitespace
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\n{{ 1 + 1 }} {% if x %}é😀\"quoted\"<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(UNTRIMMED, true));
    }

    private static final String LLAMA31_SYSTEM_HEADER = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";

    @Test
    void llama31InstructWithoutTools() {
        ChatTemplate t = template("llama3.1-instruct");
        assertEquals(LLAMA31_SYSTEM_HEADER + "You are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>", t.render(SYSTEM_USER, false));
        assertEquals(LLAMA31_SYSTEM_HEADER + "You are a helpful assistant.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(SYSTEM_USER, true));
        // without a system message the system turn is still there, empty after the dates
        assertEquals(LLAMA31_SYSTEM_HEADER + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n2+2 equals 4.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(USER_ASSISTANT_USER, true));
        // date_string is a template variable callers may set
        String custom = t.render(List.of(map("role", "user", "content", "Hi")), false,
                Map.of("date_string", "01 Jan 2025"));
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", custom);
    }

    /**
     * Tools go into the first user turn as tojson(indent=4); a tool call is rendered as JSON; a
     * tool result that is a string still goes through tojson (Jinja's "is iterable" is true for
     * strings), so it arrives quoted. Exercises not-X-is-defined precedence and tojson.
     */
    @Test
    void llama31InstructWithTools() {
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou can call tools.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON"
                + " for a function call with its proper arguments that best answers the given prompt.\n\n"
                + "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its"
                + " value}.Do not use variables.\n\n"
                + "{\n"
                + "    \"type\": \"function\",\n"
                + "    \"function\": {\n"
                + "        \"name\": \"get_weather\",\n"
                + "        \"description\": \"Get the weather in a city\",\n"
                + "        \"parameters\": {\n"
                + "            \"type\": \"object\",\n"
                + "            \"properties\": {\n"
                + "                \"city\": {\n"
                + "                    \"type\": \"string\",\n"
                + "                    \"description\": \"City name, e.g. \\\"Paris\\\"\"\n"
                + "                },\n"
                + "                \"days\": {\n"
                + "                    \"type\": \"integer\"\n"
                + "                }\n"
                + "            },\n"
                + "            \"required\": [\n"
                + "                \"city\"\n"
                + "            ]\n"
                + "        },\n"
                + "        \"return\": {\n"
                + "            \"type\": \"string\"\n"
                + "        }\n"
                + "    }\n"
                + "}\n\n"
                + "Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
                + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 2}}<|eot_id|>"
                + "<|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temp\\\": 21.5, \\\"sky\\\": \\\"clear\\\"}\"<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertEquals(expected, template("llama3.1-instruct").render(TOOL_CONVERSATION, true, Map.of("tools", WEATHER_TOOL)));
    }

    @Test
    void llama32InstructTakesTodaysDateFromStrftimeNow() {
        ChatTemplate t = template("llama3.2-instruct");
        assertEquals(LLAMA31_SYSTEM_HEADER.replace("26 Jul 2024", "03 Feb 2025") + "You are a helpful assistant."
                        + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>",
                t.render(List.of(map("role", "system", "content", "You are a helpful assistant."),
                        map("role", "user", "content", "Hello!")), false, Map.of("date_string", "03 Feb 2025")));
        // transformers defines strftime_now, so the template uses today's date, not its fallback
        LocalDate before = LocalDate.now();
        String rendered = t.render(SYSTEM_USER, true);
        LocalDate after = LocalDate.now();
        DateTimeFormatter format = DateTimeFormatter.ofPattern("dd MMM yyyy", Locale.ENGLISH);
        String expectedBefore = LLAMA31_SYSTEM_HEADER.replace("26 Jul 2024", before.format(format));
        String expectedAfter = LLAMA31_SYSTEM_HEADER.replace("26 Jul 2024", after.format(format));
        String tail = "You are a helpful assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        if (!rendered.equals(expectedAfter + tail)) {
            assertEquals(expectedBefore + tail, rendered);
        }
    }

    @Test
    void mistralInstructV02() {
        ChatTemplate t = template("mistral-instruct-v0.2");
        assertEquals("<s> [INST] You are a helpful assistant.\n\nHello! [/INST]", t.render(SYSTEM_USER, true));
        assertEquals("<s> [INST] What is 2+2? [/INST] 2+2 equals 4.</s> [INST] And 3+3? [/INST]",
                t.render(USER_ASSISTANT_USER, false));
        assertEquals("<s> [INST] What is 2+2? [/INST] 2+2 equals 4.</s> [INST] And 3+3? [/INST]",
                t.render(USER_ASSISTANT_USER, true));
        BadInputException e = assertThrows(BadInputException.class, () -> t.render(TWO_USERS, false));
        assertEquals("mistral-instruct-v0.2.json: the chat template rejects this conversation: After the optional"
                + " system message, conversation roles must alternate user/assistant/user/assistant/...", e.getMessage());
    }

    @Test
    void mistralInstructV03() {
        ChatTemplate t = template("mistral-instruct-v0.3");
        // the system message goes into the last user turn
        assertEquals("<s>[INST] You are a helpful assistant.\n\nHello![/INST]", t.render(SYSTEM_USER, true));
        assertEquals("<s>[INST] What is 2+2?[/INST] 2+2 equals 4.</s>[INST] And 3+3?[/INST]",
                t.render(USER_ASSISTANT_USER, false));
        assertEquals("<s>[INST]   Hi  [/INST] Hello.</s>[INST]  Be terse. \n\n\n{{ 1 + 1 }} {% if x %}é😀\"quoted\"[/INST]",
                t.render(UNTRIMMED, true));
    }

    /**
     * namespace(), selectattr, a loop filter ({@code for key, val in tool.items() if key !=
     * "return"}) with loop.last, tojson with Python's separators, slicing {@code out[:-1]},
     * {@code not X is defined} and {@code content|string}.
     */
    @Test
    void mistralInstructV03WithTools() {
        assertEquals("<s>[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                        + "\"description\": \"Get the weather in a city\", \"parameters\": {\"type\": \"object\", "
                        + "\"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name, e.g. \\\"Paris\\\"\"}, "
                        + "\"days\": {\"type\": \"integer\"}}, \"required\": [\"city\"]}}}][/AVAILABLE_TOOLS]"
                        + "[INST] Weather in Paris?[/INST]"
                        + "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}, "
                        + "\"id\": \"abc123xyz\"}]</s>"
                        + "[TOOL_RESULTS] {\"content\": {\"temp\": 21.5, \"sky\": \"clear\"}, \"call_id\": \"abc123xyz\"}"
                        + "[/TOOL_RESULTS]",
                template("mistral-instruct-v0.3").render(TOOL_CONVERSATION, true, Map.of("tools", WEATHER_TOOL)));
    }

    @Test
    void mistralInstructV03RejectsBadToolCallIds() {
        List<Map<String, Object>> conversation = List.of(map("role", "user", "content", "Hi"),
                map("role", "assistant", "content", "", "tool_calls", List.of(map("id", "short",
                        "function", map("name", "f", "arguments", map())))));
        BadInputException e = assertThrows(BadInputException.class,
                () -> template("mistral-instruct-v0.3").render(conversation, false, Map.of()));
        assertEquals("mistral-instruct-v0.3.json: the chat template rejects this conversation:"
                + " Tool call IDs should be alphanumeric strings with length 9!", e.getMessage());
    }

    @Test
    void qwen2InstructChatMl() {
        ChatTemplate t = template("qwen2-instruct");
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n",
                t.render(SYSTEM_USER, false));
        // without a system message the template adds its default one
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n2+2 equals 4.<|im_end|>\n"
                + "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n", t.render(USER_ASSISTANT_USER, true));
        // no trimming: content goes in verbatim
        assertEquals("<|im_start|>system\n Be terse. \n<|im_end|>\n<|im_start|>user\n  Hi  <|im_end|>\n"
                + "<|im_start|>assistant\n\tHello.\u00a0<|im_end|>\n<|im_start|>user\n{{ 1 + 1 }} {% if x %}é😀\"quoted\""
                + "<|im_end|>\n<|im_start|>assistant\n", t.render(UNTRIMMED, true));
    }

    @Test
    void qwen25Instruct() {
        ChatTemplate t = template("qwen2.5-instruct");
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n"
                + "<|im_start|>assistant\n", t.render(SYSTEM_USER, true));
        assertEquals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n2+2 equals 4.<|im_end|>\n"
                + "<|im_start|>user\nAnd 3+3?<|im_end|>\n", t.render(USER_ASSISTANT_USER, false));
    }

    @Test
    void qwen25InstructWithTools() {
        assertEquals("<|im_start|>system\nYou can call tools.\n\n# Tools\n\nYou may call one or more functions to assist"
                        + " with the user query.\n\nYou are provided with function signatures within <tools></tools> XML"
                        + " tags:\n<tools>\n"
                        + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the"
                        + " weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\":"
                        + " \"string\", \"description\": \"City name, e.g. \\\"Paris\\\"\"}, \"days\": {\"type\": \"integer\"}},"
                        + " \"required\": [\"city\"]}, \"return\": {\"type\": \"string\"}}}\n"
                        + "</tools>\n\nFor each function call, return a json object with function name and arguments within"
                        + " <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\":"
                        + " <args-json-object>}\n</tool_call><|im_end|>\n"
                        + "<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                        + "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\","
                        + " \"days\": 2}}\n</tool_call><|im_end|>\n"
                        + "<|im_start|>user\n<tool_response>\n{\"temp\": 21.5, \"sky\": \"clear\"}\n</tool_response><|im_end|>\n"
                        + "<|im_start|>assistant\n",
                template("qwen2.5-instruct").render(TOOL_CONVERSATION, true, Map.of("tools", WEATHER_TOOL)));
    }

    /** Newlines between tags survive only after expressions (trim_blocks removes those after block tags). */
    @Test
    void zephyrAndTinyLlamaChat() {
        ChatTemplate t = template("zephyr");
        assertEquals("<|system|>\nYou are a helpful assistant.</s>\n<|user|>\nHello!</s>\n", t.render(SYSTEM_USER, false));
        assertEquals("<|system|>\nYou are a helpful assistant.</s>\n<|user|>\nHello!</s>\n<|assistant|>\n",
                t.render(SYSTEM_USER, true));
        assertEquals("<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n2+2 equals 4.</s>\n<|user|>\nAnd 3+3?</s>\n",
                t.render(USER_ASSISTANT_USER, false));
        assertEquals("<|user|>\nWhat is 2+2?</s>\n<|assistant|>\n2+2 equals 4.</s>\n<|user|>\nAnd 3+3?</s>\n"
                + "<|assistant|>\n", t.render(USER_ASSISTANT_USER, true));
    }

    @Test
    void absentBosTokenRendersEmpty() {
        ChatTemplate t = ChatTemplate.of("t.jinja", "[{{ bos_token }}|{{ eos_token }}]", null, "</s>");
        assertEquals("[|</s>]", t.render(SYSTEM_USER, false));
    }

    @Test
    void templateThatDoesNotParseFailsWhenCreated() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> ChatTemplate.of("model/tokenizer_config.json", "{% for m in messages %}{{ m.content }}", "<s>", "</s>"));
        assertEquals("model/tokenizer_config.json: chat template is not valid Jinja: line 1: Syntax error in"
                + " '{% for m in messages %}': Missing end tag: endfor for tag defined as: {% for m in messages %}",
                e.getMessage());
        BadInputException unknownTag = assertThrows(BadInputException.class,
                () -> ChatTemplate.of("x.jinja", "{% frobnicate %}", null, null));
        assertEquals("x.jinja: chat template is not valid Jinja: line 1: Syntax error in '{% frobnicate %}':"
                + " Unknown tag: frobnicate", unknownTag.getMessage());
    }

    @Test
    void renderErrorsAreOneLineAndNameTheFile() {
        ChatTemplate bad = ChatTemplate.of("m/chat_template.jinja", "{{ 'x' }}\n{{ 1 + }}\n", null, null);
        BadInputException e = assertThrows(BadInputException.class, () -> bad.render(SYSTEM_USER, false));
        assertEquals("m/chat_template.jinja: chat template does not render (line 2): Error parsing '1 +': syntax"
                + " error at position 6, encountered '}', expected <IDENTIFIER>|<STRING>|<FLOAT>|<INTEGER>|'true'|"
                + "'false'|'null'|'-'|'!'|'not'|'empty'|'('", e.getMessage());
        ChatTemplate breakOutside = ChatTemplate.of("b.jinja", "{% if true %}{% break %}{% endif %}", null, null);
        BadInputException e2 = assertThrows(BadInputException.class, () -> breakOutside.render(SYSTEM_USER, false));
        assertEquals("b.jinja: chat template does not render: `break` called while not in a for loop",
                e2.getMessage());
    }

    @Test
    void unsupportedFilterFailsWhenReachedNotSilently() {
        ChatTemplate t = ChatTemplate.of("t.jinja", "{% if add_generation_prompt %}{{ [3, 1] | max }}{% endif %}ok",
                null, null);
        assertEquals("ok", t.render(SYSTEM_USER, false));  // the branch with max is not taken
        BadInputException e = assertThrows(BadInputException.class, () -> t.render(SYSTEM_USER, true));
        assertEquals("t.jinja: chat template cannot be rendered (line 1): the filter \"max\" is not supported by"
                + " lorakit's Jinja engine", e.getMessage());
    }

    @Test
    void messageContentIsNeverInterpretedAsTemplate() {
        ChatTemplate t = ChatTemplate.of("t.jinja", "{% for m in messages %}{{ m.content }}{% endfor %}", null, null);
        assertEquals("{{ raise_exception('x') }}{% if %}", t.render(List.of(ChatMessage.user("{{ raise_exception('x') }}"),
                ChatMessage.user("{% if %}")), false));
    }
}
