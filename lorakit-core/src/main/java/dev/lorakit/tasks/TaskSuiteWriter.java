package dev.lorakit.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes a {@link TaskSuite} as {@code OUT/<task>/{train,dev,test}.jsonl} (one
 * {@code {"prompt", "completion"}} object per line, the format {@code dev.lorakit.eval.TaskFile}
 * reads) and {@code OUT/}{@value #INDEX_FILE} (task names, instructions, sizes, seed, source).
 *
 * <p>Each task directory is replaced atomically as a whole ({@link AtomicFiles#writeDirectory}),
 * then tasks.json is written atomically, last. An existing OUT may hold only a previous suite:
 * tasks.json, Markdown files (a README) and directories named after tasks; anything else is
 * refused, so {@code -o} can never write into an unrelated directory. The bytes depend only on
 * the suite (fixed key order, "\n" line ends), so the same seed gives identical files.
 */
public final class TaskSuiteWriter {
    /** The suite's index file. */
    public static final String INDEX_FILE = "tasks.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private TaskSuiteWriter() {
    }

    /** Writes the suite into {@code outDir}; see the class comment. */
    public static void write(Path outDir, TaskSuite suite) throws IOException {
        Set<String> taskNames = new HashSet<>();
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            taskNames.add(t.task().taskName());
        }
        requireSuiteDirectory(outDir, taskNames);
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            AtomicFiles.writeDirectory(outDir.resolve(t.task().taskName()), dir -> {
                for (TaskSplit split : TaskSplit.values()) {
                    Files.write(dir.resolve(split.fileName()), jsonl(t, split).getBytes(StandardCharsets.UTF_8));
                }
            });
        }
        AtomicFiles.writeString(outDir.resolve(INDEX_FILE), indexJson(suite));
    }

    /** The JSONL text of one split: one {"prompt", "completion"} object per line. */
    public static String jsonl(TaskSuite.GeneratedTask task, TaskSplit split) {
        StringBuilder sb = new StringBuilder();
        for (CorpusTask.Example ex : task.examples(split)) {
            ObjectNode line = JSON.createObjectNode();
            line.put("prompt", ex.prompt());
            line.put("completion", ex.completion());
            sb.append(compact(line)).append('\n');
        }
        return sb.toString();
    }

    /** The tasks.json text. */
    public static String indexJson(TaskSuite suite) {
        ObjectNode root = JSON.createObjectNode();
        root.put("generator", "lorakit synth tasks");
        root.put("seed", suite.seed());
        ObjectNode source = root.putObject("source");
        source.put("file", suite.sourceFile());
        source.put("sha256", suite.sourceSha256());
        ObjectNode pools = source.putObject("sentences_per_split");
        for (TaskSplit split : TaskSplit.values()) {
            pools.put(split.fileStem(), suite.sentencesPerSplit().get(split));
        }
        ObjectNode sizes = root.putObject("sizes");
        for (TaskSplit split : TaskSplit.values()) {
            sizes.put(split.fileStem(), suite.sizes().of(split));
        }
        if (!suite.sizes().trainByTask().isEmpty()) {
            ObjectNode own = root.putObject("train_by_task");
            suite.sizes().trainByTask().forEach(own::put);
        }
        root.put("max_completion_bytes", CorpusTask.MAX_COMPLETION_BYTES);
        ArrayNode tasks = root.putArray("tasks");
        for (TaskSuite.GeneratedTask t : suite.tasks()) {
            CorpusTask task = t.task();
            ObjectNode node = tasks.addObject();
            node.put("name", task.taskName());
            node.put("instruction", task.instruction());
            node.put("prompt", task.promptFormat());
            node.put("completion", task.description());
            ArrayNode interferes = node.putArray("interferes_with");
            task.interferesWith().forEach(interferes::add);
            ObjectNode files = node.putObject("files");
            for (TaskSplit split : TaskSplit.values()) {
                files.putObject(split.fileStem()).put("path", task.taskName() + "/" + split.fileName())
                        .put("examples", t.examples(split).size());
            }
        }
        DefaultPrettyPrinter pretty = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"));
        try {
            return JSON.writer(pretty).writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String compact(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Refuses an output path that is a file or a directory holding more than a task suite. */
    static void requireSuiteDirectory(Path outDir, Set<String> taskNames) throws IOException {
        if (!Files.exists(outDir)) {
            return;
        }
        if (!Files.isDirectory(outDir)) {
            throw new BadInputException(outDir + ": exists and is not a directory; choose another output path");
        }
        try (Stream<Path> entries = Files.list(outDir)) {
            for (Path e : (Iterable<Path>) entries::iterator) {
                String name = e.getFileName().toString();
                boolean ok = Files.isDirectory(e) ? taskNames.contains(name)
                        : Files.isRegularFile(e) && (name.equals(INDEX_FILE) || name.endsWith(".md"));
                if (!ok) {
                    throw new BadInputException(outDir + ": exists and holds \"" + name + "\", which is not part of a task "
                            + "suite; refusing to write into it (choose a new output path or remove it first)");
                }
            }
        }
    }
}
