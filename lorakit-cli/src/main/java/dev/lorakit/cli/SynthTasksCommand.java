package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.tasks.HeldOutText;
import dev.lorakit.tasks.SplitSizes;
import dev.lorakit.tasks.TaskCatalog;
import dev.lorakit.tasks.TaskSuite;
import dev.lorakit.tasks.TaskSuiteGenerator;
import dev.lorakit.tasks.TaskSuiteWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lorakit synth tasks}: draws the prompt/completion task suite from held-out corpus text. */
@Command(name = "tasks", mixinStandardHelpOptions = true,
        description = {"Write lorakit's task suite (uppercase, reverse_words, initials, rotate_words, count_words, last_word,",
                "remove_vowels, word_after, continuation) as OUT/<task>/{train,dev,test}.jsonl plus OUT/tasks.json,",
                "drawn from the held-out split of a corpus built by tools/build-corpus.sh. Same seed, same bytes."},
        footer = {"", "--corpus is a directory holding validation.txt (one paragraph per line), or such a file.",
                "Example:", "  tools/build-corpus.sh && lorakit synth tasks --corpus build/corpus -o examples/tasks"})
final class SynthTasksCommand implements Callable<Integer> {
    @Option(names = "--corpus", required = true, description = "Corpus directory (its validation.txt is the held-out text) or a text file.")
    Path corpus;

    @Option(names = {"-o", "--output"}, required = true,
            description = "Output directory (task directories and tasks.json are each replaced atomically).")
    Path output;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--train", defaultValue = "2000", description = "Train examples per task (default: ${DEFAULT-VALUE}).")
    int train;

    @Option(names = "--train-for", paramLabel = "TASK=N",
            description = "Train examples for one task instead of --train (repeatable), e.g. word_after=40000.")
    Map<String, Integer> trainFor = new LinkedHashMap<>();

    @Option(names = "--dev", defaultValue = "200", description = "Dev examples per task (default: ${DEFAULT-VALUE}).")
    int dev;

    @Option(names = "--test", defaultValue = "200", description = "Test examples per task (default: ${DEFAULT-VALUE}).")
    int test;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        SplitSizes sizes = new SplitSizes(train, dev, test, trainFor);
        long t0 = System.nanoTime();
        HeldOutText source = HeldOutText.read(corpus);
        TaskSuite suite = TaskSuiteGenerator.generate(source, TaskCatalog.all(), sizes, seed);
        TaskSuiteWriter.write(output, suite);
        report(spec.commandLine().getOut(), suite, (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private void report(PrintWriter out, TaskSuite suite, double seconds) {
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("kind", "tasks");
            root.put("path", output.toString());
            root.put("seed", suite.seed());
            root.put("source_sha256", suite.sourceSha256());
            ArrayNode names = root.putArray("tasks");
            suite.tasks().forEach(t -> names.add(t.task().taskName()));
            root.put("train", suite.sizes().train());
            if (!suite.sizes().trainByTask().isEmpty()) {
                ObjectNode own = root.putObject("train_by_task");
                suite.sizes().trainByTask().forEach(own::put);
            }
            root.put("dev", suite.sizes().dev());
            root.put("test", suite.sizes().test());
            root.put("seconds", seconds);
            Json.print(out, root);
        } else {
            StringBuilder own = new StringBuilder();
            suite.sizes().trainByTask().forEach((task, n) -> own.append(", ").append(task).append(": ").append(n).append(" train"));
            out.printf(Locale.ROOT, "wrote %d tasks (%d train, %d dev, %d test examples each%s) from %s (sha256 %s) to %s in %.1f s%n",
                    suite.tasks().size(), suite.sizes().train(), suite.sizes().dev(), suite.sizes().test(), own,
                    suite.sourceFile(), suite.sourceSha256().substring(0, 12), output, seconds);
        }
    }
}
