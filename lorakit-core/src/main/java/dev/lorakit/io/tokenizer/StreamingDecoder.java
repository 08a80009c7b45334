package dev.lorakit.io.tokenizer;

import java.util.Arrays;

/**
 * Turns token ids that arrive one at a time (generation) into text pieces, so that the
 * concatenation of everything {@link #push} and {@link #finish} return equals
 * {@code decode(allIds)}.
 *
 * <p>Two things make the naive "decode each token alone" wrong. A multi-byte UTF-8 character can
 * be split across tokens (byte-level BPE tokens, SentencePiece byte-fallback tokens like
 * {@code <0xE2>}); decoding such a prefix ends in U+FFFD, so trailing U+FFFDs are held back until
 * the character is complete (the text before them is released at once). And SentencePiece-style
 * decoders strip the leading space of the first token decoded, so new tokens are decoded together
 * with the previous chunk of tokens (whose text was already emitted) and only the text past that
 * chunk's own decoding is returned. Each push decodes only those few tokens, so its cost does not
 * grow with the length of the stream.
 *
 * <p>The equality with {@code decode(allIds)} holds for ids whose bytes are valid UTF-8 (all text
 * that was encoded, and what a sane model generates). For invalid bytes the library itself is not
 * prefix-stable (its ByteFallback decoder turns a whole run of byte tokens into U+FFFDs when any of
 * them is invalid), so text already emitted cannot always agree: after 3 pushes that leave the text
 * rewritten (a character's 4 bytes would have arrived by then) the pending tokens' own decoding is
 * released, so a model emitting garbage bytes still streams. Not thread-safe: one decoder per stream.
 */
public final class StreamingDecoder {
    private static final char REPLACEMENT = '\uFFFD';
    /** A UTF-8 character has at most 4 bytes, so an incomplete one shows as at most 3 U+FFFDs. */
    private static final int MAX_HELD_REPLACEMENTS = 3;
    /** ... and its bytes arrive in at most 4 tokens, so at most 3 pushes leave it incomplete. */
    private static final int MAX_INCOMPLETE_PUSHES = 3;

    private final TextTokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private long[] ids = new long[64];
    private int count;
    /** Context: tokens [windowStart, chunkStart) decode to {@code contextText}, all of it emitted. */
    private int windowStart;
    /** Tokens from here on are the current chunk, whose text is emitted as it becomes complete. */
    private int chunkStart;
    private String contextText = "";
    /** The part of the current chunk's text already emitted (text before a held-back tail). */
    private String chunkEmitted = "";
    /** Consecutive pushes whose decoding rewrote emitted text (see release). */
    private int rewrites;

    StreamingDecoder(TextTokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds the next token id; returns the text it completes, possibly empty. */
    public String push(int id) {
        if (count == ids.length) {
            ids = Arrays.copyOf(ids, count * 2);
        }
        ids[count++] = id;
        return release(false);
    }

    /** Returns whatever text is still held back (e.g. an incomplete character at the end, as U+FFFD). */
    public String finish() {
        return release(true);
    }

    /** Number of ids pushed so far. */
    public int tokenCount() {
        return count;
    }

    private String release(boolean flush) {
        String now = decode(windowStart, count);
        String emitted = contextText + chunkEmitted;
        if (!now.startsWith(emitted)) {
            // The library rewrote text already emitted: its ByteFallback decoder turns a whole run
            // of byte tokens into U+FFFDs while the run is not valid UTF-8. Wait while that may
            // be a character still arriving; past that the bytes are invalid, so release the
            // chunk's own decoding and start afresh after it.
            if (!flush && ++rewrites <= MAX_INCOMPLETE_PUSHES) {
                return "";
            }
            rewrites = 0;
            String own = decode(chunkStart, count);
            String piece = own.startsWith(chunkEmitted) ? own.substring(chunkEmitted.length()) : own;
            windowStart = count;
            chunkStart = count;
            contextText = "";
            chunkEmitted = "";
            return piece;
        }
        rewrites = 0;
        int held = flush ? 0 : Math.min(trailingReplacements(now), MAX_HELD_REPLACEMENTS);
        int stableEnd = now.length() - held;
        String piece = stableEnd > emitted.length() ? now.substring(emitted.length(), stableEnd) : "";
        if (held == 0 && now.length() > contextText.length()) {
            // The chunk is complete and produced text: it becomes the context of the next chunk.
            windowStart = chunkStart;
            chunkStart = count;
            contextText = decode(windowStart, chunkStart);
            chunkEmitted = "";
        } else {
            chunkEmitted += piece;
        }
        return piece;
    }

    private static int trailingReplacements(String text) {
        int n = 0;
        while (n < text.length() && text.charAt(text.length() - 1 - n) == REPLACEMENT) {
            n++;
        }
        return n;
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decodeLongs(Arrays.copyOfRange(ids, from, to), skipSpecialTokens);
    }
}
