package dev.lorakit.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StopStringsTest {

    /** Pushes the pieces; returns what was released, with "|" between pushes and "#" if it stopped. */
    private static String stream(List<String> stops, String... pieces) {
        StopStrings matcher = new StopStrings(stops);
        StringBuilder out = new StringBuilder();
        for (String piece : pieces) {
            StopStrings.Emit emit = matcher.push(piece);
            out.append(emit.text()).append(emit.stopped() ? "#" : "|");
            if (emit.stopped()) {
                return out.toString();
            }
        }
        return out.append(matcher.finish()).toString();
    }

    @Test
    void withoutStopStringsEverythingPassesAtOnce() {
        assertEquals("ab|cd|", stream(List.of(), "ab", "cd"));
    }

    @Test
    void stopStringSplitAcrossPiecesIsHeldBackThenDropped() {
        assertEquals("Hel|lo |||#", stream(List.of("###"), "Hel", "lo #", "#", "", "# more"));
        // a false start is released once it cannot be a stop any more
        assertEquals("a|||##b|tail|", stream(List.of("###"), "a", "#", "#", "b", "tail"));
    }

    @Test
    void overlappingPrefixesAreNotLost() {
        assertEquals("|a|#", stream(List.of("ab"), "a", "a", "b"));
        assertEquals("a#", stream(List.of("ab"), "aab"));
        assertEquals("x|||a|#", stream(List.of("aab"), "x", "a", "a", "a", "b"));
    }

    @Test
    void theStopThatCompletesFirstWins() {
        // "bc" ends before "abcd" does: the same result whether the text comes whole or in pieces
        assertEquals("a#", stream(List.of("abcd", "bc"), "abcd"));
        assertEquals("|||a#", stream(List.of("abcd", "bc"), "", "a", "", "bc"));
        // at the same end the longer (earlier) one wins
        assertEquals("x#", stream(List.of("c", "abc"), "xabc"));
        assertEquals("Sure.#", stream(List.of("</s>", "\n\nUser:"), "Sure.\n\nUser: hi</s>"));
    }

    @Test
    void afterAStopNothingMoreIsReleased() {
        StopStrings matcher = new StopStrings(List.of("END"));
        assertEquals(new StopStrings.Emit("ok ", true), matcher.push("ok END trailing"));
        assertTrue(matcher.stopped());
        assertEquals(new StopStrings.Emit("", true), matcher.push("more"));
        assertEquals("", matcher.finish());
    }

    @Test
    void finishReleasesAHeldPrefixThatNeverCompleted() {
        StopStrings matcher = new StopStrings(List.of("<|eot|>"));
        assertEquals(new StopStrings.Emit("done", false), matcher.push("done<|e"));
        assertFalse(matcher.stopped());
        assertEquals("<|e", matcher.finish());
    }

    @Test
    void unicodeStopsAndSurrogatePairs() {
        assertEquals("Voilà |#", stream(List.of("。終"), "Voilà 。", "終わり"));
        assertEquals("a|😀b|", stream(List.of("😀!"), "a😀", "b"));
        assertEquals("x|#", stream(List.of("😀!"), "x😀", "!"));
        // a piece that ends inside a surrogate pair never releases the lone high surrogate
        assertEquals("a|😀b|", stream(List.of("z"), "a\uD83D", "\uDE00b"));
    }

    /**
     * Random texts, stop strings and splits: the released text always equals the text cut
     * where the first stop string completes, however the text is split into pieces.
     */
    @Test
    void anySplitGivesTheTextBeforeTheFirstCompletedStop() {
        Random random = new Random(7);
        for (int trial = 0; trial < 3000; trial++) {
            String text = randomText(random, random.nextInt(30));
            List<String> stops = new ArrayList<>();
            for (int s = random.nextInt(4); s > 0; s--) {
                stops.add(randomText(random, 1 + random.nextInt(4)));
            }
            StopStrings matcher = new StopStrings(stops);
            StringBuilder released = new StringBuilder();
            boolean stopped = false;
            int at = 0;
            while (at < text.length() && !stopped) {
                int end = Math.min(text.length(), at + random.nextInt(5));
                StopStrings.Emit emit = matcher.push(text.substring(at, end));
                released.append(emit.text());
                stopped = emit.stopped();
                at = end;
            }
            released.append(matcher.finish());
            String expected = cutAtFirstCompletedStop(text, stops);
            assertEquals(expected, released.toString(), "text " + text + " stops " + stops);
            assertEquals(expected.length() < text.length() || stopsAtEnd(text, stops), stopped || matcher.stopped());
        }
    }

    private static boolean stopsAtEnd(String text, List<String> stops) {
        return !cutAtFirstCompletedStop(text, stops).equals(text) || stops.stream().anyMatch(s -> s.isEmpty());
    }

    /** Reference: scan end positions; at the first where some stop ends, cut before the longest such stop. */
    private static String cutAtFirstCompletedStop(String text, List<String> stops) {
        for (int end = 1; end <= text.length(); end++) {
            String prefix = text.substring(0, end);
            int longest = -1;
            for (String s : stops) {
                if (prefix.endsWith(s)) {
                    longest = Math.max(longest, s.length());
                }
            }
            if (longest >= 0) {
                return text.substring(0, end - longest);
            }
        }
        return text;
    }

    private static String randomText(Random random, int length) {
        String alphabet = "aab";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
