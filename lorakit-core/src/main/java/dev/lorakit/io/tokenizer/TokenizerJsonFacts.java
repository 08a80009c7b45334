package dev.lorakit.io.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.BadInputException;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * What lorakit reads from a tokenizer.json itself (the encoding and decoding are left to the
 * native library): the id of every token, which tokens are special, and the special token the
 * post_processor would put in front of a single sequence (Llama 2's {@code <s>}, Llama 3's
 * {@code <|begin_of_text|>}), if any.
 */
final class TokenizerJsonFacts {
    private final String[] tokenById;
    private final boolean[] specialById;
    private final Map<String, Integer> idByToken;
    private final OptionalInt templatePrefixId;

    private TokenizerJsonFacts(String[] tokenById, boolean[] specialById, Map<String, Integer> idByToken,
                               OptionalInt templatePrefixId) {
        this.tokenById = tokenById;
        this.specialById = specialById;
        this.idByToken = idByToken;
        this.templatePrefixId = templatePrefixId;
    }

    /** Reads the facts from the parsed tokenizer.json; {@code where} names the file in errors. */
    static TokenizerJsonFacts read(JsonNode root, String where) {
        if (!root.isObject()) {
            throw new BadInputException(where + ": must be a JSON object (a Hugging Face tokenizer.json)");
        }
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw new BadInputException(where + ": missing \"model\" object (is this a Hugging Face tokenizer.json?)");
        }
        Map<String, Integer> idByToken = new HashMap<>();
        Map<Integer, String> tokenByIdMap = new HashMap<>();
        Map<Integer, Boolean> special = new HashMap<>();
        readModelVocab(model.get("vocab"), where, idByToken, tokenByIdMap);
        JsonNode added = root.get("added_tokens");
        if (added != null && !added.isNull()) {
            if (!added.isArray()) {
                throw new BadInputException(where + ": \"added_tokens\" must be an array");
            }
            for (JsonNode t : added) {
                JsonNode id = t.get("id");
                JsonNode content = t.get("content");
                if (id == null || !id.canConvertToInt() || id.asInt() < 0 || content == null || !content.isTextual()) {
                    throw new BadInputException(where + ": every \"added_tokens\" entry needs a non-negative"
                            + " integer \"id\" and a string \"content\", got " + t);
                }
                // Added tokens take precedence over the model's vocabulary, as in the library.
                idByToken.put(content.asText(), id.asInt());
                tokenByIdMap.put(id.asInt(), content.asText());
                special.put(id.asInt(), t.path("special").asBoolean(false));
            }
        }
        if (tokenByIdMap.isEmpty()) {
            throw new BadInputException(where + ": the vocabulary is empty");
        }
        int size = tokenByIdMap.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow() + 1;
        String[] tokenById = new String[size];
        boolean[] specialById = new boolean[size];
        tokenByIdMap.forEach((id, token) -> tokenById[id] = token);
        special.forEach((id, isSpecial) -> specialById[id] = isSpecial);
        OptionalInt prefix = templatePrefix(root.get("post_processor"), where, idByToken);
        return new TokenizerJsonFacts(tokenById, specialById, idByToken, prefix);
    }

    private static void readModelVocab(JsonNode vocab, String where, Map<String, Integer> idByToken,
                                       Map<Integer, String> tokenById) {
        if (vocab == null || vocab.isNull()) {
            throw new BadInputException(where + ": missing \"model.vocab\"");
        }
        if (vocab.isObject()) {  // BPE, WordPiece, WordLevel: {"token": id, ...}
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                    throw new BadInputException(where + ": \"model.vocab\" id of token " + quote(e.getKey())
                            + " must be a non-negative integer, got " + e.getValue());
                }
                idByToken.put(e.getKey(), e.getValue().asInt());
                tokenById.put(e.getValue().asInt(), e.getKey());
            }
        } else if (vocab.isArray()) {  // Unigram: [["piece", score], ...], id = position
            int id = 0;
            for (JsonNode entry : vocab) {
                JsonNode piece = entry.isArray() ? entry.get(0) : null;
                if (piece == null || !piece.isTextual()) {
                    throw new BadInputException(where + ": \"model.vocab\" entry " + id
                            + " must be a [piece, score] pair, got " + entry);
                }
                idByToken.putIfAbsent(piece.asText(), id);
                tokenById.put(id, piece.asText());
                id++;
            }
        } else {
            throw new BadInputException(where + ": \"model.vocab\" must be an object or an array, got "
                    + vocab.getNodeType());
        }
    }

    /**
     * The id of the special token a post_processor puts before a single sequence: the first
     * item of a TemplateProcessing "single" template when it is a SpecialToken, or the cls
     * token of Bert/Roberta processing; searched inside Sequence processors.
     */
    private static OptionalInt templatePrefix(JsonNode processor, String where, Map<String, Integer> idByToken) {
        if (processor == null || processor.isNull()) {
            return OptionalInt.empty();
        }
        switch (processor.path("type").asText()) {
            case "Sequence" -> {
                for (JsonNode p : processor.path("processors")) {
                    OptionalInt found = templatePrefix(p, where, idByToken);
                    if (found.isPresent()) {
                        return found;
                    }
                }
                return OptionalInt.empty();
            }
            case "TemplateProcessing" -> {
                JsonNode first = processor.path("single").path(0).get("SpecialToken");
                if (first == null) {
                    return OptionalInt.empty();
                }
                String name = first.path("id").asText();
                JsonNode ids = processor.path("special_tokens").path(name).path("ids");
                if (ids.isArray() && ids.size() == 1 && ids.get(0).canConvertToInt()) {
                    return OptionalInt.of(ids.get(0).asInt());
                }
                Integer id = idByToken.get(name);
                if (id == null) {
                    throw new BadInputException(where + ": post_processor template starts with special token "
                            + quote(name) + ", which is not in the vocabulary");
                }
                return OptionalInt.of(id);
            }
            case "BertProcessing", "RobertaProcessing" -> {
                JsonNode id = processor.path("cls").path(1);
                return id.canConvertToInt() ? OptionalInt.of(id.asInt()) : OptionalInt.empty();
            }
            default -> {
                return OptionalInt.empty();
            }
        }
    }

    /** One more than the largest id in the model vocabulary and the added tokens. */
    int vocabSize() {
        return tokenById.length;
    }

    /** The token string of {@code id}, or null if no token has that id. */
    String tokenOrNull(int id) {
        return id >= 0 && id < tokenById.length ? tokenById[id] : null;
    }

    boolean isSpecial(int id) {
        return id >= 0 && id < specialById.length && specialById[id];
    }

    OptionalInt idOf(String token) {
        Integer id = idByToken.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    OptionalInt templatePrefixId() {
        return templatePrefixId;
    }

    static String quote(String s) {
        return "\"" + s + "\"";
    }
}
