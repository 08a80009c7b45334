package dev.lorakit.io.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.BadInputException;
import java.util.Optional;

/**
 * The fields of a tokenizer_config.json that lorakit uses: whether to add a BOS token, the
 * BOS/EOS/PAD token strings and the raw chat template. Every field is optional; a file that is
 * absent reads as all fields absent.
 *
 * @param addBosToken  "add_bos_token", if present
 * @param bosToken     "bos_token" (a string or an AddedToken object's "content"), if set
 * @param eosToken     "eos_token", if set
 * @param padToken     "pad_token", if set
 * @param chatTemplate "chat_template" (a string, or the entry named "default" of a list), if set
 */
record TokenizerConfigFacts(Optional<Boolean> addBosToken, Optional<String> bosToken, Optional<String> eosToken,
                            Optional<String> padToken, Optional<String> chatTemplate) {

    static final TokenizerConfigFacts ABSENT = new TokenizerConfigFacts(Optional.empty(), Optional.empty(),
            Optional.empty(), Optional.empty(), Optional.empty());

    /** Reads the fields from the parsed tokenizer_config.json; {@code where} names the file in errors. */
    static TokenizerConfigFacts read(JsonNode root, String where) {
        if (!root.isObject()) {
            throw new BadInputException(where + ": must be a JSON object");
        }
        Optional<Boolean> addBos = Optional.empty();
        JsonNode add = root.get("add_bos_token");
        if (add != null && !add.isNull()) {
            if (!add.isBoolean()) {
                throw new BadInputException(where + ": field \"add_bos_token\" must be true or false, got " + add);
            }
            addBos = Optional.of(add.asBoolean());
        }
        return new TokenizerConfigFacts(addBos, tokenField(root, "bos_token", where),
                tokenField(root, "eos_token", where), tokenField(root, "pad_token", where),
                chatTemplate(root.get("chat_template"), where));
    }

    /** A special-token field: null, a string, or an AddedToken object {"content": ...}. */
    private static Optional<String> tokenField(JsonNode root, String field, String where) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (v.isTextual()) {
            return Optional.of(v.asText());
        }
        if (v.isObject() && v.path("content").isTextual()) {
            return Optional.of(v.get("content").asText());
        }
        throw new BadInputException(where + ": field \"" + field
                + "\" must be a token string or an object with a \"content\" string, got " + v);
    }

    static Optional<String> chatTemplate(JsonNode v, String where) {
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (v.isTextual()) {
            return Optional.of(v.asText());
        }
        if (v.isArray()) {  // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
            for (JsonNode named : v) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    return Optional.of(named.get("template").asText());
                }
            }
            return Optional.empty();
        }
        throw new BadInputException(where + ": field \"chat_template\" must be a string or a list of"
                + " {\"name\", \"template\"} objects, got " + v.getNodeType());
    }
}
