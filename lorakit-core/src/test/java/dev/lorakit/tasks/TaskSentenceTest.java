package dev.lorakit.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class TaskSentenceTest {
    @Test
    void normaliseKeepsPlainWordsOnly() {
        assertEquals("earth", Sentence.normalise("earth."));
        assertEquals("lord", Sentence.normalise("LORD,"));
        assertEquals("and", Sentence.normalise("(and"));
        assertEquals("hello", Sentence.normalise("\"Hello!\""));
        assertEquals("light", Sentence.normalise("light:"));
        assertNull(Sentence.normalise("don't"));
        assertNull(Sentence.normalise("404"));
        assertNull(Sentence.normalise("--"));
        assertNull(Sentence.normalise("e.g."));
        assertNull(Sentence.normalise("x86"));
        assertNull(Sentence.normalise("..."));
        assertNull(Sentence.normalise("caf\u00e9"));
    }

    @Test
    void splitEndsSentencesAtPeriodsQuestionAndExclamationMarks() {
        List<Sentence> s = Sentence.split("In the beginning.  And God said, Let there be light: and there was light. "
                + "Who is he?\" he asked! Then");
        assertEquals(5, s.size());
        assertEquals(List.of("In", "the", "beginning."), s.get(0).tokens());
        assertEquals("And God said, Let there be light: and there was light.", s.get(1).text(0, s.get(1).size()));
        assertEquals(List.of("Who", "is", "he?\""), s.get(2).tokens());
        assertEquals(List.of("he", "asked!"), s.get(3).tokens());
        assertEquals(List.of("Then"), s.get(4).tokens());
    }

    @Test
    void wordsIsNullIfAnyTokenIsNotAPlainWord() {
        Sentence s = Sentence.split("The hacker's 2 files, and the LORD's bugs.").getFirst();
        assertNull(s.words(0, 3));
        assertEquals(List.of("files", "and", "the"), s.words(3, 6));
        assertNull(s.words(5, 7));
        assertEquals(List.of("bugs"), s.words(7, 8));
    }

    @Test
    void emptySentencesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Sentence(List.of()));
        assertEquals(0, Sentence.split("   ").size());
    }
}
