package dev.lorakit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.io.JsonLines;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JSONL training file, tokenized: every non-blank line one example, all in one of four formats
 * ({@link Format}); see {@link ExampleEncoder} for how each becomes ids and labels. Examples
 * longer than the sequence length lose their tail; examples left without a single loss target
 * are skipped. Both are counted ({@link Stats}) so the trainer can report them. Errors name the
 * file, the line and the field.
 *
 * @param path     the file
 * @param format   the examples' format
 * @param examples the kept examples, in file order, each at most {@code seqLen} tokens
 * @param lines    the file line (1-based) of each kept example
 * @param stats    what truncation and skipping did
 */
public record TrainingData(Path path, Format format, List<TrainingExample> examples, int[] lines, Stats stats) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The format of a training file; the key that selects it is named in {@link #key()}. */
    public enum Format {
        /** {"prompt": str, "completion": str}: loss on the completion and EOS. */
        PROMPT_COMPLETION("completion"),
        /** {"messages": [{"role", "content"}...]}: chat template; loss on assistant turns. */
        MESSAGES("messages"),
        /** {"text": str}: plain language modelling. */
        TEXT("text"),
        /** {"input_ids": [int], "labels": [int]}: pre-tokenized, Hugging Face label convention. */
        TOKENIZED("input_ids"),
        /**
         * A plain-text file ({@code .txt}, not JSON): every non-blank line is a paragraph,
         * tokenized like {"text"} (the tokenizer's BOS separates paragraphs and is never a
         * target), concatenated and cut into windows of --seq-len tokens (pretraining).
         */
        PACKED_TEXT("");

        private final String key;

        Format(String key) {
            this.key = key;
        }

        /** The JSON key whose presence selects this format. */
        public String key() {
            return key;
        }
    }

    /**
     * What reading did to the file's examples.
     *
     * @param lines             examples in the file (non-blank lines)
     * @param truncated         examples longer than the sequence length (their tails were dropped)
     * @param droppedTokens     tokens dropped by truncation, summed over the file
     * @param skipped           examples skipped because no loss target was left (after truncation)
     * @param tokens            tokens of the kept examples
     * @param targets           loss targets of the kept examples ({@link TrainingExample#targetCount()})
     */
    public record Stats(int lines, int truncated, long droppedTokens, int skipped, long tokens, long targets) {
    }

    public TrainingData {
        examples = List.copyOf(examples);
        if (lines.length != examples.size()) {
            throw new IllegalArgumentException(lines.length + " line numbers for " + examples.size() + " examples");
        }
    }

    /**
     * Reads, validates and tokenizes a .jsonl training file.
     *
     * @param path    the file
     * @param encoder the model's tokenizer, chat template and vocabulary
     * @param seqLen  the maximum tokens per example (the trainer's --seq-len)
     * @throws BadInputException for an unreadable file, bad JSON, a missing or mistyped field, a
     *                           second format in one file, or no example with a loss target
     */
    public static TrainingData read(Path path, ExampleEncoder encoder, int seqLen) {
        if (seqLen < 2) {
            throw new BadInputException("--seq-len must be at least 2 (one input and one target), got " + seqLen);
        }
        if (path.getFileName() != null && path.getFileName().toString().endsWith(".txt")) {
            return readPacked(path, encoder, seqLen);
        }
        List<JsonLines.Line> jsonLines = JsonLines.read(path);
        List<TrainingExample> examples = new ArrayList<>();
        List<Integer> lineNumbers = new ArrayList<>();
        Format format = null;
        int count = 0;
        int truncated = 0;
        int skipped = 0;
        long dropped = 0;
        long tokens = 0;
        long targets = 0;
        for (JsonLines.Line line : jsonLines) {
            String at = line.at();
            JsonNode node = line.node();
            int i = line.lineNumber() - 1;
            Format f = formatOf(at, node);
            if (format != null && f != format) {
                throw new BadInputException(at + ": a " + describe(f) + " example in a file of " + describe(format)
                        + " examples; use one format per file");
            }
            format = f;
            count++;
            TrainingExample ex;
            try {
                ex = encode(at, f, node, encoder);
            } catch (BadInputException e) {
                throw e.getMessage().startsWith(at) ? e : new BadInputException(at + ": " + e.getMessage(), e);
            }
            if (ex.length() > seqLen) {
                truncated++;
                dropped += ex.length() - seqLen;
                ex = ex.truncate(seqLen);
            }
            int n = ex.targetCount();
            if (n == 0) {
                skipped++;
                continue;
            }
            examples.add(ex);
            lineNumbers.add(i + 1);
            tokens += ex.length();
            targets += n;
        }
        if (count == 0) {
            throw new BadInputException(path + ": no examples (expected JSON lines with {\"prompt\",\"completion\"}, "
                    + "{\"messages\"}, {\"text\"} or {\"input_ids\",\"labels\"})");
        }
        if (examples.isEmpty()) {
            throw new BadInputException(path + ": none of its " + count + " examples has a token to learn"
                    + (truncated > 0 ? " within --seq-len " + seqLen + " (" + truncated + " were truncated)" : ""));
        }
        int[] lines = lineNumbers.stream().mapToInt(Integer::intValue).toArray();
        Stats stats = new Stats(count, truncated, dropped, skipped, tokens, targets);
        return new TrainingData(path, format, Collections.unmodifiableList(examples), lines, stats);
    }

    /**
     * A plain-text file packed into windows of {@code seqLen} tokens (see {@link Format#PACKED_TEXT});
     * {@code lines} then holds each window's first paragraph's line number.
     */
    private static TrainingData readPacked(Path path, ExampleEncoder encoder, int seqLen) {
        List<String> paragraphs;
        try {
            paragraphs = java.nio.file.Files.readAllLines(path, java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new BadInputException(path + ": not UTF-8 text");
        } catch (java.io.IOException e) {
            throw new BadInputException(path + ": cannot read (" + e.getMessage() + ")");
        }
        int[] ids = new int[1024];
        int[] labels = new int[1024];
        int[] lineOf = new int[1024]; // the line each token came from
        int n = 0;
        int count = 0;
        for (int i = 0; i < paragraphs.size(); i++) {
            String p = paragraphs.get(i);
            if (p.isBlank()) {
                continue;
            }
            count++;
            TrainingExample ex = encoder.text(p);
            int len = ex.length();
            if (n + len > ids.length) {
                int cap = Math.max(ids.length * 2, n + len);
                ids = java.util.Arrays.copyOf(ids, cap);
                labels = java.util.Arrays.copyOf(labels, cap);
                lineOf = java.util.Arrays.copyOf(lineOf, cap);
            }
            System.arraycopy(ex.inputIds(), 0, ids, n, len);
            System.arraycopy(ex.labels(), 0, labels, n, len);
            java.util.Arrays.fill(lineOf, n, n + len, i + 1);
            n += len;
        }
        if (count == 0) {
            throw new BadInputException(path + ": no text (a .txt training file holds one paragraph per line)");
        }
        List<TrainingExample> examples = new ArrayList<>();
        List<Integer> lineNumbers = new ArrayList<>();
        long targets = 0;
        int skipped = 0;
        for (int start = 0; start < n; start += seqLen) {
            int end = Math.min(n, start + seqLen);
            TrainingExample ex = new TrainingExample(java.util.Arrays.copyOfRange(ids, start, end),
                    java.util.Arrays.copyOfRange(labels, start, end));
            if (ex.targetCount() == 0) {
                skipped++;
                continue;
            }
            examples.add(ex);
            lineNumbers.add(lineOf[start]);
            targets += ex.targetCount();
        }
        if (examples.isEmpty()) {
            throw new BadInputException(path + ": too little text for one training window of --seq-len " + seqLen);
        }
        Stats stats = new Stats(count, 0, 0, skipped, n, targets);
        return new TrainingData(path, Format.PACKED_TEXT, Collections.unmodifiableList(examples),
                lineNumbers.stream().mapToInt(Integer::intValue).toArray(), stats);
    }

    /** Number of kept examples. */
    public int size() {
        return examples.size();
    }

    private static Format formatOf(String at, JsonNode node) {
        List<Format> present = new ArrayList<>();
        for (Format f : Format.values()) {
            if (f != Format.PACKED_TEXT && node.has(f.key())) {
                present.add(f);
            }
        }
        if (present.size() > 1) {
            throw new BadInputException(at + ": has both \"" + present.get(0).key() + "\" and \"" + present.get(1).key()
                    + "\"; an example must be in exactly one format");
        }
        if (present.isEmpty()) {
            throw new BadInputException(at + ": expected {\"prompt\",\"completion\"}, {\"messages\"}, {\"text\"} or "
                    + "{\"input_ids\",\"labels\"}, got fields " + fieldNames(node));
        }
        return present.getFirst();
    }

    private static TrainingExample encode(String at, Format format, JsonNode node, ExampleEncoder encoder) {
        return switch (format) {
            case PROMPT_COMPLETION -> encoder.promptCompletion(string(at, node, "prompt"), string(at, node, "completion"));
            case TEXT -> encoder.text(string(at, node, "text"));
            case MESSAGES -> encoder.messages(messages(at, node));
            case TOKENIZED -> {
                if (!node.has("labels")) {
                    throw new BadInputException(at + ": \"labels\" is missing; pre-tokenized examples need "
                            + "\"input_ids\" and \"labels\" (use -100 for positions without loss)");
                }
                yield encoder.tokenized(ints(at, node, "input_ids"), ints(at, node, "labels"));
            }
            case PACKED_TEXT -> throw new IllegalStateException("plain text is not a JSON line format");
        };
    }

    private static List<Map<String, Object>> messages(String at, JsonNode node) {
        JsonNode array = node.get("messages");
        if (!array.isArray()) {
            throw new BadInputException(at + ": \"messages\" must be an array of {\"role\", \"content\"} objects");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            JsonNode m = array.get(i);
            String field = "messages[" + i + "]";
            if (!m.isObject()) {
                throw new BadInputException(at + ": \"" + field + "\" must be an object with \"role\" and \"content\"");
            }
            for (String key : List.of("role", "content")) {
                JsonNode v = m.get(key);
                if (v == null || !v.isTextual()) {
                    throw new BadInputException(at + ": \"" + field + "." + key + "\" must be a string, got "
                            + (v == null ? "nothing" : v.toString()));
                }
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> map = JSON.convertValue(m, LinkedHashMap.class);
            out.add(map);
        }
        return out;
    }

    private static String string(String at, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(at + ": \"" + field + "\" must be a string, got "
                    + (v == null ? "nothing" : v.toString()));
        }
        return v.asText();
    }

    private static int[] ints(String at, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (!v.isArray()) {
            throw new BadInputException(at + ": \"" + field + "\" must be an array of integers");
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode x = v.get(i);
            if (!x.isIntegralNumber() || !x.canConvertToInt()) {
                throw new BadInputException(at + ": \"" + field + "\"[" + i + "] must be an integer, got " + x);
            }
            out[i] = x.intValue();
        }
        return out;
    }

    private static String describe(Format f) {
        return switch (f) {
            case PROMPT_COMPLETION -> "prompt/completion";
            case MESSAGES -> "messages";
            case TEXT -> "text";
            case TOKENIZED -> "input_ids/labels";
            case PACKED_TEXT -> "plain text";
        };
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> out = new ArrayList<>();
        Iterator<String> it = node.fieldNames();
        it.forEachRemaining(out::add);
        return out;
    }
}
