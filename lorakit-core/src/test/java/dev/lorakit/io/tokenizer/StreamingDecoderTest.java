package dev.lorakit.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StreamingDecoderTest {
    @TempDir
    Path dir;

    enum Kind { GPT2_BYTE_LEVEL_BPE, BYTE_FALLBACK, SENTENCEPIECE_STYLE, METASPACE_STYLE }

    static List<Arguments> kindsAndSeeds() {
        List<Arguments> args = new ArrayList<>();
        for (Kind kind : Kind.values()) {
            for (long seed = 1; seed <= 4; seed++) {
                args.add(Arguments.of(kind, seed));
            }
        }
        return args;
    }

    private TextTokenizer open(Kind kind) throws IOException {
        return switch (kind) {
            case GPT2_BYTE_LEVEL_BPE -> TextTokenizer.load(TokenizerFixtures.gpt2Dir());
            case BYTE_FALLBACK -> TextTokenizer.load(TokenizerFixtures.byteTokenizerDir(dir));
            case SENTENCEPIECE_STYLE -> {
                TokenizerFixtures.write(dir.resolve("tokenizer.json"),
                        TokenizerFixtures.sentencePieceStyle(TokenizerFixtures.SP_WORDS));
                yield TextTokenizer.load(dir);
            }
            case METASPACE_STYLE -> {
                TokenizerFixtures.write(dir.resolve("tokenizer.json"),
                        TokenizerFixtures.metaspaceStyle(TokenizerFixtures.SP_WORDS));
                yield TextTokenizer.load(dir);
            }
        };
    }

    /**
     * For random texts (emoji, CJK, accents, whitespace runs), optionally with BOS/EOS and a
     * special token between two texts, the streamed pieces concatenate to decode(all ids), with
     * and without skipping special tokens; no piece ends inside a character; nothing is held back
     * after the last token.
     */
    @ParameterizedTest
    @MethodSource("kindsAndSeeds")
    void streamedPiecesConcatenateToTheFullDecode(Kind kind, long seed) throws IOException {
        Random random = new Random(seed);
        try (TextTokenizer t = open(kind)) {
            for (int i = 0; i < 60; i++) {
                String text = RandomTexts.next(random, 25);
                int[] ids = t.encode(text, random.nextBoolean() && t.bosId().isPresent(),
                        random.nextBoolean() && t.eosId().isPresent());
                if (random.nextInt(4) == 0 && t.eosId().isPresent()) {
                    int[] more = t.encode(RandomTexts.next(random, 10), false, false);
                    int[] joined = IntStream.concat(IntStream.concat(IntStream.of(ids),
                            IntStream.of(t.eosId().getAsInt())), IntStream.of(more)).toArray();
                    ids = joined;
                }
                for (boolean skip : new boolean[] {false, true}) {
                    StreamingDecoder stream = t.streamingDecoder(skip);
                    StringBuilder all = new StringBuilder();
                    for (int id : ids) {
                        String piece = stream.push(id);
                        assertWholeCharacters(piece, text);
                        all.append(piece);
                    }
                    assertEquals("", stream.finish(), "text held back after the last token of " + quoted(text));
                    assertEquals(t.decode(ids, skip), all.toString(), kind + " skip=" + skip + " " + quoted(text));
                    assertEquals(ids.length, stream.tokenCount());
                }
                // Metaspace with prepend_scheme "first" adds no "▁" before a leading space, and the
                // decoder then strips that space: the tokenizer itself loses it (as in Hugging Face).
                if (kind != Kind.METASPACE_STYLE || !text.startsWith(" ")) {
                    assertEquals(text, t.decode(t.encode(text, false, false)), kind + " round trip " + quoted(text));
                }
            }
        }
    }

    private static void assertWholeCharacters(String piece, String text) {
        if (piece.isEmpty()) {
            return;
        }
        assertFalse(Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "piece ends in half a surrogate pair");
        assertFalse(Character.isLowSurrogate(piece.charAt(0)), "piece starts with half a surrogate pair");
        assertTrue(piece.indexOf('\uFFFD') < 0, "piece " + quoted(piece) + " has U+FFFD while streaming " + quoted(text));
    }

    @Test
    void aCharacterSplitOverByteTokensIsReleasedWhenComplete() throws IOException {
        try (TextTokenizer t = open(Kind.BYTE_FALLBACK)) {
            StreamingDecoder stream = t.streamingDecoder(true);
            int[] ids = ByteTokenizerBuilder.idsOfText("😀!");
            assertEquals(5, ids.length);
            List<String> pieces = new ArrayList<>();
            for (int id : ids) {
                pieces.add(stream.push(id));
            }
            assertEquals(List.of("", "", "", "😀", "!"), pieces);
        }
    }

    @Test
    void byteLevelBpeEmojiSplitAcrossTwoTokens() throws IOException {
        try (TextTokenizer t = open(Kind.GPT2_BYTE_LEVEL_BPE)) {
            int[] ids = t.encode("😀", false, false);
            assertEquals(2, ids.length);
            assertEquals("\uFFFD", t.decode(new int[] {ids[0]}), "first token alone is half a character");
            StreamingDecoder stream = t.streamingDecoder(false);
            assertEquals("", stream.push(ids[0]));
            assertEquals("😀", stream.push(ids[1]));
        }
    }

    @Test
    void sentencePieceLeadingSpacesSurviveStreaming() throws IOException {
        try (TextTokenizer t = open(Kind.SENTENCEPIECE_STYLE)) {
            int[] ids = t.encode("Hello world");
            assertEquals(List.of("<s>", "▁Hello", "▁world"), IntStream.of(ids).mapToObj(t::tokenToString).toList());
            // Decoding "▁world" alone loses its space (the Strip decoder), which is why the stream
            // decodes it together with the token before.
            assertEquals("world", t.decode(new int[] {ids[2]}));
            StreamingDecoder skipping = t.streamingDecoder(true);
            assertEquals(List.of("", "Hello", " world"),
                    IntStream.of(ids).mapToObj(skipping::push).toList());
            StreamingDecoder keeping = t.streamingDecoder(false);
            assertEquals(List.of("<s>", " Hello", " world"),
                    IntStream.of(ids).mapToObj(keeping::push).toList());
            assertEquals("<s> Hello world", t.decode(ids));
        }
    }

    @Test
    void finishFlushesAnIncompleteCharacter() throws IOException {
        try (TextTokenizer t = open(Kind.BYTE_FALLBACK)) {
            StreamingDecoder stream = t.streamingDecoder(true);
            assertEquals("a", stream.push(ByteTokenizerBuilder.idOfByte('a')));
            assertEquals("", stream.push(ByteTokenizerBuilder.idOfByte(0xE2)));
            assertEquals("", stream.push(ByteTokenizerBuilder.idOfByte(0x82)));
            assertEquals("\uFFFD\uFFFD", stream.finish());
            assertEquals("", stream.finish());
        }
    }

    /** Invalid bytes are not held forever: after 4 pending tokens they are released as they decode. */
    @Test
    void garbageBytesStillStream() throws IOException {
        try (TextTokenizer t = open(Kind.BYTE_FALLBACK)) {
            StreamingDecoder stream = t.streamingDecoder(true);
            int lone = ByteTokenizerBuilder.idOfByte(0x80);  // a continuation byte with no lead byte
            assertEquals("ok", stream.push(ByteTokenizerBuilder.idOfByte('o')) + stream.push(ByteTokenizerBuilder.idOfByte('k')));
            assertEquals("", stream.push(lone));
            assertEquals("", stream.push(lone));
            assertEquals("", stream.push(lone));
            assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", stream.push(lone));
            assertEquals("", stream.push(lone));
            assertEquals("\uFFFD", stream.finish());
            // A valid character after garbage: the library replaces the whole byte run.
            StreamingDecoder again = t.streamingDecoder(true);
            again.push(lone);
            StringBuilder out = new StringBuilder();
            for (int id : ByteTokenizerBuilder.idsOfText("é")) {
                out.append(again.push(id));
            }
            out.append(again.finish());
            assertEquals(t.decode(new int[] {lone, ByteTokenizerBuilder.idOfByte(0xC3), ByteTokenizerBuilder.idOfByte(0xA9)}),
                    out.toString());
        }
    }

    private static String quoted(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0xA0) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.append('"').toString();
    }
}
