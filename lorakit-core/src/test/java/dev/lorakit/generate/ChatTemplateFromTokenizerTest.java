package dev.lorakit.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.BadInputException;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A loaded tokenizer supplies the template, its BOS/EOS strings, and the file errors name. */
class ChatTemplateFromTokenizerTest {
    private static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}"
            + "{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";

    @Test
    void templateAndSpecialTokensComeFromTheTokenizer(@TempDir Path dir) throws IOException {
        new ByteTokenizerBuilder().chatTemplate(TEMPLATE).writeTo(dir);
        try (TextTokenizer tokenizer = TextTokenizer.load(dir)) {
            ChatTemplate t = ChatTemplate.fromTokenizer(tokenizer);
            assertEquals(dir.toAbsolutePath().resolve("tokenizer_config.json").toString(), t.source());
            assertEquals("<s>[user] Hi</s>[assistant] ", t.render(List.of(ChatMessage.user("Hi")), true));
        }
    }

    @Test
    void aChatTemplateJinjaFileIsNamedInErrors(@TempDir Path dir) throws IOException {
        new ByteTokenizerBuilder().writeTo(dir);
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ raise_exception('no chat here') }}\n");
        try (TextTokenizer tokenizer = TextTokenizer.load(dir)) {
            ChatTemplate t = ChatTemplate.fromTokenizer(tokenizer);
            BadInputException e = assertThrows(BadInputException.class,
                    () -> t.render(List.of(ChatMessage.user("Hi")), true));
            assertEquals(dir.toAbsolutePath().resolve("chat_template.jinja")
                    + ": the chat template rejects this conversation: no chat here", e.getMessage());
        }
    }

    @Test
    void aTokenizerWithoutTemplateIsBadInput(@TempDir Path dir) throws IOException {
        new ByteTokenizerBuilder().writeTo(dir);
        try (TextTokenizer tokenizer = TextTokenizer.load(dir)) {
            BadInputException e = assertThrows(BadInputException.class, () -> ChatTemplate.fromTokenizer(tokenizer));
            assertEquals(dir.toAbsolutePath().resolve("tokenizer_config.json") + ": no \"chat_template\" (and no"
                    + " chat_template.jinja next to it): this model has no chat format; use a plain prompt instead",
                    e.getMessage());
        }
    }
}
