package dev.lorakit.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading, errors and the BOS/EOS/PAD rules of TextTokenizer, on tokenizers generated in code. */
class TextTokenizerTest {
    private static final int A = ByteTokenizerBuilder.idOfByte('a');
    private static final int B = ByteTokenizerBuilder.idOfByte('b');

    @TempDir
    Path dir;

    private static BadInputException assertBadInput(Path mustName, Runnable load) {
        BadInputException e = assertThrows(BadInputException.class, load::run);
        assertTrue(e.getMessage().contains(mustName.toString()), "message does not name " + mustName + ": " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "message is not one line: " + e.getMessage());
        return e;
    }

    /** Writes the byte tokenizer.json with the given post_processor and an optional tokenizer_config.json. */
    private Path tokenizerWith(Object postProcessor, Map<String, Object> config) throws IOException {
        ObjectNode tree = TokenizerFixtures.byteTokenizerTree();
        tree.set("post_processor", TokenizerFixtures.JSON.valueToTree(postProcessor));
        TokenizerFixtures.write(dir.resolve("tokenizer.json"), tree);
        if (config != null) {
            TokenizerFixtures.write(dir.resolve("tokenizer_config.json"), config);
        }
        return dir;
    }

    @Test
    void missingTokenizerJsonNamesThePath() {
        BadInputException e = assertBadInput(dir.resolve("tokenizer.json"), () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    }

    @Test
    void sentencePieceModelWithoutTokenizerJsonGetsAHint() throws IOException {
        Files.writeString(dir.resolve("tokenizer.model"), "not really a model");
        BadInputException e = assertBadInput(dir.resolve("tokenizer.json"), () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer.model"), e.getMessage());
    }

    @Test
    void invalidJsonNamesThePath() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"version\": \"1.0\", \"model\": ");
        BadInputException e = assertBadInput(file, () -> TextTokenizer.load(file));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void jsonThatIsNotATokenizerNamesThePath() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "[1, 2, 3]");
        assertBadInput(file, () -> TextTokenizer.load(dir));
        Files.writeString(file, "{\"version\": \"1.0\"}");
        assertBadInput(file, () -> TextTokenizer.load(dir));
    }

    @Test
    void modelTheLibraryRejectsNamesThePath() throws IOException {
        ObjectNode tree = TokenizerFixtures.byteTokenizerTree();
        ((ObjectNode) tree.get("model")).put("type", "NoSuchModel");
        Path file = dir.resolve("tokenizer.json");
        TokenizerFixtures.write(file, tree);
        BadInputException e = assertBadInput(file, () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizers library cannot load it"), e.getMessage());
    }

    @Test
    void unreadableTokenizerJsonNamesThePath() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.createDirectory(file);  // a directory where the file should be
        assertBadInput(file, () -> TextTokenizer.load(file));
    }

    @Test
    void badConfigFieldNamesFileAndField() throws IOException {
        tokenizerWith(null, Map.of("add_bos_token", "yes"));
        BadInputException e = assertBadInput(dir.resolve("tokenizer_config.json"), () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains("\"add_bos_token\""), e.getMessage());
        tokenizerWith(null, Map.of("eos_token", "<|no such token|>"));
        e = assertBadInput(dir.resolve("tokenizer_config.json"), () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains("\"eos_token\""), e.getMessage());
        tokenizerWith(null, Map.of("pad_token", "<|not in vocab|>"));  // tolerated: no padding id
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertEquals(OptionalInt.empty(), t.padId());
        }
        tokenizerWith(null, Map.of("add_bos_token", true));  // and no BOS known anywhere
        assertBadInput(dir.resolve("tokenizer_config.json"), () -> TextTokenizer.load(dir));
    }

    @Test
    void configAddBosTokenAddsBosOnce() throws IOException {
        tokenizerWith(null, Map.of("add_bos_token", true, "bos_token", "<s>"));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertTrue(t.addsBos());
            assertArrayEquals(new int[] {0, A, B}, t.encode("ab"));
            assertArrayEquals(new int[] {0, A, B}, t.encode("<s>ab"), "a second BOS must not be added");
            assertArrayEquals(new int[] {0}, t.encode(""));
            assertArrayEquals(new int[] {A, B}, t.encode("ab", false, false));
        }
    }

    /** Llama 3: no add_bos_token in tokenizer_config.json; the post_processor template adds BOS. */
    @Test
    void templateInASequenceAddsBosWhenConfigIsSilent() throws IOException {
        tokenizerWith(TokenizerFixtures.sequenceWithTemplate("<s>", 0), Map.of("bos_token", "<s>", "eos_token", "</s>"));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertTrue(t.addsBos());
            assertArrayEquals(new int[] {0, A}, t.encode("a"), "exactly one BOS: lorakit's, not the template's too");
        }
    }

    @Test
    void templateAloneGivesBothBosIdAndAddBos() throws IOException {
        tokenizerWith(TokenizerFixtures.templatePrepending("<pad>", 2), null);  // no tokenizer_config.json
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertTrue(t.addsBos());
            assertEquals(OptionalInt.of(2), t.bosId());
            assertArrayEquals(new int[] {2, A}, t.encode("a"));
            assertEquals(OptionalInt.empty(), t.eosId());
            assertEquals(List.of(), t.eosIds());
            assertThrows(BadInputException.class, () -> t.encode("a", false, true));
        }
    }

    @Test
    void configAddBosFalseOverridesTheTemplate() throws IOException {
        tokenizerWith(TokenizerFixtures.templatePrepending("<s>", 0), Map.of("add_bos_token", false));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertFalse(t.addsBos());
            assertEquals(OptionalInt.of(0), t.bosId());
            assertArrayEquals(new int[] {A}, t.encode("a"), "the library's template must not apply");
            assertArrayEquals(new int[] {0, A}, t.encode("a", true, false));
        }
    }

    @Test
    void noTemplateAndNoConfigMeansNoBos() throws IOException {
        tokenizerWith(null, null);
        try (TextTokenizer t = TextTokenizer.load(dir.resolve("tokenizer.json"))) {
            assertFalse(t.addsBos());
            assertEquals(OptionalInt.empty(), t.bosId());
            assertArrayEquals(new int[] {A}, t.encode("a"));
            assertThrows(BadInputException.class, () -> t.encode("a", true, false));
        }
    }

    @Test
    void modelConfigIdsTakePrecedence() throws IOException {
        tokenizerWith(TokenizerFixtures.templatePrepending("<s>", 0),
                Map.of("bos_token", "<s>", "eos_token", "</s>", "pad_token", "<pad>"));
        SpecialTokenIds fromConfig = SpecialTokenIds.of(B, List.of(A, 2), 1);
        try (TextTokenizer t = TextTokenizer.load(dir, fromConfig)) {
            assertEquals(OptionalInt.of(B), t.bosId());
            assertArrayEquals(new int[] {B, A}, t.encode("a"));
            assertEquals(List.of(A, 2, 1), t.eosIds(), "config ids first, then tokenizer_config's eos_token");
            assertEquals(OptionalInt.of(1), t.eosId(), "the appended EOS is tokenizer_config's eos_token");
            assertEquals(OptionalInt.of(1), t.padId());
            assertArrayEquals(new int[] {B, A, 1}, t.encode("a", true, true));
            assertArrayEquals(new int[] {B, A, 1}, t.encode("a</s>", true, true), "no second EOS");
        }
        try (TextTokenizer t = TextTokenizer.load(dir, SpecialTokenIds.NONE)) {
            assertEquals(OptionalInt.of(0), t.bosId());
            assertEquals(OptionalInt.of(1), t.eosId());
            assertEquals(List.of(1), t.eosIds());
            assertEquals(OptionalInt.of(2), t.padId());
        }
    }

    @Test
    void eosFromModelConfigAloneIsAppendedFirstId() throws IOException {
        tokenizerWith(null, null);
        try (TextTokenizer t = TextTokenizer.load(dir, SpecialTokenIds.of(null, List.of(2, 1), null))) {
            assertEquals(OptionalInt.of(2), t.eosId());
            assertEquals(List.of(2, 1), t.eosIds());
            assertArrayEquals(new int[] {A, 2}, t.encode("a", false, true));
        }
    }

    @Test
    void modelConfigIdOutsideTheVocabularyIsBadInput() throws IOException {
        tokenizerWith(null, null);
        BadInputException e = assertBadInput(dir.resolve("tokenizer.json"),
                () -> TextTokenizer.load(dir, SpecialTokenIds.of(null, List.of(1, 259), null)));
        assertTrue(e.getMessage().contains("eos_token_id 259"), e.getMessage());
        assertBadInput(dir.resolve("tokenizer.json"), () -> TextTokenizer.load(dir, SpecialTokenIds.of(-1, null, null)));
    }

    @Test
    void chatTemplateFromConfigListOrJinjaFile() throws IOException {
        tokenizerWith(null, Map.of("chat_template", "{{ messages }}"));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertEquals(Optional.of("{{ messages }}"), t.chatTemplate());
        }
        tokenizerWith(null, Map.of("chat_template", List.of(Map.of("name", "tool_use", "template", "T"),
                Map.of("name", "default", "template", "D"))));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertEquals(Optional.of("D"), t.chatTemplate());
        }
        tokenizerWith(null, Map.of());
        Files.writeString(dir.resolve("chat_template.jinja"), "{% for m in messages %}{{ m.content }}{% endfor %}");
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertEquals(Optional.of("{% for m in messages %}{{ m.content }}{% endfor %}"), t.chatTemplate());
        }
        tokenizerWith(null, Map.of("chat_template", 42));
        assertBadInput(dir.resolve("tokenizer_config.json"), () -> TextTokenizer.load(dir));
    }

    @Test
    void bosTokenAsAddedTokenObject() throws IOException {
        tokenizerWith(null, Map.of("add_bos_token", true, "bos_token", Map.of("content", "</s>", "special", true)));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertEquals(OptionalInt.of(1), t.bosId());
            assertArrayEquals(new int[] {1, A}, t.encode("a"));
        }
    }

    @Test
    void tokenLookups() throws IOException {
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir))) {
            assertEquals("<0x61>", t.tokenToString(A));
            assertThrows(IllegalArgumentException.class, () -> t.tokenToString(259));
            assertThrows(IllegalArgumentException.class, () -> t.tokenToString(-1));
            assertEquals(OptionalInt.of(1), t.idOf("</s>"));
            assertEquals(OptionalInt.empty(), t.idOf("a"));
            assertEquals(dir.resolve("tokenizer.json"), t.tokenizerFile());
            assertEquals("a", t.decode(new int[] {A, 100_000}), "unknown ids decode to nothing");
        }
    }

    @Test
    void closeIsIdempotentAndLaterUseFails() throws IOException {
        TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir));
        StreamingDecoder stream = t.streamingDecoder(true);
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, () -> t.encode("a"));
        assertThrows(IllegalStateException.class, () -> t.decode(new int[] {A}));
        assertThrows(IllegalStateException.class, () -> stream.push(A));
        assertEquals("<0x61>", t.tokenToString(A), "vocabulary lookups need no native state");
    }

    @Test
    void sentencePieceStyleTokenizerRoundTripsAndUsesItsTemplate() throws IOException {
        TokenizerFixtures.write(dir.resolve("tokenizer.json"), TokenizerFixtures.sentencePieceStyle(TokenizerFixtures.SP_WORDS));
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertTrue(t.addsBos());
            assertEquals(OptionalInt.of(1), t.bosId());
            int[] ids = t.encode("Hello world café 日本語 ✓");
            assertEquals("<s>", t.tokenToString(ids[0]));
            assertEquals(List.of("▁Hello", "▁world", "▁café", "▁日本", "語", "▁", "<0xE2>", "<0x9C>", "<0x93>"),
                    Arrays.stream(ids, 1, ids.length).mapToObj(t::tokenToString).toList());
            assertEquals("Hello world café 日本語 ✓", t.decode(ids, true));
            assertEquals("  two leading spaces", t.decode(t.encode("  two leading spaces"), true));
        }
    }
}
