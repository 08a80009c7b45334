package dev.lorakit.io.tokenizer;

import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The special token ids a model's config.json gives ({@code bos_token_id}, {@code eos_token_id}
 * - an int or a list - and {@code pad_token_id}); the model layer passes them to
 * {@link TextTokenizer#load(java.nio.file.Path, SpecialTokenIds)}, where they take precedence over
 * the token strings of tokenizer_config.json.
 *
 * @param bos the BOS id, if the config names one
 * @param eos the EOS ids in config order (empty if none); generation stops at any of them
 * @param pad the padding id, if the config names one
 */
public record SpecialTokenIds(OptionalInt bos, List<Integer> eos, OptionalInt pad) {
    /** No ids from the model config: everything comes from the tokenizer files. */
    public static final SpecialTokenIds NONE = new SpecialTokenIds(OptionalInt.empty(), List.of(), OptionalInt.empty());

    public SpecialTokenIds {
        Objects.requireNonNull(bos, "bos");
        Objects.requireNonNull(pad, "pad");
        eos = List.copyOf(eos);
    }

    /** Builds the ids from nullable config values (null = the config does not name that token). */
    public static SpecialTokenIds of(Integer bos, List<Integer> eos, Integer pad) {
        return new SpecialTokenIds(bos == null ? OptionalInt.empty() : OptionalInt.of(bos),
                eos == null ? List.of() : eos, pad == null ? OptionalInt.empty() : OptionalInt.of(pad));
    }
}
