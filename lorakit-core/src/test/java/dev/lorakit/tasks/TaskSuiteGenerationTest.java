package dev.lorakit.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.eval.TaskExample;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.testing.TinyCorpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TaskSuiteGenerationTest {
    private static final SplitSizes SMALL = new SplitSizes(150, 25, 25);

    @TempDir
    Path dir;

    private static HeldOutText corpus(long seed) {
        return HeldOutText.of("validation.txt", TinyCorpus.text(seed, 150));
    }

    private static TaskSuite suite(long corpusSeed, long seed) {
        return TaskSuiteGenerator.generate(corpus(corpusSeed), TaskCatalog.all(), SMALL, seed);
    }

    @Test
    void sameSeedGivesByteIdenticalFilesAndAnotherSeedDifferentOnes() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        Path c = dir.resolve("c");
        TaskSuiteWriter.write(a, suite(11, 5));
        TaskSuiteWriter.write(b, suite(11, 5));
        TaskSuiteWriter.write(c, suite(11, 6));
        List<Path> files = files(a);
        assertEquals(1 + 3 * TaskCatalog.all().size(), files.size());
        for (Path f : files) {
            Path rel = a.relativize(f);
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(b.resolve(rel)), rel.toString());
        }
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve("uppercase/train.jsonl")),
                Files.readAllBytes(c.resolve("uppercase/train.jsonl"))));
        assertNotEquals(Files.readString(a.resolve("tasks.json")), Files.readString(c.resolve("tasks.json")));
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, 2})
    void splitsHaveTheRequestedSizesAndShareNoPhrase(long seed) {
        assertSplitsShareNoKey(suite(20 + seed, seed), SMALL);
    }

    /** Six words only: the same phrases recur in many sentences, so the cross-split check has work to do. */
    @ParameterizedTest
    @ValueSource(longs = {0, 1, 2})
    void repetitiveTextStillSharesNoPhraseAcrossSplits(long seed) {
        java.util.Random rng = new java.util.Random(seed);
        String[] vocabulary = {"and", "the", "king", "went", "to", "war"};
        StringBuilder text = new StringBuilder();
        for (int p = 0; p < 200; p++) {
            int words = 6 + rng.nextInt(10);
            for (int w = 0; w < words; w++) {
                text.append(w == 0 ? "" : " ").append(vocabulary[rng.nextInt(vocabulary.length)]);
            }
            text.append(".\n");
        }
        SplitSizes sizes = new SplitSizes(60, 15, 15);
        assertSplitsShareNoKey(TaskSuiteGenerator.generate(HeldOutText.of("v.txt", text.toString()), TaskCatalog.all(), sizes, seed),
                sizes);
    }

    private static void assertSplitsShareNoKey(TaskSuite suite, SplitSizes sizes) {
        assertEquals(TaskCatalog.all().size(), suite.tasks().size());
        Map<String, TaskSplit> owner = new HashMap<>();
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            Set<String> keys = new HashSet<>();
            Set<String> prompts = new HashSet<>();
            for (TaskSplit split : TaskSplit.values()) {
                List<CorpusTask.Example> examples = t.examples(split);
                assertEquals(sizes.of(split, t.task().taskName()), examples.size(), t.task().taskName() + " " + split);
                for (CorpusTask.Example ex : examples) {
                    assertTrue(keys.add(ex.key()), "key twice in " + t.task().taskName() + ": " + ex.key());
                    assertTrue(prompts.add(ex.prompt()), "prompt twice in " + t.task().taskName() + ": " + ex.prompt());
                    TaskSplit previous = owner.putIfAbsent(ex.key(), split);
                    assertTrue(previous == null || previous == split, "\"" + ex.key() + "\" in " + previous + " and " + split);
                }
            }
        }
    }

    @Test
    void phrasesOfDifferentSplitsComeFromDisjointSentencePools() {
        HeldOutText text = corpus(31);
        Map<TaskSplit, List<Sentence>> pools = TaskSuiteGenerator.pools(text, SMALL, 9);
        Map<Sentence, TaskSplit> poolOf = new IdentityHashMap<>();
        int total = 0;
        for (TaskSplit split : TaskSplit.values()) {
            for (Sentence s : pools.get(split)) {
                assertEquals(null, poolOf.put(s, split), "a sentence in two pools");
            }
            total += pools.get(split).size();
        }
        long usable = text.sentences().stream().filter(s -> s.size() >= WordTask.MIN_WORDS).count();
        assertEquals(usable, total);
        // proportional to 150/25/25, test first
        assertEquals(Math.round(usable * 25.0 / 200), pools.get(TaskSplit.TEST).size());
        assertEquals(Math.round(usable * 25.0 / 200), pools.get(TaskSplit.DEV).size());
        // each test phrase of a word task is a window of a test-pool sentence
        TaskSuite suite = TaskSuiteGenerator.generate(text, TaskCatalog.all(), SMALL, 9);
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            if (!(t.task() instanceof WordTask)) {
                continue;
            }
            for (TaskSplit split : TaskSplit.values()) {
                for (CorpusTask.Example ex : t.examples(split)) {
                    List<String> phrase = TaskSuiteCheck.phrase(t.task(), ex.prompt());
                    assertTrue(pools.get(split).stream().anyMatch(s -> contains(s, phrase)), ex.prompt());
                }
            }
        }
    }

    private static boolean contains(Sentence s, List<String> phrase) {
        for (int i = 0; i + phrase.size() <= s.size(); i++) {
            if (phrase.equals(s.words(i, i + phrase.size()))) {
                return true;
            }
        }
        return false;
    }

    @Test
    void everyCompletionFollowsFromItsPromptAndIsShort() {
        TaskSuite suite = suite(41, 3);
        Set<String> sentenceStarts = new HashSet<>();
        for (Sentence s : corpus(41).sentences()) {
            for (int k = 1; k <= s.size(); k++) {
                sentenceStarts.add(s.text(0, k));
            }
        }
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            for (TaskSplit split : TaskSplit.values()) {
                for (CorpusTask.Example ex : t.examples(split)) {
                    assertTrue(!ex.completion().isEmpty() && ex.completion().length() <= CorpusTask.MAX_COMPLETION_BYTES, ex.toString());
                    if (t.task() instanceof ContinuationTask) {
                        assertTrue(sentenceStarts.contains(ex.prompt()), ex.prompt());
                        assertTrue(sentenceStarts.contains(ex.prompt() + ex.completion()), ex.toString());
                        assertEquals(ContinuationTask.CONTINUATION_WORDS, ex.completion().trim().split(" ").length);
                    } else {
                        assertEquals(TaskSuiteCheck.expectedCompletion(t.task(), ex.prompt()), ex.completion(), ex.prompt());
                    }
                }
            }
        }
    }

    @Test
    void writtenFilesLoadAsPromptCompletionTaskFilesAndTasksJsonDescribesThem() throws IOException {
        TaskSuite suite = suite(51, 4);
        TaskSuiteWriter.write(dir, suite);
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            List<TaskFile> files = TaskFile.readAll(dir.resolve(t.task().taskName()));
            assertEquals(List.of("dev", "test", "train"), files.stream().map(TaskFile::name).toList());
            for (TaskFile f : files) {
                TaskSplit split = TaskSplit.valueOf(f.name().toUpperCase(java.util.Locale.ROOT));
                assertEquals(TaskFile.Kind.PROMPT_COMPLETION, f.kind());
                List<CorpusTask.Example> expected = t.examples(split);
                assertEquals(expected.size(), f.examples().size());
                for (int i = 0; i < expected.size(); i++) {
                    assertEquals(new TaskExample.PromptCompletion(expected.get(i).prompt(), expected.get(i).completion()),
                            f.examples().get(i));
                }
            }
        }
        JsonNode index = new ObjectMapper().readTree(dir.resolve("tasks.json").toFile());
        assertEquals(4, index.get("seed").asLong());
        assertEquals(suite.sourceSha256(), index.get("source").get("sha256").asText());
        assertEquals(150, index.get("sizes").get("train").asInt());
        List<String> names = new ArrayList<>();
        index.get("tasks").forEach(n -> names.add(n.get("name").asText()));
        assertEquals(TaskCatalog.all().stream().map(CorpusTask::taskName).toList(), names);
        JsonNode wordAfter = index.get("tasks").get(7);
        assertEquals("Word after: ", wordAfter.get("instruction").asText());
        assertEquals("last_word", wordAfter.get("interferes_with").get(0).asText());
        assertEquals(25, wordAfter.get("files").get("test").get("examples").asInt());
        assertEquals("word_after/test.jsonl", wordAfter.get("files").get("test").get("path").asText());
    }

    @Test
    void rewritingASuiteKeepsItsReadmeAndRefusesUnrelatedDirectories() throws IOException {
        Files.writeString(dir.resolve("README.md"), "my notes\n");
        TaskSuiteWriter.write(dir, suite(61, 1));
        TaskSuiteWriter.write(dir, suite(61, 2));
        assertEquals("my notes\n", Files.readString(dir.resolve("README.md")));
        assertEquals(2, new ObjectMapper().readTree(dir.resolve("tasks.json").toFile()).get("seed").asInt());

        Path other = dir.resolve("other");
        Files.createDirectories(other);
        Files.writeString(other.resolve("thesis.tex"), "x");
        BadInputException e = assertThrows(BadInputException.class, () -> TaskSuiteWriter.write(other, suite(61, 1)));
        assertTrue(e.getMessage().contains("thesis.tex"), e.getMessage());
        assertEquals(List.of(other.resolve("thesis.tex")), files(other));
    }

    @Test
    void aTaskOwnTrainSizeExtendsOnlyThatTaskTrainSplit() {
        SplitSizes more = new SplitSizes(150, 25, 25, Map.of("word_after", 400));
        TaskSuite common = suite(17, 3);
        TaskSuite own = TaskSuiteGenerator.generate(corpus(17), TaskCatalog.all(), more, 3);
        assertEquals(common.sentencesPerSplit(), own.sentencesPerSplit(), "the pools are cut by the common sizes");
        boolean seenWordAfter = false;
        for (int t = 0; t < common.tasks().size(); t++) {
            String name = common.tasks().get(t).task().taskName();
            for (TaskSplit split : TaskSplit.values()) {
                List<CorpusTask.Example> a = common.tasks().get(t).examples(split);
                List<CorpusTask.Example> b = own.tasks().get(t).examples(split);
                if (name.equals("word_after") && split == TaskSplit.TRAIN) {
                    assertEquals(400, b.size());
                    // same generator, same passes: the common-size split is where the longer one starts
                    assertEquals(a, b.subList(0, a.size()));
                } else if (!seenWordAfter) {
                    assertEquals(a, b, name + " " + split);
                } else {
                    assertEquals(a.size(), b.size(), name + " " + split);
                }
            }
            seenWordAfter |= name.equals("word_after");
        }
        assertSplitsShareNoKey(own, more);
        BadInputException e = assertThrows(BadInputException.class, () -> TaskSuiteGenerator.generate(corpus(17),
                TaskCatalog.all(), new SplitSizes(150, 25, 25, Map.of("word_before", 10)), 3));
        assertTrue(e.getMessage().startsWith("--train-for: no task named \"word_before\"; the tasks are uppercase, "),
                e.getMessage());
        assertThrows(BadInputException.class, () -> new SplitSizes(10, 10, 10, Map.of("uppercase", 0)));
    }

    @Test
    void tooLittleTextIsABadInputNamingTheFile() {
        HeldOutText tiny = HeldOutText.of("validation.txt", TinyCorpus.text(3, 4));
        BadInputException e = assertThrows(BadInputException.class,
                () -> TaskSuiteGenerator.generate(tiny, TaskCatalog.all(), SplitSizes.DEFAULT, 0));
        assertTrue(e.getMessage().startsWith("validation.txt: too little held-out text for task "), e.getMessage());
        assertThrows(BadInputException.class,
                () -> TaskSuiteGenerator.generate(HeldOutText.of("v.txt", "Hi there.\n"), TaskCatalog.all(), SMALL, 0));
        assertThrows(BadInputException.class, () -> new SplitSizes(10, 0, 10));
    }

    @Test
    void readFindsValidationTxtInTheCorpusDirectory() throws IOException {
        TinyCorpus.write(dir, 71, 30);
        HeldOutText fromDir = HeldOutText.read(dir);
        HeldOutText fromFile = HeldOutText.read(dir.resolve("validation.txt"));
        assertEquals(fromDir, fromFile);
        assertEquals(HeldOutText.of("validation.txt", TinyCorpus.text(71, 30)), fromDir);
        assertEquals("validation.txt", fromDir.fileName());
        BadInputException e = assertThrows(BadInputException.class, () -> HeldOutText.read(dir.resolve("nothing")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        Files.write(dir.resolve("bad.txt"), new byte[] {'a', (byte) 0xC3, '\n'});
        assertThrows(BadInputException.class, () -> HeldOutText.read(dir.resolve("bad.txt")));
    }

    private static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
