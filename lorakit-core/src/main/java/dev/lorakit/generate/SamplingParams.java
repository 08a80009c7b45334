package dev.lorakit.generate;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.GenerationConfig;
import java.util.List;
import java.util.Objects;

/**
 * How to pick each generated token and when to stop: the settings of {@link Sampler} and of the
 * generation loop, validated. Errors name the command-line option, e.g.
 * {@code --top-p must be in (0, 1], got 1.5}.
 *
 * <p>Each filter has a value that turns it off, so the defaults ({@link #DEFAULTS}) decode greedily
 * with nothing else applied. The filters follow Hugging Face transformers' semantics and order:
 * repetition penalty, temperature, top-k, top-p, min-p, then a draw from what is left.
 *
 * @param temperature       divides the logits before sampling; 0 means greedy (argmax), > 0 samples
 * @param topK              keep only the k most likely tokens (ties with the k-th are kept too); 0 = off
 * @param topP              keep the smallest most-likely set whose probability reaches top_p; 1 = off
 * @param minP              drop tokens less likely than min_p times the most likely one; 0 = off
 * @param repetitionPenalty for each token id already in the context: logit > 0 ? logit / penalty
 *                          : logit * penalty; 1 = off
 * @param seed              seeds the sampler's random generator (same seed, same logits: same tokens)
 * @param maxNewTokens      at most this many tokens are generated
 * @param stopStrings       generation ends when the text contains one of these (it is not emitted)
 */
public record SamplingParams(double temperature, int topK, double topP, double minP, double repetitionPenalty,
                             long seed, int maxNewTokens, List<String> stopStrings) {

    /** Greedy decoding, no filters, seed 0, 256 new tokens, no stop strings. */
    public static final SamplingParams DEFAULTS = new SamplingParams(0, 0, 1, 0, 1, 0, 256, List.of());

    /** transformers' default top_k when sampling and generation_config.json does not set it. */
    static final int HF_DEFAULT_TOP_K = 50;

    public SamplingParams {
        Objects.requireNonNull(stopStrings, "stopStrings");
        check(Double.isFinite(temperature) && temperature >= 0, "--temperature",
                "must be a finite number >= 0 (0 = greedy)", temperature);
        check(topK >= 0, "--top-k", "must be an integer >= 0 (0 = off)", topK);
        check(topP > 0 && topP <= 1, "--top-p", "must be in (0, 1]", topP);
        check(minP >= 0 && minP <= 1, "--min-p", "must be in [0, 1] (0 = off)", minP);
        check(Double.isFinite(repetitionPenalty) && repetitionPenalty > 0, "--repetition-penalty",
                "must be a finite number > 0 (1 = off)", repetitionPenalty);
        check(maxNewTokens >= 1, "--max-new-tokens", "must be a positive integer", maxNewTokens);
        for (String stop : stopStrings) {
            if (stop == null || stop.isEmpty()) {
                throw new BadInputException("--stop must be a non-empty string, got "
                        + (stop == null ? "null" : "\"\""));
            }
        }
        stopStrings = List.copyOf(stopStrings);
    }

    private static void check(boolean ok, String option, String expected, Object value) {
        if (!ok) {
            throw new BadInputException(option + " " + expected + ", got " + value);
        }
    }

    /**
     * The model's own defaults from generation_config.json, the way transformers reads them:
     * without {@code do_sample: true} decoding is greedy; with it, temperature, top_p and top_k
     * come from the file, else transformers' defaults (1.0, 1.0, 50). The repetition penalty and
     * max_new_tokens apply either way. Seed and stop strings keep their defaults.
     */
    public static SamplingParams fromGenerationConfig(GenerationConfig config) {
        SamplingParams p = DEFAULTS;
        if (Boolean.TRUE.equals(config.doSample())) {
            p = p.withTemperature(config.temperature() != null ? config.temperature() : 1.0)
                    .withTopK(config.topK() != null ? config.topK() : HF_DEFAULT_TOP_K)
                    .withTopP(config.topP() != null ? config.topP() : 1.0);
        }
        if (config.repetitionPenalty() != null) {
            p = p.withRepetitionPenalty(config.repetitionPenalty());
        }
        if (config.maxNewTokens() != null) {
            p = p.withMaxNewTokens(config.maxNewTokens());
        }
        return p;
    }

    /** True when tokens are picked by argmax (temperature 0). */
    public boolean greedy() {
        return temperature == 0;
    }

    public SamplingParams withTemperature(double value) {
        return new SamplingParams(value, topK, topP, minP, repetitionPenalty, seed, maxNewTokens, stopStrings);
    }

    public SamplingParams withTopK(int value) {
        return new SamplingParams(temperature, value, topP, minP, repetitionPenalty, seed, maxNewTokens, stopStrings);
    }

    public SamplingParams withTopP(double value) {
        return new SamplingParams(temperature, topK, value, minP, repetitionPenalty, seed, maxNewTokens, stopStrings);
    }

    public SamplingParams withMinP(double value) {
        return new SamplingParams(temperature, topK, topP, value, repetitionPenalty, seed, maxNewTokens, stopStrings);
    }

    public SamplingParams withRepetitionPenalty(double value) {
        return new SamplingParams(temperature, topK, topP, minP, value, seed, maxNewTokens, stopStrings);
    }

    public SamplingParams withSeed(long value) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, value, maxNewTokens, stopStrings);
    }

    public SamplingParams withMaxNewTokens(int value) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, seed, value, stopStrings);
    }

    public SamplingParams withStopStrings(List<String> value) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, seed, maxNewTokens, value);
    }
}
