package dev.lorakit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.generate.ChatTemplate;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Tokenizers, chat templates and data files for the train package's tests, generated in code. */
final class TrainFixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A ChatML template (as Qwen's, without the default system prompt). */
    static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** A Zephyr-style template: turns end with the EOS token. */
    static final String ZEPHYR = "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] "
            + "+ eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

    private TrainFixtures() {
    }

    /** The byte tokenizer (BOS 0, EOS 1, PAD 2, byte b = 3 + b) written into {@code dir}. */
    static TextTokenizer byteTokenizer(Path dir, boolean addBos) {
        try {
            Files.createDirectories(dir);
            new ByteTokenizerBuilder().addBosToken(addBos).writeTo(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return TextTokenizer.load(dir);
    }

    static ChatTemplate template(String source) {
        return ChatTemplate.of(source.equals(ZEPHYR) ? "zephyr-test" : "chatml-test", source, ByteTokenizerBuilder.BOS,
                ByteTokenizerBuilder.EOS);
    }

    /** A real model template from the generate package's test resources. */
    static ChatTemplate realTemplate(String name) {
        String resource = "/dev/lorakit/generate/templates/" + name + ".json";
        try (InputStream in = Objects.requireNonNull(TrainFixtures.class.getResourceAsStream(resource),
                "missing test resource " + resource)) {
            JsonNode root = JSON.readTree(in);
            return ChatTemplate.of(name + ".json", root.get("chat_template").asText(), text(root.get("bos_token")),
                    text(root.get("eos_token")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    /** The byte tokenizer's ids of a text (no BOS). */
    static int[] bytes(String text) {
        return ByteTokenizerBuilder.idsOfText(text);
    }

    /** The text of byte-tokenizer ids (specials spelled out). */
    static String textOf(int[] ids, int from, int to) {
        StringBuilder specials = new StringBuilder();
        List<Byte> buf = new ArrayList<>();
        for (int i = from; i < to; i++) {
            if (ids[i] >= ByteTokenizerBuilder.FIRST_BYTE_ID) {
                buf.add((byte) (ids[i] - ByteTokenizerBuilder.FIRST_BYTE_ID));
            } else {
                flush(buf, specials);
                specials.append(switch (ids[i]) {
                    case 0 -> "<s>";
                    case 1 -> "</s>";
                    default -> "<pad>";
                });
            }
        }
        flush(buf, specials);
        return specials.toString();
    }

    private static void flush(List<Byte> buf, StringBuilder out) {
        byte[] b = new byte[buf.size()];
        for (int i = 0; i < b.length; i++) {
            b[i] = buf.get(i);
        }
        out.append(new String(b, StandardCharsets.UTF_8));
        buf.clear();
    }

    /** Writes lines to {@code dir/name}. */
    static Path jsonl(Path dir, String name, String... lines) {
        try {
            Path f = dir.resolve(name);
            Files.writeString(f, String.join("\n", lines) + "\n");
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON string literal. */
    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
