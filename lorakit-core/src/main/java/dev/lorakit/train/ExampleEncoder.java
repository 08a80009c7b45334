package dev.lorakit.train;

import dev.lorakit.BadInputException;
import dev.lorakit.generate.ChatMessage;
import dev.lorakit.generate.ChatTemplate;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the four kinds of training data into token ids and labels (see {@link TrainingExample}
 * for the label convention). Token ids are encoded the way lorakit encodes prompts for
 * generation: {@link TextTokenizer#encode(String)} adds BOS per the tokenizer's policy and never
 * a second one.
 *
 * <ul>
 *   <li>prompt/completion: {@code encode(prompt) + encode(completion, no BOS) + [EOS]}; the
 *       prompt positions are ignored, the completion tokens and the EOS are labelled (so the
 *       model learns to stop).</li>
 *   <li>text: {@code encode(text)}, every token labelled except a leading BOS.</li>
 *   <li>messages: the conversation rendered by the model's chat template and encoded whole; only
 *       the tokens of assistant turns are labelled (see {@link #messages(List)}).</li>
 *   <li>pre-tokenized: taken as is after checking ids and labels against the vocabulary.</li>
 * </ul>
 *
 * <p>Errors are {@link BadInputException}s without a location; {@link TrainingData} prefixes
 * the file and line.
 */
public final class ExampleEncoder {
    private final TextTokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final int vocabSize;

    /**
     * @param tokenizer    the model's tokenizer
     * @param chatTemplate the model's chat template, or null if it has none (messages data is then refused)
     * @param vocabSize    the model's vocabulary size (embedding rows): every id must be below it
     */
    public ExampleEncoder(TextTokenizer tokenizer, ChatTemplate chatTemplate, int vocabSize) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.vocabSize = vocabSize;
    }

    /** An encoder with the tokenizer's own chat template, if it has one. */
    public static ExampleEncoder forTokenizer(TextTokenizer tokenizer, int vocabSize) {
        ChatTemplate template = tokenizer.chatTemplate().isPresent() ? ChatTemplate.fromTokenizer(tokenizer) : null;
        return new ExampleEncoder(tokenizer, template, vocabSize);
    }

    /** The model's vocabulary size this encoder checks ids against. */
    public int vocabSize() {
        return vocabSize;
    }

    /** Prompt tokens (ignored), then completion tokens and EOS (labelled). */
    public TrainingExample promptCompletion(String prompt, String completion) {
        int[] p = checked(tokenizer.encode(prompt));
        int[] c = checked(tokenizer.encode(completion, false, false));
        int eos = eosId();
        int n = p.length + c.length + 1;
        int[] ids = new int[n];
        int[] labels = new int[n];
        Arrays.fill(labels, 0, p.length, TrainingExample.IGNORE);
        System.arraycopy(p, 0, ids, 0, p.length);
        System.arraycopy(c, 0, ids, p.length, c.length);
        System.arraycopy(c, 0, labels, p.length, c.length);
        ids[n - 1] = eos;
        labels[n - 1] = eos;
        return new TrainingExample(ids, labels);
    }

    /** Every token labelled, except a leading BOS added by the tokenizer. */
    public TrainingExample text(String text) {
        int[] ids = checked(tokenizer.encode(text));
        int[] labels = ids.clone();
        if (ids.length > 0 && tokenizer.bosId().isPresent() && ids[0] == tokenizer.bosId().getAsInt()) {
            labels[0] = TrainingExample.IGNORE;
        }
        return new TrainingExample(ids, labels);
    }

    /** Plain role/content turns; see {@link #messages(List)}. */
    public TrainingExample chat(List<ChatMessage> messages) {
        List<Map<String, Object>> maps = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            maps.add(map);
        }
        return messages(maps);
    }

    /**
     * A conversation rendered with the chat template and encoded whole, with loss on the
     * assistant turns only (messages whose {@code role} is {@code "assistant"}).
     *
     * <p>How the assistant tokens are found: for assistant message i, the template renders the
     * conversation before it with the generation prompt ({@code before = render(messages[:i],
     * true)}) and up to and including it ({@code after = render(messages[:i+1], false)}). The
     * assistant part is the text {@code after} adds to {@code before}: the reply and whatever
     * the template closes it with (ChatML's {@code <|im_end|>\n}, Zephyr's and Llama 2's EOS,
     * Llama 3's {@code <|eot_id|>}), so the model learns to end its turn. Both must be prefixes
     * of the full rendering (and {@code before} of {@code after}); templates that rewrite
     * earlier turns depending on what follows are refused. The span is mapped to tokens by
     * encoding {@code before} and {@code after}: the assistant tokens are those of the full
     * encoding from the length of its longest common prefix with {@code encode(before)} to that
     * with {@code encode(after)}. Where the tokenizer merges characters across a boundary, the
     * merged token is labelled at the start of a turn and not at its end.
     *
     * @param messages JSON-like maps with at least {@code role} and {@code content}; other keys
     *                 (e.g. {@code tool_calls}) are passed to the template
     */
    public TrainingExample messages(List<? extends Map<String, ?>> messages) {
        if (chatTemplate == null) {
            throw new BadInputException("\"messages\" data needs the model's chat template, but "
                    + tokenizer.tokenizerFile() + " has none (use prompt/completion or text data instead)");
        }
        if (messages.isEmpty()) {
            throw new BadInputException("\"messages\" is empty; expected at least one turn");
        }
        String full = chatTemplate.render(messages, false, Map.of());
        int[] ids = checked(tokenizer.encode(full));
        int[] labels = new int[ids.length];
        Arrays.fill(labels, TrainingExample.IGNORE);
        for (int i = 0; i < messages.size(); i++) {
            if (!"assistant".equals(messages.get(i).get("role"))) {
                continue;
            }
            String before = chatTemplate.render(messages.subList(0, i), true, Map.of());
            String after = chatTemplate.render(messages.subList(0, i + 1), false, Map.of());
            if (!after.startsWith(before) || !full.startsWith(after)) {
                throw new BadInputException("messages[" + i + "]: cannot locate the assistant turn: the chat template "
                        + chatTemplate.source() + " does not render a conversation's beginning as a prefix of the whole"
                        + " (it rewrites earlier turns), so loss on assistant turns only is not possible with it");
            }
            if (before.length() == after.length()) {
                continue;
            }
            int start = commonPrefix(ids, tokenizer.encode(before));
            int end = commonPrefix(ids, tokenizer.encode(after));
            for (int t = start; t < end; t++) {
                labels[t] = ids[t];
            }
        }
        return new TrainingExample(ids, labels);
    }

    /**
     * Pre-tokenized ids and labels, checked: equal lengths, ids in [0, vocab), labels -100 or in
     * [0, vocab). The arrays are copied.
     */
    public TrainingExample tokenized(int[] inputIds, int[] labels) {
        if (inputIds.length != labels.length) {
            throw new BadInputException("\"input_ids\" has " + inputIds.length + " tokens but \"labels\" has "
                    + labels.length + "; they must have the same length");
        }
        if (inputIds.length == 0) {
            throw new BadInputException("\"input_ids\" is empty; expected at least one token");
        }
        for (int t = 0; t < inputIds.length; t++) {
            if (inputIds[t] < 0 || inputIds[t] >= vocabSize) {
                throw new BadInputException("\"input_ids\"[" + t + "] = " + inputIds[t]
                        + " is not a token id of the model (expected 0.." + (vocabSize - 1) + ")");
            }
            if (labels[t] != TrainingExample.IGNORE && (labels[t] < 0 || labels[t] >= vocabSize)) {
                throw new BadInputException("\"labels\"[" + t + "] = " + labels[t]
                        + " must be -100 (ignored) or a token id of the model (0.." + (vocabSize - 1) + ")");
            }
        }
        return new TrainingExample(inputIds.clone(), labels.clone());
    }

    private int eosId() {
        if (tokenizer.eosId().isEmpty()) {
            throw new BadInputException(tokenizer.tokenizerFile() + ": no EOS token is known, and prompt/completion"
                    + " training appends one (set \"eos_token\" in " + TextTokenizer.CONFIG_FILE + ")");
        }
        return checked(new int[] {tokenizer.eosId().getAsInt()})[0];
    }

    /** The tokenizer's ids, refused if any is outside the model's vocabulary. */
    private int[] checked(int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new BadInputException(tokenizer.tokenizerFile() + ": the tokenizer produced token id " + id
                        + ", outside the model's vocabulary of " + vocabSize + " (tokenizer and model do not match)");
            }
        }
        return ids;
    }

    private static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }
}
