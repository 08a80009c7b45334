package dev.lorakit.cli;

import dev.lorakit.BadInputException;
import dev.lorakit.demo.CaLoraSettings;
import dev.lorakit.demo.Demo;
import dev.lorakit.demo.DemoListener;
import dev.lorakit.demo.DemoOptions;
import dev.lorakit.demo.DemoReport;
import dev.lorakit.demo.DemoScenario;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit demo}: the LoRA-LEGO paper's scenarios on the bundled base model, tasks and adapters. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Reproduce the LoRA-LEGO paper's comparison at small scale on the bundled",
                "world (examples/): the base model, each task's own LoRA, the output ensemble",
                "(mean of the adapters' output distributions) and the adapter each merge method",
                "makes of them, evaluated on every task. Prints a table (systems x tasks,",
                "average, average relative to each task's own adapter) and writes",
                "OUT/report.json, OUT/chart.png and OUT/table.txt (replaced atomically).", "",
                "Scenarios: multi-task (one rank-8 LoRA per task, merged once); mixed-rank",
                "(ranks 4, 8, 16 on three tasks: ADAPTERS/mixed-rank/<task>); prune (one adapter",
                "merged alone to ranks 1..r, lego vs svd; a line chart); ca-lora (the CA-LoRA",
                "ablation: the base model compressed, each task's adapter plugged in, retrained",
                "fresh, inherited, + recovery modules, + distillation, full CA-LoRA, all with the",
                "same budget). The defaults take 1-5 minutes on 2 cores. Build the world with",
                "tools/build-examples.sh.",
                "See docs/demo.md."},
        footer = {"", "Examples:", "  lorakit demo",
                "  lorakit demo --scenario mixed-rank --out build/demo-mixed",
                "  lorakit demo --scenario prune --task rotate_words --limit 200",
                "  lorakit demo --methods lego,ties,cat --split dev --limit 50 --json",
                "  lorakit demo --scenario ca-lora --compressions q4_0,2:4,q4_0+2:4 --task all --train-steps 100"})
public final class DemoCommand implements Callable<Integer> {
    /** The files of an output directory. */
    static final String REPORT = "report.json";
    static final String CHART = "chart.png";
    static final String TABLE = "table.txt";

    @Option(names = "--base", defaultValue = "examples/base", paramLabel = "DIR", description = "Base model directory (default: ${DEFAULT-VALUE}).")
    Path base;

    @Option(names = "--adapters", defaultValue = "examples/adapters", paramLabel = "DIR",
            description = "Adapters: DIR/<task>/ per task, DIR/mixed-rank/<task>/ (default: ${DEFAULT-VALUE}).")
    Path adapters;

    @Option(names = "--tasks", defaultValue = "examples/tasks", paramLabel = "DIR",
            description = "Task suite: DIR/<task>/{train,dev,test}.jsonl (train: ca-lora only) (default: ${DEFAULT-VALUE}).")
    Path tasks;

    @Option(names = "--scenario", defaultValue = "multi-task",
            description = "multi-task, mixed-rank, prune or ca-lora (default: ${DEFAULT-VALUE}).")
    String scenario;

    @Option(names = "--split", defaultValue = "test", description = "Split to evaluate: test or dev (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--limit", paramLabel = "N",
            description = "Examples per task, a seeded subset (default: multi-task 40, mixed-rank 150, prune 200, ca-lora 100).")
    Integer limit;

    @Option(names = "--methods", split = ",", paramLabel = "M",
            description = "Merge methods (default: lego,cat,svd,fusion,ties,dare-ties,knots,magnitude; prune: lego,svd).")
    List<String> methods;

    @Option(names = "--task", paramLabel = "NAME",
            description = "prune: the task whose adapter is pruned (default: the first). ca-lora: the tasks, comma-separated,"
                    + " or all (default: uppercase,reverse_words,last_word).")
    String task;

    @Option(names = "--compressions", split = ",", paramLabel = "C",
            description = "ca-lora: compressions of the base model: q8_0, q4_0, N:M (magnitude pruning), or joined by +"
                    + " (default: q4_0+2:4).")
    List<String> compressions;

    @Option(names = "--train-steps", paramLabel = "N", description = "ca-lora: optimizer steps of every trained row (default: 30).")
    Integer trainSteps;

    @Option(names = "--train-lr", paramLabel = "LR", description = "ca-lora: peak learning rate of every trained row (default: 1e-3).")
    Double trainLr;

    @Option(names = "--train-batch-size", paramLabel = "N", description = "ca-lora: training examples per step (default: 8).")
    Integer trainBatchSize;

    @Option(names = "--out", defaultValue = "build/demo", paramLabel = "DIR",
            description = "Output directory for report.json, chart.png, table.txt (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--keep-merged", paramLabel = "DIR", description = "Keep the merged adapters in DIR/<method>/ (ca-lora: DIR/<compression>/model and DIR/<compression>/<task>/<row>/; default: a temp dir).")
    Path keepMerged;

    @Option(names = "--batch-size", defaultValue = "32", description = "Examples per batched forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the example subsets, the merges and the ca-lora training runs (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        DemoScenario sc = DemoScenario.parse(scenario);
        CaLoraSettings caLora = null;
        String pruneTask = task;
        if (sc == DemoScenario.CA_LORA) {
            caLora = CaLoraSettings.of(compressions, task == null ? null : List.of(task.split(",", -1)), trainSteps, trainLr,
                    trainBatchSize);
            pruneTask = null;
        } else if (compressions != null || trainSteps != null || trainLr != null || trainBatchSize != null) {
            throw new BadInputException("--compressions, --train-steps, --train-lr, --train-batch-size: only with --scenario ca-lora");
        }
        DemoOptions options = new DemoOptions(base, adapters, tasks, DemoOptions.parseSplit(split), limit, methods, sc, seed,
                batchSize, keepMerged, pruneTask, caLora);
        requireDemoOutput(out);
        DemoReport report;
        try (Progress progress = Progress.start("demo", 1, global)) {
            report = Demo.run(options, new DemoListener() {
                @Override
                public void planned(long units) {
                    progress.resize(units, 0);
                }

                @Override
                public void stage(String description) {
                    progress.message(description);
                }

                @Override
                public void advance(long units) {
                    progress.step(units);
                }
            });
        }
        String json = Json.pretty(report.toJson()) + "\n";
        String table = DemoTable.render(report);
        AtomicFiles.writeDirectory(out, dir -> {
            Files.writeString(dir.resolve(REPORT), json, StandardCharsets.UTF_8);
            Files.writeString(dir.resolve(TABLE), table, StandardCharsets.UTF_8);
            try (OutputStream o = Files.newOutputStream(dir.resolve(CHART))) {
                DemoChart.writePng(report, o);
            }
        });
        PrintWriter stdout = spec.commandLine().getOut();
        if (global.json) {
            Json.print(stdout, report.toJson());
        } else {
            stdout.print(table);
            stdout.println("wrote " + out.resolve(REPORT) + ", " + out.resolve(CHART) + " and " + out.resolve(TABLE));
            stdout.flush();
        }
        return 0;
    }

    /**
     * Refuses, before any work, an output path that is a file or a directory holding anything but a
     * previous demo's files (so --out can never replace an unrelated directory).
     */
    static void requireDemoOutput(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new BadInputException("--out: " + dir + " exists and is not a directory");
        }
        Set<String> ours = Set.of(REPORT, CHART, TABLE);
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path e : (Iterable<Path>) entries::iterator) {
                if (!Files.isRegularFile(e) || !ours.contains(e.getFileName().toString())) {
                    throw new BadInputException("--out: " + dir + " holds \"" + e.getFileName() + "\", which is not part of a"
                            + " demo output; refusing to replace it (choose a new directory or remove it first)");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
