package dev.lorakit.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.tasks.TaskSuiteWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The inputs of one demo run, located and checked before any work: the base model directory and
 * the tasks that have an adapter for the scenario, each with its (limited) examples. Missing parts
 * of the bundled world are bad input whose message says how to build them.
 *
 * @param base the base model directory
 * @param adapterRoot the directory the scenario's adapters were found in
 * @param tasks the tasks with their adapters, in suite order (prune: the one task pruned)
 */
public record DemoWorld(Path base, Path adapterRoot, List<TaskAdapter> tasks) {
    /** Subdirectory of the adapters directory holding the mixed-rank set. */
    public static final String MIXED_RANK_DIR = "mixed-rank";
    private static final String BUILD_HINT = "run tools/build-examples.sh";

    public DemoWorld {
        tasks = List.copyOf(tasks);
    }

    /** Locates and checks everything {@code options} names; see the class comment. */
    public static DemoWorld locate(DemoOptions options) {
        Path base = options.base();
        if (!Files.isDirectory(base)) {
            throw new BadInputException(base + " not found: the bundled base model is built by tools/build-examples.sh"
                    + " (" + BUILD_HINT + ", or pass --base DIR)");
        }
        if (!Files.isRegularFile(base.resolve("config.json"))) {
            throw new BadInputException(base + ": no config.json, so not a model directory (pass --base DIR)");
        }
        Path tasksDir = options.tasks();
        if (!Files.isDirectory(tasksDir)) {
            throw new BadInputException(tasksDir + " not found: " + BUILD_HINT + " (or pass --tasks DIR)");
        }
        Path root = options.scenario() == DemoScenario.MIXED_RANK ? options.adapters().resolve(MIXED_RANK_DIR)
                : options.adapters();
        if (!Files.isDirectory(root)) {
            throw new BadInputException(root + " not found: the example adapters are trained by " + BUILD_HINT
                    + " (or pass --adapters DIR)");
        }
        List<String> names = taskNames(tasksDir);
        for (String dir : adapterDirectories(root)) {
            if (!names.contains(dir)) {
                throw new BadInputException(root.resolve(dir) + ": an adapter for \"" + dir + "\", but " + tasksDir
                        + " has no task of that name (tasks: " + String.join(", ", names) + ")");
            }
        }
        List<String> withAdapter = names.stream().filter(n -> isAdapter(root.resolve(n))).toList();
        List<String> chosen;
        if (options.scenario() == DemoScenario.PRUNE) {
            if (options.task() != null) {
                if (!names.contains(options.task())) {
                    throw new BadInputException("--task: no task \"" + options.task() + "\" in " + tasksDir + " (tasks: "
                            + String.join(", ", names) + ")");
                }
                if (!withAdapter.contains(options.task())) {
                    throw new BadInputException("--task: " + root.resolve(options.task()) + " is not an adapter directory"
                            + " (no " + PeftKeys.CONFIG_FILE + "); " + BUILD_HINT);
                }
                chosen = List.of(options.task());
            } else if (withAdapter.isEmpty()) {
                throw new BadInputException(root + ": no task adapters (<task>/" + PeftKeys.CONFIG_FILE + "); " + BUILD_HINT);
            } else {
                chosen = List.of(withAdapter.get(0));
            }
        } else if (options.scenario() == DemoScenario.CA_LORA) {
            CaLoraSettings ca = options.caLora();
            if (ca.allTasks()) {
                if (withAdapter.isEmpty()) {
                    throw new BadInputException(root + ": no task adapters (<task>/" + PeftKeys.CONFIG_FILE + "); " + BUILD_HINT);
                }
                chosen = withAdapter;
            } else {
                for (String name : ca.tasks()) {
                    if (!names.contains(name)) {
                        throw new BadInputException("--task: no task \"" + name + "\" in " + tasksDir + " (tasks: "
                                + String.join(", ", names) + ", or all)");
                    }
                    if (!withAdapter.contains(name)) {
                        throw new BadInputException("--task: " + root.resolve(name) + " is not an adapter directory (no "
                                + PeftKeys.CONFIG_FILE + "); " + BUILD_HINT);
                    }
                }
                chosen = ca.tasks();
            }
        } else {
            if (withAdapter.size() < 2) {
                throw new BadInputException(root + ": found " + withAdapter.size() + " task adapter(s) " + withAdapter
                        + "; the " + options.scenario().cliName() + " scenario merges at least two (" + BUILD_HINT + ")");
            }
            chosen = withAdapter;
        }
        List<TaskAdapter> tasks = new ArrayList<>();
        for (String name : chosen) {
            Path file = tasksDir.resolve(name).resolve(options.split().fileName());
            if (!Files.isRegularFile(file)) {
                throw new BadInputException(file + " not found: task \"" + name + "\" has no " + options.split().fileStem()
                        + " split (" + BUILD_HINT + ")");
            }
            TaskFile data = TaskFile.read(file);
            if (data.kind() == TaskFile.Kind.TEXT) {
                throw new BadInputException(file + ": a text (perplexity) task; the demo compares tasks scored by exact match"
                        + " or accuracy");
            }
            tasks.add(new TaskAdapter(name, data.limit(options.limit(), options.seed()), root.resolve(name),
                    adapterRank(root.resolve(name))));
        }
        return new DemoWorld(base, root, tasks);
    }

    /** Task names in tasks.json order when it exists, else the subdirectories holding any .jsonl, sorted. */
    static List<String> taskNames(Path tasksDir) {
        Path index = tasksDir.resolve(TaskSuiteWriter.INDEX_FILE);
        Set<String> names = new LinkedHashSet<>();
        if (Files.isRegularFile(index)) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(index.toFile());
            } catch (IOException e) {
                throw new BadInputException(index + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")");
            }
            JsonNode list = root.get("tasks");
            if (list == null || !list.isArray()) {
                throw new BadInputException(index + ": field \"tasks\" must be an array of {\"name\": ...} objects");
            }
            for (JsonNode t : list) {
                JsonNode name = t.get("name");
                if (name == null || !name.isTextual() || name.asText().isEmpty()) {
                    throw new BadInputException(index + ": every entry of \"tasks\" needs a non-empty string \"name\"");
                }
                names.add(name.asText());
            }
        } else {
            try (Stream<Path> dirs = Files.list(tasksDir)) {
                dirs.filter(Files::isDirectory).filter(DemoWorld::holdsJsonl).map(p -> p.getFileName().toString()).sorted()
                        .forEach(names::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (names.isEmpty()) {
            throw new BadInputException(tasksDir + ": no tasks (expected <task>/test.jsonl directories or tasks.json)");
        }
        return List.copyOf(names);
    }

    private static boolean holdsJsonl(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".jsonl"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Names of the subdirectories of {@code root} that hold an adapter_config.json. */
    private static List<String> adapterDirectories(Path root) {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(DemoWorld::isAdapter).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isAdapter(Path dir) {
        return Files.isRegularFile(dir.resolve(PeftKeys.CONFIG_FILE));
    }

    /** The largest rank of the adapter's modules (opening it checks its files). */
    private static int adapterRank(Path dir) {
        try (LoraAdapter adapter = LoraAdapter.open(dir)) {
            return adapter.modules().stream().mapToInt(LoraModule::rank).max()
                    .orElseThrow(() -> new BadInputException(dir + ": the adapter has no modules"));
        }
    }
}
