package dev.lorakit.compress;

import dev.lorakit.BadInputException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Semi-structured N:M sparsity: in every group of {@code m} consecutive weights along the input
 * dimension of a row (columns [g m, (g+1) m)), keep the {@code n} with the highest score and zero
 * the rest; 2:4 is the pattern sparse tensor cores accelerate. The input dimension must be a
 * multiple of m.
 *
 * @param n weights kept per group, 1 <= n < m
 * @param m group size
 */
public record NmSparsity(int n, int m) {
    private static final Pattern TEXT = Pattern.compile("(\\d{1,4}):(\\d{1,4})");

    public NmSparsity {
        if (n < 1 || n >= m) {
            throw new BadInputException("--pattern: expected N:M with 0 < N < M (e.g. 2:4), got " + n + ":" + m);
        }
    }

    /** Parses "N:M", e.g. "2:4". */
    public static NmSparsity parse(String text) {
        Matcher mt = TEXT.matcher(text == null ? "" : text.strip());
        if (!mt.matches()) {
            throw new BadInputException("--pattern: expected N:M with 0 < N < M (e.g. 2:4), got \"" + text + "\"");
        }
        return new NmSparsity(Integer.parseInt(mt.group(1)), Integer.parseInt(mt.group(2)));
    }

    /** The fraction of weights zeroed: 1 - n/m. */
    public double sparsity() {
        return 1.0 - (double) n / m;
    }

    /** "N:M". */
    @Override
    public String toString() {
        return n + ":" + m;
    }
}
