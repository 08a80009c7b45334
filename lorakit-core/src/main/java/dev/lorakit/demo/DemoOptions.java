package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import dev.lorakit.merge.MergeMethods;
import dev.lorakit.tasks.TaskSplit;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@code lorakit demo} runs: the bundled world's locations, which split and how many examples
 * per task, which merge methods, which scenario. Null {@code limit} / {@code methods} take the
 * scenario's defaults ({@link #defaultLimit}, {@link #defaultMethods}).
 *
 * @param base the base model directory
 * @param adapters the adapters directory: {@code <task>/} per task, {@code mixed-rank/<task>/}
 * @param tasks the task suite directory: {@code <task>/<split>.jsonl} (and tasks.json for the order)
 * @param split the split evaluated: test or dev
 * @param limit examples per task (a seeded subset), at least 1
 * @param methods merge methods, by their CLI names, in table order
 * @param scenario the scenario
 * @param seed seed of the example subsets and of every merge (k-means, DARE masks)
 * @param batchSize examples per batched forward pass
 * @param keepMerged where to keep the merged adapters ({@code <method>/}, prune: {@code <method>-r<k>/}); null: a temp dir
 * @param task prune: the task whose adapter is pruned; null = the first task that has an adapter
 * @param caLora ca-lora: compressions, tasks and training budget; null = the defaults (and for the other scenarios)
 */
public record DemoOptions(Path base, Path adapters, Path tasks, TaskSplit split, Integer limit, List<String> methods,
                          DemoScenario scenario, long seed, int batchSize, Path keepMerged, String task,
                          CaLoraSettings caLora) {
    /** The merge methods of the multi-task table, in order. */
    public static final List<String> ALL_METHODS = List.of("lego", "cat", "svd", "fusion", "ties", "dare-ties", "knots",
            "magnitude");
    /** Methods whose output rank is cat's sum or fusion's common rank, so they cannot prune. */
    private static final Set<String> NO_RANK = Set.of("cat", "fusion");

    /** Options of the merge scenarios (no ca-lora settings). */
    public DemoOptions(Path base, Path adapters, Path tasks, TaskSplit split, Integer limit, List<String> methods,
                       DemoScenario scenario, long seed, int batchSize, Path keepMerged, String task) {
        this(base, adapters, tasks, split, limit, methods, scenario, seed, batchSize, keepMerged, task, null);
    }

    public DemoOptions {
        if (split == TaskSplit.TRAIN) {
            throw new BadInputException("--split: the demo evaluates the test or dev split, not the training data");
        }
        if (limit == null) {
            limit = defaultLimit(scenario);
        }
        if (limit < 1) {
            throw new BadInputException("--limit: must be at least 1, got " + limit);
        }
        if (batchSize < 1) {
            throw new BadInputException("--batch-size: must be at least 1, got " + batchSize);
        }
        if (scenario == DemoScenario.CA_LORA) {
            if (methods != null) {
                throw new BadInputException("--methods: the ca-lora scenario compresses the model and adapts each task's"
                        + " adapter to it; it merges nothing");
            }
            if (caLora == null) {
                caLora = CaLoraSettings.of(null, null, null, null, null);
            }
        } else if (caLora != null) {
            throw new BadInputException("--compressions, --train-steps, --train-lr, --train-batch-size: only with "
                    + "--scenario ca-lora");
        }
        if (methods == null) {
            methods = defaultMethods(scenario);
        }
        methods = List.copyOf(methods);
        if (methods.isEmpty() && scenario != DemoScenario.CA_LORA) {
            throw new BadInputException("--methods: give at least one merge method");
        }
        Set<String> seen = new HashSet<>();
        for (String m : methods) {
            if (!MergeMethods.NAMES.contains(m)) {
                throw new BadInputException("--methods: unknown method \"" + m + "\"; expected some of "
                        + String.join(", ", MergeMethods.NAMES));
            }
            if (!seen.add(m)) {
                throw new BadInputException("--methods: \"" + m + "\" is listed twice");
            }
            if (scenario == DemoScenario.PRUNE && NO_RANK.contains(m)) {
                throw new BadInputException("--methods: " + m + " cannot prune (its rank is fixed by the input);"
                        + " the prune scenario compares methods that take a rank, e.g. lego,svd");
            }
        }
        if (task != null && scenario != DemoScenario.PRUNE) {
            throw new BadInputException("--task: only with --scenario prune (the other scenarios use every task)");
        }
    }

    /**
     * Examples per task when {@code --limit} is not given, measured so that the default run of
     * each merge scenario on the bundled world takes at most about 3 minutes on 2 cores (ca-lora,
     * which also compresses and trains, about 5).
     */
    public static int defaultLimit(DemoScenario scenario) {
        return switch (scenario) {
            case MULTI_TASK -> 40;
            case MIXED_RANK -> 150;
            case PRUNE -> 200;
            case CA_LORA -> 100;
        };
    }

    /** The methods a scenario compares when {@code --methods} is not given. */
    public static List<String> defaultMethods(DemoScenario scenario) {
        return switch (scenario) {
            case PRUNE -> List.of("lego", "svd");
            case CA_LORA -> List.of();
            case MULTI_TASK, MIXED_RANK -> ALL_METHODS;
        };
    }

    /** Parses {@code test} or {@code dev}. */
    public static TaskSplit parseSplit(String name) {
        return switch (name) {
            case "test" -> TaskSplit.TEST;
            case "dev" -> TaskSplit.DEV;
            default -> throw new BadInputException("--split: expected test or dev, got \"" + name + "\"");
        };
    }
}
