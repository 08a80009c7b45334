package dev.lorakit.generate;

import java.util.List;
import java.util.Objects;

/**
 * Watches streamed text for stop strings. Text pieces go in as they are decoded; out comes the
 * text that is safe to show now. A suffix that could be the start of a stop string is held back
 * until the next pieces tell whether it completes one. When a stop string appears, the text
 * before it is released, the stop string and everything after it are not, and the matcher is
 * {@linkplain #stopped() stopped}. With several stop strings, the occurrence that completes
 * first wins (the one ending earliest; at equal ends, the longer one), so the result does not
 * depend on how the text was split into pieces.
 *
 * <p>Everything released over a stream, plus {@link #finish()} when no stop string appeared,
 * equals the full text cut before the first stop string occurrence. A held-back suffix never
 * starts in the middle of a surrogate pair. Not thread-safe: one matcher per stream.
 */
public final class StopStrings {
    private final List<String> stops;
    private final int longestStop;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    /** What one {@link #push} released. */
    public record Emit(String text, boolean stopped) {
    }

    /** @param stops the stop strings, each non-empty (may be an empty list: nothing is held back) */
    public StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
        int longest = 0;
        for (String s : this.stops) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must be non-empty");
            }
            longest = Math.max(longest, s.length());
        }
        this.longestStop = longest;
    }

    /**
     * Adds the next piece of text.
     *
     * @return the text now safe to emit, and whether a stop string completed (the returned text
     *     then ends right before it); after a stop, further pushes return empty text and stopped
     */
    public Emit push(String piece) {
        Objects.requireNonNull(piece, "piece");
        if (stopped) {
            return new Emit("", true);
        }
        held.append(piece);
        int stopAt = firstCompletedStop();
        if (stopAt >= 0) {
            stopped = true;
            String text = held.substring(0, stopAt);
            held.setLength(0);
            return new Emit(text, true);
        }
        int keep = heldBackLength();
        int release = held.length() - keep;
        if (release > 0 && Character.isHighSurrogate(held.charAt(release - 1))) {
            release--;  // never split a surrogate pair
        }
        String text = held.substring(0, release);
        held.delete(0, release);
        return new Emit(text, false);
    }

    /** Ends the stream: returns the text still held back (empty once stopped). */
    public String finish() {
        String text = stopped ? "" : held.toString();
        held.setLength(0);
        return text;
    }

    /** True once a stop string has appeared. */
    public boolean stopped() {
        return stopped;
    }

    /** Start of the stop string occurrence in the held text that ends first (ties: starts first), or -1. */
    private int firstCompletedStop() {
        int bestStart = -1;
        int bestEnd = Integer.MAX_VALUE;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at < 0) {
                continue;
            }
            int end = at + s.length();
            if (end < bestEnd || (end == bestEnd && at < bestStart)) {
                bestStart = at;
                bestEnd = end;
            }
        }
        return bestStart;
    }

    /** Length of the longest suffix of the held text that is a proper prefix of some stop string. */
    private int heldBackLength() {
        int n = held.length();
        for (int len = Math.min(n, longestStop - 1); len > 0; len--) {
            for (String s : stops) {
                if (len < s.length() && startsWithAt(s, n - len, len)) {
                    return len;
                }
            }
        }
        return 0;
    }

    /** True if held[from, from + len) equals the first len chars of s. */
    private boolean startsWithAt(String s, int from, int len) {
        for (int i = 0; i < len; i++) {
            if (held.charAt(from + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
