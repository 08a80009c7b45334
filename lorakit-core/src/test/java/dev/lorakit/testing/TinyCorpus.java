package dev.lorakit.testing;

import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A small English-looking corpus for tests, deterministic from a seed: paragraphs of sentences
 * drawn from a fixed word list (capitalised first word, some commas, a final period), with a few
 * tokens that are not plain words ({@code don't}, {@code 42}, {@code e.g.}) so filters are exercised.
 * {@link #write} lays it out like tools/build-corpus.sh: train.txt and validation.txt, one
 * paragraph per line.
 */
public final class TinyCorpus {
    private static final List<String> WORDS = List.of(
            "the", "and", "of", "to", "in", "he", "that", "a", "i", "it", "for", "was", "his", "with", "be", "is",
            "they", "all", "not", "them", "unto", "him", "shall", "said", "thou", "but", "which", "from", "their",
            "were", "this", "thee", "upon", "my", "when", "by", "out", "have", "there", "house", "people", "land",
            "son", "king", "man", "day", "god", "city", "word", "water", "light", "earth", "heaven", "program",
            "hacker", "system", "machine", "file", "bug", "kernel", "network", "user", "screen", "wizard", "mail",
            "devil", "money", "friend", "wisdom", "virtue", "lawyer", "saint", "heart", "mind", "truth", "fool",
            "went", "came", "made", "gave", "took", "saw", "knew", "spake", "wrote", "found", "broke", "built",
            "great", "small", "old", "new", "good", "evil", "holy", "strange", "quick", "slow", "dark", "bright",
            "over", "under", "before", "after", "into", "among", "against", "within", "without", "because",
            "every", "many", "some", "no", "one", "two", "seven", "twelve", "first", "last", "again", "also");
    private static final List<String> ODD_TOKENS = List.of("don't", "42", "e.g.", "--", "LORD's", "x86");

    private TinyCorpus() {
    }

    /** {@code paragraphs} paragraphs of 2 to 5 sentences each, one per line ("\n"-terminated). */
    public static String text(long seed, int paragraphs) {
        Random rng = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int p = 0; p < paragraphs; p++) {
            int sentences = 2 + rng.nextInt(4);
            for (int s = 0; s < sentences; s++) {
                if (s > 0) {
                    sb.append(' ');
                }
                int words = 4 + rng.nextInt(15);
                for (int w = 0; w < words; w++) {
                    String word = rng.nextInt(40) == 0 ? ODD_TOKENS.get(rng.nextInt(ODD_TOKENS.size()))
                            : WORDS.get(rng.nextInt(WORDS.size()));
                    if (w == 0) {
                        word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                    } else {
                        sb.append(' ');
                    }
                    sb.append(word);
                    if (w < words - 1 && rng.nextInt(8) == 0) {
                        sb.append(',');
                    }
                }
                sb.append(rng.nextInt(10) == 0 ? '?' : '.');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Writes train.txt and validation.txt (different seeds) into {@code dir}; returns {@code dir}. */
    public static Path write(Path dir, long seed, int validationParagraphs) throws IOException {
        AtomicFiles.writeString(dir.resolve("train.txt"), text(seed + 1, validationParagraphs * 4));
        AtomicFiles.writeString(dir.resolve("validation.txt"), text(seed, validationParagraphs));
        return dir;
    }
}
