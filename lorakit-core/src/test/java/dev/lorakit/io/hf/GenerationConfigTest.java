package dev.lorakit.io.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** generation_config.json: every field optional, range-checked, round-tripped. */
class GenerationConfigTest {
    static final String WHERE = "/m/generation_config.json";

    static final String LLAMA31 = """
            {
              "bos_token_id": 128000,
              "do_sample": true,
              "eos_token_id": [128001, 128008, 128009],
              "temperature": 0.6,
              "top_p": 0.9,
              "transformers_version": "4.42.3"
            }
            """;

    @Test
    void llama31() {
        GenerationConfig g = GenerationConfig.parse(WHERE, LLAMA31);
        assertEquals(128000, g.bosTokenId());
        assertEquals(List.of(128001, 128008, 128009), g.eosTokenIds());
        assertEquals(0.6, g.temperature());
        assertEquals(0.9, g.topP());
        assertTrue(g.doSample());
        assertNull(g.topK());
        assertNull(g.maxNewTokens());
        assertNull(g.repetitionPenalty());
        assertNull(g.padTokenId());
    }

    @Test
    void allFieldsAndSingleEos() {
        GenerationConfig g = GenerationConfig.parse(WHERE, """
                {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "temperature": 0, "top_p": 1.0, "top_k": 40,
                 "max_new_tokens": 256, "max_length": 4096, "do_sample": false, "repetition_penalty": 1.1}
                """);
        assertEquals(new GenerationConfig(1, List.of(2), 0, 0.0, 1.0, 40, 256, 4096, false, 1.1), g);
        assertEquals(g, GenerationConfig.parse(WHERE, g.toJson()));
    }

    @Test
    void emptyObjectSetsNothing() {
        GenerationConfig g = GenerationConfig.parse(WHERE, "{}");
        assertEquals(GenerationConfig.EMPTY, g);
        assertEquals(GenerationConfig.EMPTY, GenerationConfig.parse(WHERE, g.toJson()));
    }

    @Test
    void roundTripsLlama31() {
        GenerationConfig g = GenerationConfig.parse(WHERE, LLAMA31);
        assertEquals(g, GenerationConfig.parse(WHERE, g.toJson()));
        assertFalse(g.toJson().contains("top_k"), "unset fields are not written");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"temperature\": -0.5|field \"temperature\" must be a finite number >= 0, got -0.5",
            "\"temperature\": \"hot\"|field \"temperature\" must be a number, got \"hot\"",
            "\"top_p\": 0|field \"top_p\" must be a number in (0, 1], got 0.0",
            "\"top_p\": 1.5|field \"top_p\" must be a number in (0, 1], got 1.5",
            "\"top_k\": -1|field \"top_k\" must be an integer >= 0, got -1",
            "\"top_k\": 2.5|field \"top_k\" must be an integer, got 2.5",
            "\"max_new_tokens\": 0|field \"max_new_tokens\" must be a positive integer, got 0",
            "\"max_length\": -4|field \"max_length\" must be a positive integer, got -4",
            "\"do_sample\": 1|field \"do_sample\" must be true or false, got 1",
            "\"repetition_penalty\": 0|field \"repetition_penalty\" must be a finite number > 0, got 0.0",
            "\"eos_token_id\": [1, -2]|field \"eos_token_id\" must be a non-negative token id, got -2",
            "\"eos_token_id\": \"</s>\"|field \"eos_token_id\" must be an integer or a list of integers, got \"</s>\"",
            "\"bos_token_id\": -1|field \"bos_token_id\" must be a non-negative token id, got -1"})
    void badValues(String field, String message) {
        BadInputException e = assertThrows(BadInputException.class, () -> GenerationConfig.parse(WHERE, "{" + field + "}"));
        assertEquals(WHERE + ": " + message, e.getMessage());
    }
}
