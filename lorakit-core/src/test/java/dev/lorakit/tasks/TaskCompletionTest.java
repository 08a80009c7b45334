package dev.lorakit.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.testing.TinyCorpus;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Each task's answer on hand-written phrases, and drawn examples against the same rules. */
class TaskCompletionTest {
    private static final List<String> PHRASE = List.of("in", "the", "beginning", "god", "created");

    @Test
    void uppercase() {
        assertEquals("IN THE BEGINNING GOD CREATED", WordTask.UPPERCASE.completion(PHRASE));
        assertEquals("Uppercase: in the beginning god created\n", WordTask.UPPERCASE.prompt(PHRASE, null));
    }

    @Test
    void reverseWordOrder() {
        assertEquals("created god beginning the in", WordTask.REVERSE_WORDS.completion(PHRASE));
        assertEquals("b a a", WordTask.REVERSE_WORDS.completion(List.of("a", "a", "b")));
    }

    @Test
    void initials() {
        assertEquals("itbgc", WordTask.INITIALS.completion(PHRASE));
        assertEquals("aab", WordTask.INITIALS.completion(List.of("a", "and", "be")));
    }

    @Test
    void rotateWordsLeftByOne() {
        assertEquals("the beginning god created in", WordTask.ROTATE_WORDS.completion(PHRASE));
        assertEquals("and a and zeal", WordTask.ROTATE_WORDS.completion(List.of("zeal", "and", "a", "and")));
    }

    @Test
    void countWords() {
        assertEquals("5", WordTask.COUNT_WORDS.completion(PHRASE));
        assertEquals("3", WordTask.COUNT_WORDS.completion(List.of("a", "a", "a")));
    }

    @Test
    void lastWord() {
        assertEquals("created", WordTask.LAST_WORD.completion(PHRASE));
    }

    @Test
    void removeVowelsDropsWordsLeftEmpty() {
        assertEquals("n th bgnnng gd crtd", WordTask.REMOVE_VOWELS.completion(PHRASE));
        assertEquals("tr sw", WordTask.REMOVE_VOWELS.completion(List.of("a", "tree", "i", "saw")));
        assertEquals("rhythm by y", WordTask.REMOVE_VOWELS.completion(List.of("rhythm", "by", "you")));
    }

    @Test
    void wordAfterACueThatOccursOnce() {
        assertEquals("god", WordTask.wordAfter(PHRASE, "beginning"));
        assertEquals("the", WordTask.wordAfter(PHRASE, "in"));
        assertEquals("Word after: in the beginning god created\ngod ", WordTask.WORD_AFTER.prompt(PHRASE, "god"));
        assertEquals("Word after: <phrase>\n<cue word> ", WordTask.WORD_AFTER.promptFormat());
        List<String> repeated = List.of("the", "man", "and", "the", "king");
        assertEquals("and", WordTask.wordAfter(repeated, "man"));
        assertThrows(IllegalArgumentException.class, () -> WordTask.wordAfter(repeated, "the"));
        assertThrows(IllegalArgumentException.class, () -> WordTask.wordAfter(repeated, "king"));
        assertThrows(IllegalArgumentException.class, () -> WordTask.wordAfter(repeated, "queen"));
        assertThrows(IllegalStateException.class, () -> WordTask.WORD_AFTER.completion(PHRASE));
    }

    @Test
    void continuationIsTheSentenceStartAndItsNextThreeTokensAsWritten() {
        Sentence s = Sentence.split("And God said, Let there be light: and there was light.").getFirst();
        CorpusTask.Example ex = ContinuationTask.example(s, 4);
        assertEquals("And God said, Let", ex.prompt());
        assertEquals(" there be light:", ex.completion());
        assertEquals(ex.prompt(), ex.key());
        assertEquals(" and there was", ContinuationTask.example(s, 7).completion());
        assertEquals(" there was light.", ContinuationTask.example(s, 8).completion());
        assertNull(ContinuationTask.example(s, 9), "only two tokens left");
        Sentence longWords = Sentence.split("It was incomprehensibilities notwithstanding counterrevolutionaries.").getFirst();
        assertNull(ContinuationTask.example(longWords, 1), "a completion over 40 bytes is refused");
    }

    @Test
    void namesAreUniqueAndInterferencePairsAreSymmetric() {
        Set<String> names = new HashSet<>();
        for (CorpusTask t : TaskCatalog.all()) {
            assertTrue(names.add(t.taskName()), t.taskName());
            assertTrue(t.taskName().matches("[a-z_]+"), t.taskName());
        }
        assertEquals(9, names.size());
        for (CorpusTask t : TaskCatalog.all()) {
            for (String other : t.interferesWith()) {
                CorpusTask o = TaskCatalog.all().stream().filter(x -> x.taskName().equals(other)).findFirst().orElseThrow();
                assertTrue(o.interferesWith().contains(t.taskName()), t.taskName() + " <-> " + other);
            }
        }
        assertEquals(List.of("rotate_words"), WordTask.REVERSE_WORDS.interferesWith());
    }

    /** Drawn phrases are windows of plain words of the sentence, 3-8 words, at most 40 bytes. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void drawnExamplesFollowTheRules(long seed) {
        Random rng = new Random(seed);
        List<Sentence> sentences = HeldOutText.of("t.txt", TinyCorpus.text(seed, 40)).sentences();
        int drawn = 0;
        for (int i = 0; i < 400; i++) {
            Sentence s = sentences.get(rng.nextInt(sentences.size()));
            List<String> phrase = WordTask.drawPhrase(s, rng);
            if (phrase != null) {
                assertTrue(phrase.size() >= WordTask.MIN_WORDS && phrase.size() <= WordTask.MAX_WORDS, phrase.toString());
                assertTrue(String.join(" ", phrase).length() <= CorpusTask.MAX_COMPLETION_BYTES, phrase.toString());
                assertTrue(isWindow(s, phrase), phrase + " not a window of " + s.tokens());
                drawn++;
            }
            for (CorpusTask task : TaskCatalog.all()) {
                CorpusTask.Example ex = task.draw(s, rng);
                if (ex == null) {
                    continue;
                }
                assertTrue(!ex.completion().isEmpty() && ex.completion().length() <= CorpusTask.MAX_COMPLETION_BYTES, ex.toString());
                if (task instanceof ContinuationTask) {
                    int promptTokens = ex.prompt().split(" ").length;
                    assertEquals(ContinuationTask.example(s, promptTokens), ex);
                    assertEquals(s.text(0, promptTokens), ex.prompt());
                } else {
                    assertEquals(ex.completion(), TaskSuiteCheck.expectedCompletion(task, ex.prompt()), ex.toString());
                }
            }
        }
        assertTrue(drawn > 100, "drew " + drawn);
    }

    private static boolean isWindow(Sentence s, List<String> phrase) {
        for (int start = 0; start + phrase.size() <= s.size(); start++) {
            if (phrase.equals(s.words(start, start + phrase.size()))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void drawPhraseLengthsCoverThreeToEight() {
        Random rng = new Random(7);
        Sentence s = Sentence.split("a b c d e f g h i j k l m n o p q r s t u v w x y z").getFirst();
        List<Integer> seen = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            List<String> p = WordTask.drawPhrase(s, rng);
            assertNotNull(p);
            if (!seen.contains(p.size())) {
                seen.add(p.size());
            }
        }
        seen.sort(null);
        assertEquals(List.of(3, 4, 5, 6, 7, 8), seen);
    }
}
