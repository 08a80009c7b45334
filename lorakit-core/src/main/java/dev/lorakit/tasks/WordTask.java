package dev.lorakit.tasks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * The tasks on a phrase: 3 to 8 consecutive plain words of one sentence (lowercase a-z, see
 * {@link Sentence}), at most {@link CorpusTask#MAX_COMPLETION_BYTES} bytes long. The prompt is the
 * instruction, the phrase and a newline, e.g. {@code "Uppercase: in the beginning god created\n"};
 * the completion is the answer alone, e.g. {@code "IN THE BEGINNING GOD CREATED"}.
 *
 * <p>Pairs that interfere (same input, a different rule, so an adapter for one is likely to
 * answer the other): reverse_words / rotate_words (two reorderings of the same words), last_word /
 * word_after (both answer one word of the phrase), uppercase / remove_vowels and remove_vowels /
 * initials (each keeps or rewrites the letters of every word).
 */
public enum WordTask implements CorpusTask {
    /** The phrase in capital letters. */
    UPPERCASE("uppercase", "Uppercase: ", "the phrase in capital letters", "remove_vowels"),
    /** The words in reverse order. */
    REVERSE_WORDS("reverse_words", "Reverse the words: ", "the words in reverse order", "rotate_words"),
    /** The first letter of every word, concatenated. */
    INITIALS("initials", "Initials: ", "the first letter of every word, concatenated", "remove_vowels"),
    /** The words rotated left by one: the first word moved to the end. */
    ROTATE_WORDS("rotate_words", "Rotate the words: ", "the words rotated left by one (the first word moved to the end)",
            "reverse_words"),
    /** The number of words, in digits. */
    COUNT_WORDS("count_words", "Count the words: ", "the number of words, in digits"),
    /** The last word. */
    LAST_WORD("last_word", "Last word: ", "the last word", "word_after"),
    /** Every word without its vowels a e i o u (y is kept); words left empty are dropped. */
    REMOVE_VOWELS("remove_vowels", "Remove the vowels: ",
            "every word without a, e, i, o, u (y is kept); words left empty are dropped", "uppercase", "initials"),
    /**
     * The word that follows the cue word, which occurs once in the phrase and is not its last
     * word. The cue ends the prompt (after the phrase), so the answer is what followed those
     * same bytes in the phrase: the lookup an induction head does.
     */
    WORD_AFTER("word_after", "Word after: ",
            "the word that follows the cue word (which occurs once in the phrase, not last)", "last_word");

    /** Fewest words in a phrase. */
    public static final int MIN_WORDS = 3;
    /** Most words in a phrase. */
    public static final int MAX_WORDS = 8;

    private final String taskName;
    private final String instruction;
    private final String description;
    private final List<String> interferesWith;

    WordTask(String taskName, String instruction, String description, String... interferesWith) {
        this.taskName = taskName;
        this.instruction = instruction;
        this.description = description;
        this.interferesWith = List.of(interferesWith);
    }

    @Override
    public String instruction() {
        return instruction;
    }

    @Override
    public String promptFormat() {
        return instruction + (this == WORD_AFTER ? "<phrase>\n<cue word> " : "<phrase>\n");
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public List<String> interferesWith() {
        return interferesWith;
    }

    @Override
    public String taskName() {
        return taskName;
    }

    /**
     * The prompt for a phrase: the instruction, the phrase and a newline; for {@link #WORD_AFTER}
     * then the cue word and a space ({@code cue} is ignored by the other tasks).
     */
    public String prompt(List<String> words, String cue) {
        String prompt = instruction + String.join(" ", words) + "\n";
        return this == WORD_AFTER ? prompt + cue + " " : prompt;
    }

    /** The answer for a phrase; {@link #WORD_AFTER} needs a cue: use {@link #wordAfter}. */
    public String completion(List<String> words) {
        return switch (this) {
            case UPPERCASE -> String.join(" ", words).toUpperCase(Locale.ROOT);
            case REVERSE_WORDS -> {
                List<String> reversed = new ArrayList<>(words);
                Collections.reverse(reversed);
                yield String.join(" ", reversed);
            }
            case INITIALS -> {
                StringBuilder sb = new StringBuilder();
                for (String w : words) {
                    sb.append(w.charAt(0));
                }
                yield sb.toString();
            }
            case ROTATE_WORDS -> {
                List<String> rotated = new ArrayList<>(words.subList(1, words.size()));
                rotated.add(words.getFirst());
                yield String.join(" ", rotated);
            }
            case COUNT_WORDS -> Integer.toString(words.size());
            case LAST_WORD -> words.getLast();
            case REMOVE_VOWELS -> {
                List<String> kept = new ArrayList<>();
                for (String w : words) {
                    String consonants = w.replaceAll("[aeiouAEIOU]", "");
                    if (!consonants.isEmpty()) {
                        kept.add(consonants);
                    }
                }
                yield String.join(" ", kept);
            }
            case WORD_AFTER -> throw new IllegalStateException("word_after needs a cue word: use WordTask.wordAfter");
        };
    }

    /** The word after {@code cue}: the cue must occur exactly once in the phrase and not last. */
    public static String wordAfter(List<String> words, String cue) {
        int at = words.indexOf(cue);
        if (at < 0 || at != words.lastIndexOf(cue) || at == words.size() - 1) {
            throw new IllegalArgumentException("cue \"" + cue + "\" must occur exactly once in " + words + ", not last");
        }
        return words.get(at + 1);
    }

    /**
     * A phrase of the sentence: a length in [{@link #MIN_WORDS}, {@link #MAX_WORDS}] drawn
     * uniformly, then one of the sentence's windows of that length that are all plain words and
     * at most {@link CorpusTask#MAX_COMPLETION_BYTES} long, drawn uniformly; null if there is none.
     */
    public static List<String> drawPhrase(Sentence sentence, Random rng) {
        int length = MIN_WORDS + rng.nextInt(MAX_WORDS - MIN_WORDS + 1);
        List<List<String>> windows = new ArrayList<>();
        for (int start = 0; start + length <= sentence.size(); start++) {
            List<String> words = sentence.words(start, start + length);
            if (words != null && String.join(" ", words).length() <= MAX_COMPLETION_BYTES) {
                windows.add(words);
            }
        }
        return windows.isEmpty() ? null : windows.get(rng.nextInt(windows.size()));
    }

    @Override
    public Example draw(Sentence sentence, Random rng) {
        List<String> words = drawPhrase(sentence, rng);
        if (words == null) {
            return null;
        }
        String key = String.join(" ", words);
        if (this == WORD_AFTER) {
            List<String> cues = new ArrayList<>();
            for (int i = 0; i < words.size() - 1; i++) {
                String w = words.get(i);
                if (words.indexOf(w) == words.lastIndexOf(w)) {
                    cues.add(w);
                }
            }
            if (cues.isEmpty()) {
                return null;
            }
            String cue = cues.get(rng.nextInt(cues.size()));
            return new Example(key, prompt(words, cue), wordAfter(words, cue));
        }
        String completion = completion(words);
        if (completion.isEmpty() || completion.length() > MAX_COMPLETION_BYTES) {
            return null;
        }
        return new Example(key, prompt(words, null), completion);
    }
}
