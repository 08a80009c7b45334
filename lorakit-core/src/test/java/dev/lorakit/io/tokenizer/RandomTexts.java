package dev.lorakit.io.tokenizer;

import java.util.Random;

/**
 * Seeded random text for tokenizer property tests: ASCII words, whitespace runs, digits,
 * punctuation, precomposed and decomposed accents, CJK, Hangul, emoji (incl. ZWJ sequences and
 * skin tones) and other supplementary-plane characters. Never produces '<', '>' or '▁', so no
 * special token string or SentencePiece space marker appears by chance.
 */
final class RandomTexts {
    private static final String[] WORDS = {"the", "Hello", "world", "token", "café", "naïve", "Zürich", "São",
        "日本", "語", "中文", "한국어", "Ελληνικά", "русский", "😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "e\u0301",
        "x²", "∑", "def", "return", "ça", "ñandú", "🙂🙃", "𝔘𝔫𝔦"};
    private static final String[] SEPARATORS = {" ", " ", " ", "  ", "   ", "\n", "\n\n", "\t", " \n ", "", ", ",
        ". ", "!", "?", "'s ", "-", "(", ")", "{", "}", ":", ";", "\"", "#", "@", "\u00a0"};

    private RandomTexts() {
    }

    static String next(Random random, int maxParts) {
        StringBuilder sb = new StringBuilder();
        int parts = random.nextInt(maxParts + 1);
        for (int i = 0; i < parts; i++) {
            switch (random.nextInt(6)) {
                case 0, 1 -> sb.append(WORDS[random.nextInt(WORDS.length)]);
                case 2 -> sb.append(SEPARATORS[random.nextInt(SEPARATORS.length)]);
                case 3 -> sb.append(random.nextInt(100_000));
                case 4 -> sb.appendCodePoint(randomCodePoint(random));
                default -> {
                    for (int k = random.nextInt(6) + 1; k > 0; k--) {
                        sb.append((char) ('a' + random.nextInt(26)));
                    }
                }
            }
        }
        return sb.toString();
    }

    /** A random assigned-ish code point from a spread of scripts and planes. */
    static int randomCodePoint(Random random) {
        int[][] ranges = {{0x21, 0x3B}, {0x3F, 0x7E}, {0xC0, 0x24F}, {0x370, 0x3FF}, {0x400, 0x4FF},
            {0x600, 0x6FF}, {0x900, 0x97F}, {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3},
            {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF}, {0x20000, 0x2A6DF}};
        int[] range = ranges[random.nextInt(ranges.length)];
        return range[0] + random.nextInt(range[1] - range[0] + 1);
    }
}
