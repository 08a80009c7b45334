package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.eval.GreedyDecoder;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void makeModel() throws Exception {
        model = dir.resolve("m");
        SyntheticModel.write(model, ModelPreset.TINY.config(DType.F32), DType.F32, 11, Long.MAX_VALUE, true);
        new ByteTokenizerBuilder().addBosToken(true)
                .chatTemplate("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
                        + "{% if add_generation_prompt %}<assistant>{% endif %}")
                .writeTo(model);
    }

    static JsonNode json(String... args) throws Exception {
        CliRunner r = CliRunner.run(args);
        assertEquals(0, r.exitCode(), r.err());
        return Json.MAPPER.readTree(r.out());
    }

    @Test
    void greedyGenerationIsTheArgmaxContinuation() throws Exception {
        JsonNode r = json("generate", "--model", model.toString(), "--prompt", "The", "--max-tokens", "12", "--temperature", "0", "--json");
        assertEquals(12, r.get("generated_tokens").asInt());
        assertEquals("length", r.get("finish_reason").asText());
        try (LlamaModel m = LlamaModel.open(model, List.of())) {
            ModelConfig c = m.config();
            try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()))) {
                int[] prompt = tok.encode("The");
                assertEquals(prompt.length, r.get("prompt_tokens").asInt());
                int[] gen = GreedyDecoder.generate(m, new int[][] {prompt}, new int[] {12}, Set.copyOf(tok.eosIds()))[0];
                assertEquals(tok.decode(gen, true), r.get("text").asText());
            }
        }
    }

    @Test
    void seededSamplingIsReproducibleAndSeedsDiffer() throws Exception {
        String[] base = {"generate", "--model", model.toString(), "--prompt", "x", "--max-tokens", "40", "--temperature", "1.5", "--json"};
        String a = json(concat(base, "--seed", "7")).get("text").asText();
        String b = json(concat(base, "--seed", "7")).get("text").asText();
        String c = json(concat(base, "--seed", "8")).get("text").asText();
        assertEquals(a, b);
        assertNotEquals(a, c);
    }

    @Test
    void stopStringEndsGenerationBeforeIt() throws Exception {
        // the streamed text is what stop strings see (for invalid UTF-8 it may differ from a one-shot decode)
        CliRunner free = CliRunner.run("generate", "--model", model.toString(), "--prompt", "The", "--max-tokens", "30");
        String text = free.out().substring(0, free.out().length() - System.lineSeparator().length());
        String stop = text.substring(5, 7);
        JsonNode r = json("generate", "--model", model.toString(), "--prompt", "The", "--max-tokens", "30", "--stop", stop, "--json");
        assertEquals("stop_string", r.get("finish_reason").asText());
        assertEquals(text.substring(0, text.indexOf(stop)), r.get("text").asText());
    }

    @Test
    void chatUsesTheTemplateAndStreamsText() throws Exception {
        JsonNode chat = json("generate", "--model", model.toString(), "--chat", "--system", "S", "--prompt", "U", "--max-tokens", "3", "--json");
        // BOS + "<system>S\n<user>U\n<assistant>" in bytes
        assertEquals(1 + "<system>S\n<user>U\n<assistant>".length(), chat.get("prompt_tokens").asInt());
        CliRunner streamed = CliRunner.run("generate", "--model", model.toString(), "--prompt", "The", "--max-tokens", "12");
        assertEquals(0, streamed.exitCode());
        assertTrue(streamed.out().endsWith(System.lineSeparator()), "streamed text then a newline");
        assertTrue(streamed.err().contains("tokens/s decode"), streamed.err());
        assertEquals(Main.EXIT_BAD_INPUT, CliRunner.run("generate", "--model", model.toString(), "--prompt", "x", "--top-p", "2").exitCode());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
