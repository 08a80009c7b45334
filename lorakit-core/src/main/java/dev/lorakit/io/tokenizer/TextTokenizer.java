package dev.lorakit.io.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Hugging Face tokenizer loaded from a model directory's tokenizer.json (plus the optional
 * tokenizer_config.json): text to token ids and back. Encoding and decoding run in the native
 * Hugging Face tokenizers library; this class is the only place in lorakit that touches it.
 *
 * <p>Special tokens are lorakit's decision, never the library's: {@link #encode(String)} asks the
 * library for the bare tokens of the text (its post_processor template is not applied), then
 * prepends BOS when {@link #addsBos()} - tokenizer_config.json's {@code add_bos_token} if present,
 * otherwise whether the tokenizer.json post_processor template starts with a special token (as
 * Llama 2's {@code <s>} and Llama 3's {@code <|begin_of_text|>} do). BOS is not prepended when the
 * text already encodes to one (e.g. a rendered chat template starting with the BOS string), so a
 * prompt never gets two. EOS is appended only on request ({@link #encode(String, boolean, boolean)}).
 *
 * <p>Special token ids: the model config's ids ({@link SpecialTokenIds}) win; otherwise the token
 * strings of tokenizer_config.json; otherwise (BOS only) the post_processor's leading token.
 * {@link #decode} returns the library's decoding exactly; transformers' optional
 * {@code clean_up_tokenization_spaces} rewrite is not applied, so {@code decode(encode(x))}
 * gives back {@code x} for lossless tokenizers.
 *
 * <p>Safe to share between threads; {@link #close()} frees the native tokenizer and must not race
 * with other calls.
 */
public final class TextTokenizer implements AutoCloseable {
    /** The tokenizer file name inside a model directory. */
    public static final String TOKENIZER_FILE = "tokenizer.json";
    /** The optional tokenizer settings file name inside a model directory. */
    public static final String CONFIG_FILE = "tokenizer_config.json";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Truncation and padding off: DJL would otherwise cut every encoding at 512 tokens. */
    private static final Map<String, String> NATIVE_OPTIONS =
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

    static {
        // lorakit never downloads: keep DJL from any network access (it otherwise probes cloud
        // instance metadata when a tokenizer is created).
        System.setProperty("ai.djl.offline", "true");
    }

    private final Path tokenizerFile;
    private final HuggingFaceTokenizer library;
    private final TokenizerJsonFacts facts;
    private final boolean addsBos;
    private final OptionalInt bosId;
    private final OptionalInt eosId;
    private final List<Integer> eosIds;
    private final OptionalInt padId;
    private final Optional<String> chatTemplate;
    private volatile boolean closed;

    private TextTokenizer(Path tokenizerFile, HuggingFaceTokenizer library, TokenizerJsonFacts facts, boolean addsBos,
                          OptionalInt bosId, OptionalInt eosId, List<Integer> eosIds, OptionalInt padId,
                          Optional<String> chatTemplate) {
        this.tokenizerFile = tokenizerFile;
        this.library = library;
        this.facts = facts;
        this.addsBos = addsBos;
        this.bosId = bosId;
        this.eosId = eosId;
        this.eosIds = eosIds;
        this.padId = padId;
        this.chatTemplate = chatTemplate;
    }

    /** Loads the tokenizer of a model directory (or a tokenizer.json path) with no ids from a model config. */
    public static TextTokenizer load(Path modelDirOrTokenizerJson) {
        return load(modelDirOrTokenizerJson, SpecialTokenIds.NONE);
    }

    /**
     * Loads the tokenizer of a model directory, or of a tokenizer.json path (its directory is
     * searched for tokenizer_config.json and chat_template.jinja).
     *
     * @param modelDirOrTokenizerJson a model directory holding tokenizer.json, or the file itself
     * @param fromModelConfig         BOS/EOS/PAD ids from the model's config.json; they take precedence
     * @throws BadInputException if tokenizer.json is missing, unreadable or not loadable, or a
     *                           settings file or id is inconsistent with it
     */
    public static TextTokenizer load(Path modelDirOrTokenizerJson, SpecialTokenIds fromModelConfig) {
        Path file = Files.isDirectory(modelDirOrTokenizerJson)
                ? modelDirOrTokenizerJson.resolve(TOKENIZER_FILE) : modelDirOrTokenizerJson;
        Path dir = file.toAbsolutePath().getParent();
        String where = file.toString();
        if (!Files.isRegularFile(file)) {
            String hint = Files.isRegularFile(dir.resolve("tokenizer.model"))
                    ? " (found a SentencePiece tokenizer.model; lorakit needs the Hugging Face tokenizer.json:"
                    + " save the tokenizer with transformers' save_pretrained to produce one)"
                    : " (a model directory needs the Hugging Face tokenizer file " + TOKENIZER_FILE + ")";
            throw new BadInputException(where + ": no such file" + hint);
        }
        byte[] bytes = readBytes(file);
        TokenizerJsonFacts facts = TokenizerJsonFacts.read(parseJson(bytes, where), where);
        Path configFile = dir.resolve(CONFIG_FILE);
        TokenizerConfigFacts config = Files.isRegularFile(configFile)
                ? TokenizerConfigFacts.read(parseJson(readBytes(configFile), configFile.toString()), configFile.toString())
                : TokenizerConfigFacts.ABSENT;
        HuggingFaceTokenizer library = openLibrary(bytes, where);
        try {
            return resolve(file, library, facts, config, configFile.toString(), fromModelConfig,
                    chatTemplate(config, dir));
        } catch (RuntimeException | Error e) {
            library.close();
            throw e;
        }
    }

    private static TextTokenizer resolve(Path file, HuggingFaceTokenizer library, TokenizerJsonFacts facts,
                                         TokenizerConfigFacts config, String configWhere, SpecialTokenIds ids,
                                         Optional<String> chatTemplate) {
        String where = file.toString();
        OptionalInt bos = ids.bos().isPresent() ? checked(ids.bos().getAsInt(), "bos_token_id", facts, where)
                : config.bosToken().isPresent() ? idOfConfigToken(config.bosToken().get(), "bos_token", facts, configWhere)
                : facts.templatePrefixId();
        boolean addsBos = config.addBosToken().orElse(facts.templatePrefixId().isPresent());
        if (addsBos && bos.isEmpty()) {
            throw new BadInputException(configWhere + ": \"add_bos_token\" is true but no BOS token is known"
                    + " (set \"bos_token\" there or bos_token_id in the model config)");
        }
        List<Integer> eosIds = new ArrayList<>();
        for (int id : ids.eos()) {
            checked(id, "eos_token_id", facts, where);
            if (!eosIds.contains(id)) {
                eosIds.add(id);
            }
        }
        OptionalInt configEos = config.eosToken().isPresent()
                ? idOfConfigToken(config.eosToken().get(), "eos_token", facts, configWhere) : OptionalInt.empty();
        if (configEos.isPresent() && !eosIds.contains(configEos.getAsInt())) {
            eosIds.add(configEos.getAsInt());
        }
        OptionalInt eos = configEos.isPresent() ? configEos
                : eosIds.isEmpty() ? OptionalInt.empty() : OptionalInt.of(eosIds.getFirst());
        OptionalInt pad = ids.pad().isPresent() ? checked(ids.pad().getAsInt(), "pad_token_id", facts, where)
                : config.padToken().isPresent() ? facts.idOf(config.padToken().get())  // unknown: no padding id
                : OptionalInt.empty();
        return new TextTokenizer(file, library, facts, addsBos, bos, eos, List.copyOf(eosIds), pad, chatTemplate);
    }

    private static OptionalInt checked(int id, String field, TokenizerJsonFacts facts, String where) {
        if (facts.tokenOrNull(id) == null) {
            throw new BadInputException(where + ": the model config's " + field + " " + id
                    + " is not a token of this tokenizer (ids 0.." + (facts.vocabSize() - 1) + ")");
        }
        return OptionalInt.of(id);
    }

    private static OptionalInt idOfConfigToken(String token, String field, TokenizerJsonFacts facts, String where) {
        OptionalInt id = facts.idOf(token);
        if (id.isEmpty()) {
            throw new BadInputException(where + ": field \"" + field + "\" names token "
                    + TokenizerJsonFacts.quote(token) + ", which is not in tokenizer.json's vocabulary");
        }
        return id;
    }

    /** tokenizer_config.json's chat_template, else chat_template.jinja, else chat_template.json. */
    private static Optional<String> chatTemplate(TokenizerConfigFacts config, Path dir) {
        if (config.chatTemplate().isPresent()) {
            return config.chatTemplate();
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            return Optional.of(new String(readBytes(jinja), StandardCharsets.UTF_8));
        }
        Path json = dir.resolve("chat_template.json");
        if (Files.isRegularFile(json)) {
            String where = json.toString();
            JsonNode root = parseJson(readBytes(json), where);
            return TokenizerConfigFacts.chatTemplate(root.get("chat_template"), where);
        }
        return Optional.empty();
    }

    private static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static JsonNode parseJson(byte[] bytes, String where) {
        try {
            return JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": not valid JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr());
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static HuggingFaceTokenizer openLibrary(byte[] tokenizerJson, String where) {
        try {
            return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson), NATIVE_OPTIONS);
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot read: " + e.getMessage(), e);
        } catch (UnsatisfiedLinkError | ExceptionInInitializerError e) {
            throw new IllegalStateException("cannot load the native Hugging Face tokenizers library bundled with"
                    + " DJL (it is unpacked under ~/.djl.ai or $DJL_CACHE_DIR, which must be writable): " + e, e);
        } catch (RuntimeException e) {
            // The library reports a tokenizer.json it cannot use (unknown model type, bad field)
            // as a plain RuntimeException whose message is serde's one-line description.
            throw new BadInputException(where + ": the Hugging Face tokenizers library cannot load it: "
                    + oneLine(e.getMessage()), e);
        }
    }

    private static String oneLine(String s) {
        return s == null ? "(no details)" : s.replaceAll("\\s+", " ").strip();
    }

    /** The bare token ids of {@code text}, with BOS prepended if {@link #addsBos()}; never EOS. */
    public int[] encode(String text) {
        return encode(text, addsBos, false);
    }

    /**
     * The token ids of {@code text} with BOS and/or EOS added as asked. Text that already
     * encodes to a leading BOS (trailing EOS) does not get a second one.
     *
     * @throws BadInputException if BOS or EOS is asked for but this tokenizer has none
     */
    public int[] encode(String text, boolean addBos, boolean addEos) {
        long[] bare = library().encode(text, false, false).getIds();
        int bos = addBos ? requireId(bosId, "BOS", "bos_token") : -1;
        int eos = addEos ? requireId(eosId, "EOS", "eos_token") : -1;
        boolean prependBos = addBos && (bare.length == 0 || bare[0] != bos);
        boolean appendEos = addEos && (bare.length == 0 || bare[bare.length - 1] != eos);
        int[] ids = new int[bare.length + (prependBos ? 1 : 0) + (appendEos ? 1 : 0)];
        int at = 0;
        if (prependBos) {
            ids[at++] = bos;
        }
        for (long id : bare) {
            ids[at++] = Math.toIntExact(id);
        }
        if (appendEos) {
            ids[at] = eos;
        }
        return ids;
    }

    private int requireId(OptionalInt id, String what, String field) {
        if (id.isEmpty()) {
            throw new BadInputException(tokenizerFile + ": no " + what + " token is known (set \"" + field
                    + "\" in " + CONFIG_FILE + " or " + field + "_id in the model config)");
        }
        return id.getAsInt();
    }

    /** The text of {@code ids}, special tokens included. Ids this tokenizer does not know decode to nothing. */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** The text of {@code ids}; with {@code skipSpecialTokens} the special tokens (BOS, EOS, ...) are left out. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decodeLongs(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    String decodeLongs(long[] ids, boolean skipSpecialTokens) {
        return library().decode(ids, skipSpecialTokens);
    }

    /** A decoder that turns ids arriving one at a time into text pieces; see {@link StreamingDecoder}. */
    public StreamingDecoder streamingDecoder(boolean skipSpecialTokens) {
        return new StreamingDecoder(this, skipSpecialTokens);
    }

    /**
     * The vocabulary string of token {@code id} as tokenizer.json spells it (e.g. {@code "Ġthe"} in
     * byte-level BPE, {@code "▁the"} or {@code "<0xE2>"} in SentencePiece-style vocabularies).
     *
     * @throws IllegalArgumentException if no token has this id
     */
    public String tokenToString(int id) {
        String token = facts.tokenOrNull(id);
        if (token == null) {
            throw new IllegalArgumentException("token id " + id + " is not in " + tokenizerFile
                    + " (vocabulary size " + facts.vocabSize() + ")");
        }
        return token;
    }

    /** The id of a vocabulary string (added tokens first, then the model's vocabulary). */
    public OptionalInt idOf(String token) {
        return facts.idOf(token);
    }

    /** Whether {@code id} is an added token marked special in tokenizer.json. */
    public boolean isSpecial(int id) {
        return facts.isSpecial(id);
    }

    /** One more than the largest token id (model vocabulary and added tokens). */
    public int vocabSize() {
        return facts.vocabSize();
    }

    /** Whether {@link #encode(String)} prepends BOS. */
    public boolean addsBos() {
        return addsBos;
    }

    /** The BOS id: the model config's, else tokenizer_config.json's bos_token, else the post_processor's leading token. */
    public OptionalInt bosId() {
        return bosId;
    }

    /** The EOS id appended on request: tokenizer_config.json's eos_token, else the model config's first. */
    public OptionalInt eosId() {
        return eosId;
    }

    /** Every id that ends generation: the model config's EOS ids, then tokenizer_config.json's eos_token. */
    public List<Integer> eosIds() {
        return eosIds;
    }

    /** The padding id: the model config's, else tokenizer_config.json's pad_token (if it is in the vocabulary). */
    public OptionalInt padId() {
        return padId;
    }

    /** The raw Jinja chat template (tokenizer_config.json, chat_template.jinja or chat_template.json), unrendered. */
    public Optional<String> chatTemplate() {
        return chatTemplate;
    }

    /** The tokenizer.json this tokenizer was loaded from. */
    public Path tokenizerFile() {
        return tokenizerFile;
    }

    private HuggingFaceTokenizer library() {
        if (closed) {
            throw new IllegalStateException("tokenizer " + tokenizerFile + " is closed");
        }
        return library;
    }

    /** Frees the native tokenizer; later calls to encode or decode fail. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            library.close();
        }
    }
}
