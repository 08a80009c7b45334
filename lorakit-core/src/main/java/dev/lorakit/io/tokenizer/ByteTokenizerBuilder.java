package dev.lorakit.io.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Writes the tokenizer of lorakit's tiny generated models: a Hugging Face tokenizer.json (plus
 * tokenizer_config.json) whose vocabulary is three special tokens and the 256 bytes, so any UTF-8
 * text encodes to its bytes and decodes back exactly.
 *
 * <p>Id layout: {@code <s>} = 0 (BOS), {@code </s>} = 1 (EOS), {@code <pad>} = 2, then byte
 * {@code b} (0..255) = {@code 3 + b}, spelled {@code <0xHH>} as in SentencePiece's byte fallback;
 * {@link #VOCAB_SIZE} = 259. It is a BPE model with no merges and {@code byte_fallback}: every
 * character misses the vocabulary and falls back to its UTF-8 bytes; the decoder (ByteFallback,
 * Fuse) turns byte tokens back into text. As in every Hugging Face tokenizer, the literal strings
 * {@code <s>}, {@code </s>} and {@code <pad>} in input text encode to their special token.
 */
public final class ByteTokenizerBuilder {
    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    public static final String PAD = "<pad>";
    public static final int BOS_ID = 0;
    public static final int EOS_ID = 1;
    public static final int PAD_ID = 2;
    /** The id of byte 0x00; byte {@code b} has id {@code FIRST_BYTE_ID + b}. */
    public static final int FIRST_BYTE_ID = 3;
    public static final int VOCAB_SIZE = FIRST_BYTE_ID + 256;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] SPECIALS = {BOS, EOS, PAD};

    private boolean addBosToken = true;
    private String chatTemplate;

    /** Whether encoding prepends BOS (tokenizer_config.json's add_bos_token); default true. */
    public ByteTokenizerBuilder addBosToken(boolean addBos) {
        this.addBosToken = addBos;
        return this;
    }

    /** A raw Jinja chat template to store in tokenizer_config.json; default none. */
    public ByteTokenizerBuilder chatTemplate(String template) {
        this.chatTemplate = template;
        return this;
    }

    /** The token id of byte {@code b} (0..255). */
    public static int idOfByte(int b) {
        if (b < 0 || b > 255) {
            throw new IllegalArgumentException("byte value must be in 0..255, got " + b);
        }
        return FIRST_BYTE_ID + b;
    }

    /** The ids this tokenizer encodes {@code text} to, without BOS: its UTF-8 bytes, shifted. */
    public static int[] idsOfText(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = FIRST_BYTE_ID + (bytes[i] & 0xFF);
        }
        return ids;
    }

    /** The tokenizer.json text. */
    public String tokenizerJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < SPECIALS.length; id++) {
            added.addObject().put("id", id).put("content", SPECIALS[id]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putNull("pre_tokenizer");
        if (addBosToken) {  // so that other Hugging Face tools add BOS exactly as lorakit does
            ObjectNode template = root.putObject("post_processor").put("type", "TemplateProcessing");
            template.putArray("single").add(specialItem(BOS, 0)).add(sequenceItem("A", 0));
            template.putArray("pair").add(specialItem(BOS, 0)).add(sequenceItem("A", 0))
                    .add(specialItem(BOS, 1)).add(sequenceItem("B", 1));
            ObjectNode bos = template.putObject("special_tokens").putObject(BOS).put("id", BOS);
            bos.putArray("ids").add(BOS_ID);
            bos.putArray("tokens").add(BOS);
        } else {
            root.putNull("post_processor");
        }
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false).put("byte_fallback", true);
        ObjectNode vocab = model.putObject("vocab");
        for (int id = 0; id < SPECIALS.length; id++) {
            vocab.put(SPECIALS[id], id);
        }
        for (int b = 0; b < 256; b++) {
            vocab.put(String.format("<0x%02X>", b), FIRST_BYTE_ID + b);
        }
        model.putArray("merges");
        return write(root);
    }

    /** The tokenizer_config.json text. */
    public String tokenizerConfigJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("add_bos_token", addBosToken);
        root.put("add_eos_token", false);
        root.put("bos_token", BOS);
        root.put("eos_token", EOS);
        root.put("pad_token", PAD);
        root.putNull("unk_token");
        root.put("clean_up_tokenization_spaces", false);
        root.put("tokenizer_class", "PreTrainedTokenizerFast");
        if (chatTemplate != null) {
            root.put("chat_template", chatTemplate);
        }
        return write(root);
    }

    /** Writes tokenizer.json and tokenizer_config.json into {@code modelDir}, each atomically. */
    public void writeTo(Path modelDir) throws IOException {
        AtomicFiles.writeString(modelDir.resolve(TextTokenizer.TOKENIZER_FILE), tokenizerJson());
        AtomicFiles.writeString(modelDir.resolve(TextTokenizer.CONFIG_FILE), tokenizerConfigJson());
    }

    private static ObjectNode specialItem(String token, int typeId) {
        ObjectNode item = JSON.createObjectNode();
        item.putObject("SpecialToken").put("id", token).put("type_id", typeId);
        return item;
    }

    private static ObjectNode sequenceItem(String id, int typeId) {
        ObjectNode item = JSON.createObjectNode();
        item.putObject("Sequence").put("id", id).put("type_id", typeId);
        return item;
    }

    private static String write(ObjectNode root) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
