package dev.lorakit.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * lorakit's encode/decode over a real tokenizer (GPT-2's byte-level BPE, committed under
 * test resources tokenizers/gpt2) against token ids computed by an independent implementation
 * (gpt-3-encoder, cross-checked with @lenml/tokenizers; see tools/tokenizer-golden/make-golden.mjs).
 */
class TextTokenizerGoldenTest {
    @Test
    void encodeMatchesTheIndependentReferenceAndDecodeRoundTrips() throws IOException {
        JsonNode golden = TokenizerFixtures.JSON.readTree(TokenizerFixtures.gpt2Dir().resolve("golden.json").toFile());
        List<JsonNode> cases = StreamSupport.stream(golden.get("cases").spliterator(), false).toList();
        assertTrue(cases.size() >= 30, "golden.json has only " + cases.size() + " cases");
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.gpt2Dir())) {
            for (JsonNode c : cases) {
                String text = c.get("text").asText();
                int[] expected = StreamSupport.stream(c.get("ids").spliterator(), false).mapToInt(JsonNode::asInt).toArray();
                assertArrayEquals(expected, t.encode(text), "encode(" + TokenizerFixtures.JSON.writeValueAsString(text) + ")");
                assertEquals(text, t.decode(expected));
                assertEquals(text, t.decode(expected, true));
            }
        }
    }

    @Test
    void gpt2SpecialTokensAndVocabulary() {
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.gpt2Dir())) {
            assertEquals(50257, t.vocabSize());
            // tokenizer_config.json has no add_bos_token and the post_processor is ByteLevel (no
            // template), so GPT-2 encodes without BOS, as transformers does.
            assertFalse(t.addsBos());
            assertEquals(OptionalInt.of(50256), t.bosId());
            assertEquals(OptionalInt.of(50256), t.eosId());
            assertEquals(List.of(50256), t.eosIds());
            assertEquals(OptionalInt.empty(), t.padId());
            assertEquals("Hello", t.tokenToString(15496));
            assertEquals("Ġworld", t.tokenToString(995));
            assertEquals(OptionalInt.of(995), t.idOf("Ġworld"));
            assertEquals(OptionalInt.empty(), t.idOf("not a token"));
            assertTrue(t.isSpecial(50256));
            assertFalse(t.isSpecial(995));
            // The special token string in text is one token; EOS appended on request.
            assertArrayEquals(new int[] {15496, 50256, 995}, t.encode("Hello<|endoftext|> world"));
            assertArrayEquals(new int[] {15496, 995, 50256}, t.encode("Hello world", false, true));
            assertEquals("Hello world<|endoftext|>", t.decode(new int[] {15496, 995, 50256}));
            assertEquals("Hello world", t.decode(new int[] {15496, 995, 50256}, true));
        }
    }

    /** The library would truncate at 512 tokens unless told not to; lorakit never truncates. */
    @Test
    void longTextIsNotTruncated() {
        try (TextTokenizer t = TextTokenizer.load(TokenizerFixtures.gpt2Dir())) {
            String text = " Hello world".repeat(2000);
            int[] ids = t.encode(text);
            assertEquals(4000, ids.length);
            assertEquals(text, t.decode(ids));
        }
    }
}
