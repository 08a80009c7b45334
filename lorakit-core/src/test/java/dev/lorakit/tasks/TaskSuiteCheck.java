package dev.lorakit.tasks;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Test helper: recomputes a word task's completion from its prompt text alone. */
final class TaskSuiteCheck {
    private static final Pattern WORD_AFTER = Pattern.compile("Word after: ([a-z ]+)\n([a-z]+) ");

    private TaskSuiteCheck() {
    }

    /** The completion the prompt's rule gives; for the continuation task, null (it needs the source). */
    static String expectedCompletion(CorpusTask task, String prompt) {
        if (!(task instanceof WordTask w)) {
            return null;
        }
        if (w == WordTask.WORD_AFTER) {
            Matcher m = WORD_AFTER.matcher(prompt);
            assertTrue(m.matches(), prompt);
            return WordTask.wordAfter(words(m.group(1)), m.group(2));
        }
        assertTrue(prompt.startsWith(w.instruction()) && prompt.endsWith("\n"), prompt);
        return w.completion(words(prompt.substring(w.instruction().length(), prompt.length() - 1)));
    }

    /** The phrase of a word task's prompt. */
    static List<String> phrase(CorpusTask task, String prompt) {
        String afterInstruction = prompt.substring(prompt.indexOf(": ") + 2);
        return words(afterInstruction.substring(0, afterInstruction.indexOf('\n')));
    }

    private static List<String> words(String phrase) {
        List<String> words = Arrays.asList(phrase.split(" "));
        for (String w : words) {
            assertTrue(w.matches("[a-z]+"), "not a plain word: \"" + w + "\" in \"" + phrase + "\"");
        }
        assertTrue(words.size() >= WordTask.MIN_WORDS && words.size() <= WordTask.MAX_WORDS, phrase);
        return words;
    }
}
