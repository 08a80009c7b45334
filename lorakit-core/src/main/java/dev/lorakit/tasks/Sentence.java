package dev.lorakit.tasks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One sentence of corpus text as its whitespace-separated tokens, exactly as written (case and
 * punctuation kept), with the normalised word of each token that is a plain word.
 *
 * <p>Normalisation of a token: strip leading {@code " ' ( [} and trailing {@code . , ; : ! ? " ' ) ]},
 * lowercase; the token is a plain word if what is left is one or more ASCII letters a-z. So
 * {@code "earth."} is {@code earth} and {@code LORD,} is {@code lord}, while {@code don't},
 * {@code 404}, {@code --} and {@code e.g.} are not words (windows containing them are skipped).
 *
 * <p>Sentence boundaries ({@link #split}): a token ending in {@code . ! ?}, optionally followed by
 * closing quotes or brackets, ends a sentence. Abbreviations such as "Dr." end one too; that only
 * makes some sentences shorter.
 *
 * @param tokens the raw tokens, at least one
 */
public record Sentence(List<String> tokens) {
    private static final String LEADING = "\"'([";
    private static final String TRAILING = ".,;:!?\"')]";
    private static final String CLOSERS = "\"')]";

    public Sentence {
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("a sentence needs at least one token");
        }
        tokens = List.copyOf(tokens);
    }

    /** The sentences of one paragraph of text, in order. */
    public static List<Sentence> split(String paragraph) {
        List<Sentence> out = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (String token : paragraph.trim().split("\\s+")) {
            if (token.isEmpty()) {
                continue;
            }
            current.add(token);
            if (endsSentence(token)) {
                out.add(new Sentence(current));
                current = new ArrayList<>();
            }
        }
        if (!current.isEmpty()) {
            out.add(new Sentence(current));
        }
        return out;
    }

    /** Number of tokens. */
    public int size() {
        return tokens.size();
    }

    /** The normalised word of token {@code i}, or null if that token is not a plain word. */
    public String word(int i) {
        return normalise(tokens.get(i));
    }

    /** The normalised words of tokens {@code from} (inclusive) to {@code to} (exclusive), or null if any is not a plain word. */
    public List<String> words(int from, int to) {
        List<String> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            String w = word(i);
            if (w == null) {
                return null;
            }
            out.add(w);
        }
        return out;
    }

    /** Tokens {@code from} (inclusive) to {@code to} (exclusive) joined by single spaces, as written. */
    public String text(int from, int to) {
        return String.join(" ", tokens.subList(from, to));
    }

    /** The normalised word of a token (see the class comment), or null if it is not a plain word. */
    public static String normalise(String token) {
        int from = 0;
        int to = token.length();
        while (from < to && LEADING.indexOf(token.charAt(from)) >= 0) {
            from++;
        }
        while (to > from && TRAILING.indexOf(token.charAt(to - 1)) >= 0) {
            to--;
        }
        if (from == to) {
            return null;
        }
        for (int i = from; i < to; i++) {
            char c = token.charAt(i);
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                return null;
            }
        }
        return token.substring(from, to).toLowerCase(Locale.ROOT);
    }

    private static boolean endsSentence(String token) {
        int end = token.length();
        while (end > 0 && CLOSERS.indexOf(token.charAt(end - 1)) >= 0) {
            end--;
        }
        if (end == 0) {
            return false;
        }
        char c = token.charAt(end - 1);
        return c == '.' || c == '!' || c == '?';
    }
}
