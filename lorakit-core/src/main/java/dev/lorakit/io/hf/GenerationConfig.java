package dev.lorakit.io.hf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Default sampling settings shipped with a model (generation_config.json). Every field is
 * optional (null when the file leaves it out); values are range-checked, and errors name the
 * file, the field, the value and what was expected. Other keys are ignored.
 *
 * @param bosTokenId beginning-of-sequence token
 * @param eosTokenIds end-of-sequence tokens (one or a list in the file), possibly empty
 * @param padTokenId padding token
 * @param temperature sampling temperature, >= 0
 * @param topP nucleus sampling mass, in (0, 1]
 * @param topK top-k cutoff, >= 0 (0 disables it)
 * @param maxNewTokens generation budget, >= 1
 * @param maxLength total length budget (prompt + generation), >= 1
 * @param doSample sample (true) or decode greedily (false)
 * @param repetitionPenalty penalty for repeated tokens, > 0 (1 disables it)
 */
public record GenerationConfig(
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        Double temperature,
        Double topP,
        Integer topK,
        Integer maxNewTokens,
        Integer maxLength,
        Boolean doSample,
        Double repetitionPenalty) {

    /** The file name in a Hugging Face directory. */
    public static final String FILE_NAME = "generation_config.json";

    /** A config that sets nothing. */
    public static final GenerationConfig EMPTY =
            new GenerationConfig(null, List.of(), null, null, null, null, null, null, null, null);

    public GenerationConfig {
        eosTokenIds = List.copyOf(Objects.requireNonNull(eosTokenIds, "eosTokenIds"));
        for (int id : eosTokenIds) {
            check(id >= 0, "eos_token_id", id, "a non-negative token id");
        }
        if (bosTokenId != null) {
            check(bosTokenId >= 0, "bos_token_id", bosTokenId, "a non-negative token id");
        }
        if (temperature != null) {
            check(temperature >= 0 && Double.isFinite(temperature), "temperature", temperature, "a finite number >= 0");
        }
        if (topP != null) {
            check(topP > 0 && topP <= 1, "top_p", topP, "a number in (0, 1]");
        }
        if (topK != null) {
            check(topK >= 0, "top_k", topK, "an integer >= 0");
        }
        if (maxNewTokens != null) {
            check(maxNewTokens >= 1, "max_new_tokens", maxNewTokens, "a positive integer");
        }
        if (maxLength != null) {
            check(maxLength >= 1, "max_length", maxLength, "a positive integer");
        }
        if (repetitionPenalty != null) {
            check(repetitionPenalty > 0 && Double.isFinite(repetitionPenalty), "repetition_penalty", repetitionPenalty,
                    "a finite number > 0");
        }
    }

    private static void check(boolean ok, String field, Object value, String expected) {
        if (!ok) {
            throw new BadInputException("field \"" + field + "\" must be " + expected + ", got " + value);
        }
    }

    /** Reads and validates a generation_config.json; messages start with its path. */
    public static GenerationConfig read(Path file) {
        return parse(ConfigJson.read(file));
    }

    /** Parses generation_config.json text; {@code where} names the file in messages. */
    public static GenerationConfig parse(String where, String json) {
        return parse(ConfigJson.parse(where, json));
    }

    private static GenerationConfig parse(ConfigJson c) {
        Integer bos = c.optionalInt("bos_token_id");
        List<Integer> eos = c.intOrIntList("eos_token_id");
        Integer pad = c.optionalInt("pad_token_id");
        Double temperature = c.optionalDouble("temperature");
        Double topP = c.optionalDouble("top_p");
        Integer topK = c.optionalInt("top_k");
        Integer maxNew = c.optionalInt("max_new_tokens");
        Integer maxLength = c.optionalInt("max_length");
        Boolean doSample = c.optionalBoolean("do_sample");
        Double penalty = c.optionalDouble("repetition_penalty");
        try {
            return new GenerationConfig(bos, eos, pad, temperature, topP, topK, maxNew, maxLength, doSample, penalty);
        } catch (BadInputException e) {
            throw new BadInputException(c.where() + ": " + e.getMessage());
        }
    }

    /** This config as Hugging Face writes it (only the fields that are set). */
    public String toJson() {
        ObjectNode o = ConfigJson.JSON.createObjectNode();
        if (bosTokenId != null) {
            o.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.getFirst());
        } else if (!eosTokenIds.isEmpty()) {
            ArrayNode eos = o.putArray("eos_token_id");
            eosTokenIds.forEach(eos::add);
        }
        if (padTokenId != null) {
            o.put("pad_token_id", padTokenId);
        }
        if (temperature != null) {
            o.put("temperature", temperature);
        }
        if (topP != null) {
            o.put("top_p", topP);
        }
        if (topK != null) {
            o.put("top_k", topK);
        }
        if (maxNewTokens != null) {
            o.put("max_new_tokens", maxNewTokens);
        }
        if (maxLength != null) {
            o.put("max_length", maxLength);
        }
        if (doSample != null) {
            o.put("do_sample", doSample);
        }
        if (repetitionPenalty != null) {
            o.put("repetition_penalty", repetitionPenalty);
        }
        return ConfigJson.format(o);
    }

    /** Writes generation_config.json atomically. */
    public void write(Path file) throws IOException {
        AtomicFiles.writeString(file, toJson());
    }
}
