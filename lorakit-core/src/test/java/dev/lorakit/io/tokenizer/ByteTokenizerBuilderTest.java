package dev.lorakit.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ByteTokenizerBuilderTest {
    @TempDir
    Path dir;

    @Test
    void layoutIsSpecialsThenTheBytes() throws IOException {
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir))) {
            assertEquals(259, t.vocabSize());
            assertEquals(ByteTokenizerBuilder.VOCAB_SIZE, t.vocabSize());
            assertEquals("<s>", t.tokenToString(0));
            assertEquals("</s>", t.tokenToString(1));
            assertEquals("<pad>", t.tokenToString(2));
            for (int b = 0; b < 256; b++) {
                assertEquals(String.format("<0x%02X>", b), t.tokenToString(3 + b));
                assertEquals(OptionalInt.of(3 + b), t.idOf(String.format("<0x%02X>", b)));
                assertEquals(3 + b, ByteTokenizerBuilder.idOfByte(b));
                assertFalse(t.isSpecial(3 + b));
            }
            assertTrue(t.isSpecial(0) && t.isSpecial(1) && t.isSpecial(2));
            assertTrue(t.addsBos());
            assertEquals(OptionalInt.of(0), t.bosId());
            assertEquals(OptionalInt.of(1), t.eosId());
            assertEquals(List.of(1), t.eosIds());
            assertEquals(OptionalInt.of(2), t.padId());
            assertEquals(Optional.empty(), t.chatTemplate());
        }
    }

    /** Any UTF-8 text encodes to exactly its bytes (+3), with BOS in front, and decodes back exactly. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void roundTripsArbitraryUtf8(long seed) throws IOException {
        Random random = new Random(seed);
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir))) {
            for (int i = 0; i < 100; i++) {
                String text = i % 2 == 0 ? RandomTexts.next(random, 30) : randomCodePoints(random, random.nextInt(40));
                byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
                int[] expected = IntStream.range(0, utf8.length).map(k -> 3 + (utf8[k] & 0xFF)).toArray();
                assertArrayEquals(expected, ByteTokenizerBuilder.idsOfText(text));
                assertArrayEquals(expected, t.encode(text, false, false), text);
                int[] withBos = t.encode(text);
                assertEquals(0, withBos[0]);
                assertArrayEquals(expected, Arrays.copyOfRange(withBos, 1, withBos.length));
                assertEquals(text, t.decode(withBos, true));
                assertEquals("<s>" + text, t.decode(withBos, false));
                int[] withEos = t.encode(text, true, true);
                assertEquals(1, withEos[withEos.length - 1]);
                assertEquals(text, t.decode(withEos, true));
            }
        }
    }

    @Test
    void controlCharactersAndNulRoundTrip() throws IOException {
        String text = "\u0000\u0001\t\r\n\u007f\u0080\u00ff\uffff\ud800\udc00";
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir))) {
            assertArrayEquals(ByteTokenizerBuilder.idsOfText(text), t.encode(text, false, false));
            assertEquals(text, t.decode(t.encode(text), true));
        }
    }

    @Test
    void specialTokenStringsInTextEncodeToTheirSpecialIds() throws IOException {
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir))) {
            assertArrayEquals(new int[] {0, 3 + 'a', 1, 2}, t.encode("<s>a</s><pad>", false, false));
            // A text that already starts with BOS does not get a second one.
            assertArrayEquals(new int[] {0, 3 + 'a'}, t.encode("<s>a"));
        }
    }

    @Test
    void invalidBytesDecodeToReplacementCharacters() throws IOException {
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir))) {
            assertEquals("\uFFFD", t.decode(new int[] {ByteTokenizerBuilder.idOfByte(0xE2)}));
            // The library's ByteFallback decoder replaces every byte of an invalid run of byte tokens,
            // valid ones included.
            assertEquals("\uFFFD\uFFFD\uFFFD", t.decode(new int[] {ByteTokenizerBuilder.idOfByte(0xE2),
                ByteTokenizerBuilder.idOfByte(0x82), ByteTokenizerBuilder.idOfByte('A')}));
            assertEquals("€", t.decode(new int[] {ByteTokenizerBuilder.idOfByte(0xE2),
                ByteTokenizerBuilder.idOfByte(0x82), ByteTokenizerBuilder.idOfByte(0xAC)}));
        }
    }

    @Test
    void optionsReachTheConfig() throws IOException {
        String template = "{% for m in messages %}{{ m['content'] }}</s>{% endfor %}";
        new ByteTokenizerBuilder().addBosToken(false).chatTemplate(template).writeTo(dir);
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertFalse(t.addsBos());
            assertArrayEquals(new int[] {3 + 'h', 3 + 'i'}, t.encode("hi"));
            assertEquals(Optional.of(template), t.chatTemplate());
            assertEquals(OptionalInt.of(0), t.bosId());
        }
        // Rewriting replaces both files atomically.
        new ByteTokenizerBuilder().writeTo(dir);
        try (TextTokenizer t = TextTokenizer.load(dir)) {
            assertTrue(t.addsBos());
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of("tokenizer.json", "tokenizer_config.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void idOfByteRejectsNonBytes() {
        assertThrows(IllegalArgumentException.class, () -> ByteTokenizerBuilder.idOfByte(256));
        assertThrows(IllegalArgumentException.class, () -> ByteTokenizerBuilder.idOfByte(-1));
    }

    static String randomCodePoints(Random random, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int cp;
            do {
                cp = random.nextInt(random.nextBoolean() ? 0x80 : 0x110000);
            } while (cp >= 0xD800 && cp <= 0xDFFF || cp == '<');
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }
}
