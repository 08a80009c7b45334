package dev.lorakit.io.tokenizer;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tokenizer files for tests: the committed GPT-2 fixture and tokenizers generated in code. */
final class TokenizerFixtures {
    static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFixtures() {
    }

    /** The committed real GPT-2 tokenizer directory (see tools/tokenizer-golden/make-golden.mjs). */
    static Path gpt2Dir() {
        URL url = TokenizerFixtures.class.getResource("/tokenizers/gpt2/tokenizer.json");
        assertNotNull(url, "missing test resource tokenizers/gpt2/tokenizer.json:"
                + " regenerate with tools/tokenizer-golden/make-golden.mjs");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the byte tokenizer (ByteTokenizerBuilder defaults) into {@code dir}. */
    static Path byteTokenizerDir(Path dir) throws IOException {
        new ByteTokenizerBuilder().writeTo(dir);
        return dir;
    }

    /** The byte tokenizer's tokenizer.json as a mutable tree, to derive variants from. */
    static ObjectNode byteTokenizerTree() throws IOException {
        return (ObjectNode) JSON.readTree(new ByteTokenizerBuilder().tokenizerJson());
    }

    static void write(Path file, Object jsonOrText) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        String text = jsonOrText instanceof String s ? s : JSON.writeValueAsString(jsonOrText);
        Files.writeString(file, text);
    }

    /** A TemplateProcessing post_processor whose single template is {@code [token, $A]}. */
    static ObjectNode templatePrepending(String token, int id) {
        ObjectNode p = JSON.createObjectNode().put("type", "TemplateProcessing");
        ArrayNode single = p.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", token).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = p.putArray("pair");
        pair.add(single.get(0)).add(single.get(1));
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode special = p.putObject("special_tokens").putObject(token).put("id", token);
        special.putArray("ids").add(id);
        special.putArray("tokens").add(token);
        return p;
    }

    /** Llama 3's shape: Sequence[ByteLevel, TemplateProcessing]. */
    static ObjectNode sequenceWithTemplate(String token, int id) {
        ObjectNode p = JSON.createObjectNode().put("type", "Sequence");
        ArrayNode processors = p.putArray("processors");
        processors.addObject().put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", false).put("use_regex", true);
        processors.add(templatePrepending(token, id));
        return p;
    }

    /**
     * A Llama-2-style SentencePiece BPE tokenizer.json: normalizer Prepend("▁") + Replace(" ", "▁"),
     * BPE with byte_fallback over {@code <unk>}=0, {@code <s>}=1, {@code </s>}=2, bytes {@code <0x00>}..
     * {@code <0xFF>} = 3..258, the single characters of {@code words} and, through left-to-right
     * merges, the words themselves; decoder Replace("▁", " "), ByteFallback, Fuse, Strip(1 leading
     * space); post_processor prepends {@code <s>}. Characters outside the words fall back to bytes.
     */
    static ObjectNode sentencePieceStyle(List<String> words) {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("<unk>", 0);
        vocab.put("<s>", 1);
        vocab.put("</s>", 2);
        for (int b = 0; b < 256; b++) {
            vocab.put(String.format("<0x%02X>", b), 3 + b);
        }
        ObjectNode root = JSON.createObjectNode().put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        ObjectNode normalizer = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode normalizers = normalizer.putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        root.putNull("pre_tokenizer");
        root.set("post_processor", templatePrepending("<s>", 1));
        ObjectNode decoder = root.putObject("decoder").put("type", "Sequence");
        ArrayNode decoders = decoder.putArray("decoders");
        ObjectNode unreplace = decoders.addObject().put("type", "Replace");
        unreplace.putObject("pattern").put("String", "▁");
        unreplace.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model").put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true).put("byte_fallback", true);
        ArrayNode merges = JSON.createArrayNode();
        for (String word : words) {
            int[] cps = word.codePoints().toArray();
            String left = new String(cps, 0, 1);
            vocab.putIfAbsent(left, vocab.size());
            for (int i = 1; i < cps.length; i++) {
                String right = new String(cps, i, 1);
                vocab.putIfAbsent(right, vocab.size());
                String merged = left + right;
                if (!vocab.containsKey(merged)) {
                    vocab.put(merged, vocab.size());
                    merges.add(left + " " + right);
                }
                left = merged;
            }
        }
        ObjectNode vocabNode = model.putObject("vocab");
        vocab.forEach(vocabNode::put);
        model.set("merges", merges);
        return root;
    }

    /**
     * The newer SentencePiece layout (transformers' Llama converter with legacy=false, e.g.
     * Mistral v0.3): no normalizer, a Metaspace pre-tokenizer that prepends "▁" to the first
     * word only and replaces spaces; vocabulary, merges and decoder as {@link #sentencePieceStyle}.
     */
    static ObjectNode metaspaceStyle(List<String> words) {
        ObjectNode root = sentencePieceStyle(words);
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁")
                .put("prepend_scheme", "first").put("split", false);
        return root;
    }

    /** The words the SentencePiece-style fixture of the tests knows as whole tokens. */
    static final List<String> SP_WORDS = List.of("▁the", "▁Hello", "▁world", "▁token", "▁café", "é", "▁日本",
            "語", "▁😀", "😀", "▁naïve", "ing", "▁a", "▁", "s", "t", "▁Zürich");
}
