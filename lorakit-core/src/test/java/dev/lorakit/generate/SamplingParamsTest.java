package dev.lorakit.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class SamplingParamsTest {

    @Test
    void defaultsDecodeGreedilyWithEveryFilterOff() {
        SamplingParams p = SamplingParams.DEFAULTS;
        assertTrue(p.greedy());
        assertEquals(new SamplingParams(0, 0, 1, 0, 1, 0, 256, List.of()), p);
    }

    @Test
    void invalidValuesNameTheOption() {
        SamplingParams p = SamplingParams.DEFAULTS;
        assertMessage("--top-p must be in (0, 1], got 1.5", () -> p.withTopP(1.5));
        assertMessage("--top-p must be in (0, 1], got 0.0", () -> p.withTopP(0));
        assertMessage("--temperature must be a finite number >= 0 (0 = greedy), got -0.5", () -> p.withTemperature(-0.5));
        assertMessage("--temperature must be a finite number >= 0 (0 = greedy), got NaN", () -> p.withTemperature(Double.NaN));
        assertMessage("--top-k must be an integer >= 0 (0 = off), got -1", () -> p.withTopK(-1));
        assertMessage("--min-p must be in [0, 1] (0 = off), got 1.5", () -> p.withMinP(1.5));
        assertMessage("--repetition-penalty must be a finite number > 0 (1 = off), got 0.0", () -> p.withRepetitionPenalty(0));
        assertMessage("--max-new-tokens must be a positive integer, got 0", () -> p.withMaxNewTokens(0));
        assertMessage("--stop must be a non-empty string, got \"\"", () -> p.withStopStrings(List.of("x", "")));
    }

    private static void assertMessage(String message, Executable action) {
        assertEquals(message, assertThrows(BadInputException.class, action).getMessage());
    }

    @Test
    void stopStringsAreCopied() {
        List<String> stops = new ArrayList<>(List.of("###"));
        SamplingParams p = SamplingParams.DEFAULTS.withStopStrings(stops);
        stops.add("x");
        assertEquals(List.of("###"), p.stopStrings());
    }

    @Test
    void generationConfigSamplesOnlyWithDoSample() {
        GenerationConfig llama3 = new GenerationConfig(128000, List.of(128001, 128009), null, 0.6, 0.9, null, null,
                null, true, null);
        SamplingParams p = SamplingParams.fromGenerationConfig(llama3);
        assertEquals(0.6, p.temperature());
        assertEquals(0.9, p.topP());
        assertEquals(50, p.topK());  // transformers' default when the file sets none
        assertEquals(1.0, p.repetitionPenalty());

        GenerationConfig greedy = new GenerationConfig(null, List.of(), null, 0.7, 0.8, 20, 64, null, null, 1.1);
        SamplingParams g = SamplingParams.fromGenerationConfig(greedy);
        assertTrue(g.greedy());
        assertEquals(0, g.topK());
        assertEquals(1.0, g.topP());
        assertEquals(1.1, g.repetitionPenalty());
        assertEquals(64, g.maxNewTokens());
        assertEquals(SamplingParams.DEFAULTS, SamplingParams.fromGenerationConfig(GenerationConfig.EMPTY));
    }
}
