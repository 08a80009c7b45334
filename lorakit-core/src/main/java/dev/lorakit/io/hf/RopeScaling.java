package dev.lorakit.io.hf;

import dev.lorakit.BadInputException;

/**
 * How a model stretches its rotary position embedding beyond the trained context
 * (config.json {@code rope_scaling}). Only the kinds lorakit implements exist here; the
 * "default" kind is represented by no scaling at all (a null {@code ModelConfig.ropeScaling}).
 *
 * <ul>
 *   <li>{@link Kind#LINEAR}: every inverse frequency is divided by {@code factor}.</li>
 *   <li>{@link Kind#LLAMA3}: Llama 3.1's piecewise rule: wavelengths shorter than
 *       {@code original_max_position_embeddings / high_freq_factor} are kept, longer than
 *       {@code original_max_position_embeddings / low_freq_factor} are divided by
 *       {@code factor}, and those in between are interpolated smoothly.</li>
 * </ul>
 *
 * @param kind the rule
 * @param factor the stretch factor, at least 1
 * @param lowFreqFactor LLAMA3 only (NaN for LINEAR)
 * @param highFreqFactor LLAMA3 only, greater than lowFreqFactor (NaN for LINEAR)
 * @param originalMaxPositionEmbeddings LLAMA3 only, the pre-extension context (0 for LINEAR)
 */
public record RopeScaling(Kind kind, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {

    /** The supported rules, with their config.json names. */
    public enum Kind {
        LINEAR("linear"),
        LLAMA3("llama3");

        private final String jsonName;

        Kind(String jsonName) {
            this.jsonName = jsonName;
        }

        /** The {@code rope_type} value. */
        public String jsonName() {
            return jsonName;
        }
    }

    /**
     * Validates; messages name the config.json field ({@code rope_scaling.factor}, ...).
     *
     * @throws BadInputException for a factor below 1 or, for LLAMA3, non-positive or unordered
     *     frequency factors or a non-positive original context
     */
    public RopeScaling {
        if (kind == null) {
            throw new BadInputException("field \"rope_scaling.rope_type\" must be \"linear\" or \"llama3\", got null");
        }
        if (!(factor >= 1) || Double.isInfinite(factor)) {
            throw new BadInputException("field \"rope_scaling.factor\" must be a finite number >= 1, got " + factor);
        }
        if (kind == Kind.LLAMA3) {
            if (!(lowFreqFactor > 0) || Double.isInfinite(lowFreqFactor)) {
                throw new BadInputException("field \"rope_scaling.low_freq_factor\" must be a finite number > 0, got "
                        + lowFreqFactor);
            }
            if (!(highFreqFactor > lowFreqFactor) || Double.isInfinite(highFreqFactor)) {
                throw new BadInputException("field \"rope_scaling.high_freq_factor\" must be a finite number greater than "
                        + "low_freq_factor " + lowFreqFactor + ", got " + highFreqFactor);
            }
            if (originalMaxPositionEmbeddings <= 0) {
                throw new BadInputException("field \"rope_scaling.original_max_position_embeddings\" must be a positive "
                        + "integer, got " + originalMaxPositionEmbeddings);
            }
        }
    }

    /** Linear scaling by {@code factor}. */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Kind.LINEAR, factor, Double.NaN, Double.NaN, 0);
    }

    /** Llama 3.1 scaling. */
    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor,
                                     int originalMaxPositionEmbeddings) {
        return new RopeScaling(Kind.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }

    /** Writes the config.json form: rope_type, factor and, for llama3, its three parameters. */
    public void writeTo(com.fasterxml.jackson.databind.node.ObjectNode r) {
        r.put("rope_type", kind.jsonName());
        r.put("factor", factor);
        if (kind == Kind.LLAMA3) {
            r.put("low_freq_factor", lowFreqFactor);
            r.put("high_freq_factor", highFreqFactor);
            r.put("original_max_position_embeddings", originalMaxPositionEmbeddings);
        }
    }
}
