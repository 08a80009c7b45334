package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.eval.TaskExample;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.tasks.TaskCatalog;
import dev.lorakit.testing.TinyCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthTasksCommandTest {
    @TempDir
    Path dir;

    @Test
    void writesEveryTaskSplitAndTasksJsonReproducibly() throws Exception {
        Path corpus = TinyCorpus.write(dir.resolve("corpus"), 3, 120);
        Path out1 = dir.resolve("tasks1");
        Path out2 = dir.resolve("tasks2");
        String[] common = {"synth", "tasks", "--corpus", corpus.toString(), "--seed", "7", "--train", "80", "--dev", "12", "--test", "12"};
        CliRunner r = CliRunner.run(concat(common, "-o", out1.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("wrote 9 tasks (80 train, 12 dev, 12 test examples each) from validation.txt"), r.out());
        assertEquals(0, CliRunner.run(concat(common, "-o", out2.toString(), "--json")).exitCode());

        for (String task : TaskCatalog.all().stream().map(t -> t.taskName()).toList()) {
            List<TaskFile> files = TaskFile.readAll(out1.resolve(task));
            assertEquals(List.of("dev", "test", "train"), files.stream().map(TaskFile::name).toList(), task);
            assertEquals(List.of(12, 12, 80), files.stream().map(f -> f.examples().size()).toList(), task);
            assertEquals(TaskFile.Kind.PROMPT_COMPLETION, files.get(0).kind());
        }
        TaskExample.PromptCompletion first = (TaskExample.PromptCompletion) TaskFile.read(out1.resolve("uppercase/test.jsonl"))
                .examples().getFirst();
        assertTrue(first.prompt().startsWith("Uppercase: ") && first.prompt().endsWith("\n"), first.prompt());
        assertEquals(first.prompt().substring(11, first.prompt().length() - 1).toUpperCase(java.util.Locale.ROOT), first.completion());

        JsonNode index = new ObjectMapper().readTree(out1.resolve("tasks.json").toFile());
        assertEquals(7, index.get("seed").asInt());
        assertEquals(9, index.get("tasks").size());
        assertEquals(80, index.get("sizes").get("train").asInt());

        List<Path> files1 = files(out1);
        assertEquals(28, files1.size());
        for (Path f : files1) {
            assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(out2.resolve(out1.relativize(f))), f.toString());
        }
    }

    @Test
    void jsonModeReportsTheSuite() throws Exception {
        Path corpus = TinyCorpus.write(dir.resolve("corpus"), 4, 120);
        CliRunner r = CliRunner.run("synth", "tasks", "--corpus", corpus.resolve("validation.txt").toString(), "-o",
                dir.resolve("t").toString(), "--train", "40", "--dev", "5", "--test", "5", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals("tasks", json.get("kind").asText());
        assertEquals("uppercase", json.get("tasks").get(0).asText());
        assertEquals("continuation", json.get("tasks").get(8).asText());
        assertEquals(40, json.get("train").asInt());
        assertEquals(64, json.get("source_sha256").asText().length());
    }

    @Test
    void trainForGivesOneTaskItsOwnTrainSize() throws Exception {
        Path corpus = TinyCorpus.write(dir.resolve("corpus"), 3, 120);
        Path out = dir.resolve("tasks");
        CliRunner r = CliRunner.run("synth", "tasks", "--corpus", corpus.toString(), "--seed", "7", "--train", "40", "--dev",
                "10", "--test", "10", "--train-for", "word_after=90", "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("wrote 9 tasks (40 train, 10 dev, 10 test examples each, word_after: 90 train)"), r.out());
        assertEquals(90, TaskFile.read(out.resolve("word_after/train.jsonl")).examples().size());
        assertEquals(40, TaskFile.read(out.resolve("last_word/train.jsonl")).examples().size());
        JsonNode index = new ObjectMapper().readTree(out.resolve("tasks.json").toFile());
        assertEquals(90, index.get("train_by_task").get("word_after").asInt());
        assertEquals(90, index.get("tasks").get(7).get("files").get("train").get("examples").asInt());

        CliRunner bad = CliRunner.run("synth", "tasks", "--corpus", corpus.toString(), "--train-for", "wordafter=90",
                "-o", dir.resolve("bad").toString());
        assertEquals(Main.EXIT_BAD_INPUT, bad.exitCode());
        assertTrue(bad.err().contains("--train-for: no task named \"wordafter\""), bad.err());
        assertFalse(Files.exists(dir.resolve("bad")));
    }

    @Test
    void badInputExitsTwoAndWritesNothing() throws Exception {
        Path out = dir.resolve("out");
        CliRunner missing = CliRunner.run("synth", "tasks", "--corpus", dir.resolve("nope").toString(), "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, missing.exitCode());
        assertTrue(missing.err().contains("validation.txt"), missing.err());

        Path corpus = TinyCorpus.write(dir.resolve("corpus"), 5, 120);
        CliRunner zero = CliRunner.run("synth", "tasks", "--corpus", corpus.toString(), "--dev", "0", "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, zero.exitCode());
        assertTrue(zero.err().contains("--dev"), zero.err());

        CliRunner tooMany = CliRunner.run("synth", "tasks", "--corpus", corpus.toString(), "--train", "100000", "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, tooMany.exitCode());
        assertTrue(tooMany.err().contains("too little held-out text"), tooMany.err());
        assertFalse(Files.exists(out));

        CliRunner ontoCorpus = CliRunner.run("synth", "tasks", "--corpus", corpus.toString(), "--train", "20", "--dev", "5",
                "--test", "5", "-o", corpus.toString());
        assertEquals(Main.EXIT_BAD_INPUT, ontoCorpus.exitCode());
        assertTrue(ontoCorpus.err().contains("not part of a task suite"), ontoCorpus.err());
        assertEquals(2, files(corpus).size());
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    private static List<Path> files(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }
}
