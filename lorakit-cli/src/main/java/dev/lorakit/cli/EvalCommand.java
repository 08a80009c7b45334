package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.eval.Evaluator;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LlamaModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit eval}: evaluates JSONL task files (exact match, multiple choice, perplexity). */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Evaluate a model (with adapters) on JSONL task files.", "",
                "{\"prompt\",\"completion\"}: greedy exact match and per-token NLL; {\"prompt\",\"choices\",\"answer\"}:",
                "log-likelihood accuracy; {\"text\"}: perplexity and bits per byte.",
                "A directory evaluates every *.jsonl in it and prints a per-task table plus the average score."},
        footer = {"", "Examples:", "  lorakit eval --model M --adapter A --data tasks/uppercase.jsonl",
                "  lorakit eval --model M --data tasks/ --limit 100 --json"})
public final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", required = true, paramLabel = "FILE.jsonl|DIR", description = "A task file or a directory of them.")
    Path data;

    @Option(names = "--limit", description = "Evaluate at most N examples per task (a seeded random subset).")
    Integer limit;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the --limit subset (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per batched forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (limit != null && limit < 1) {
            throw new BadInputException("--limit must be at least 1, got " + limit);
        }
        if (batchSize < 1) {
            throw new BadInputException("--batch-size must be at least 1, got " + batchSize);
        }
        List<TaskFile> tasks = new ArrayList<>();
        for (TaskFile t : TaskFile.readAll(data)) {
            tasks.add(limit == null ? t : t.limit(limit, seed));
        }
        long total = tasks.stream().mapToLong(t -> t.examples().size()).sum();
        List<TaskResult> results = new ArrayList<>();
        long t0 = System.nanoTime();
        try (LlamaModel model = modelOptions.open(); TextTokenizer tok = modelOptions.openTokenizer(model.config());
             Progress progress = Progress.start("eval", total, global)) {
            Evaluator evaluator = new Evaluator(model, tok, batchSize);
            for (TaskFile t : tasks) {
                progress.message(t.name());
                results.add(evaluator.evaluate(t, progress::step));
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double avg = results.stream().mapToDouble(TaskResult::score).filter(d -> !Double.isNaN(d)).average().orElse(Double.NaN);
        PrintWriter out = spec.commandLine().getOut();
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("model", modelOptions.model.toString());
            ArrayNode ad = root.putArray("adapters");
            modelOptions.adapters.forEach(ad::add);
            root.put("seconds", seconds);
            if (!Double.isNaN(avg)) {
                root.put("average_score", avg);
            } else {
                root.putNull("average_score");
            }
            ArrayNode arr = root.putArray("tasks");
            for (TaskResult r : results) {
                ObjectNode n = arr.addObject();
                n.put("task", r.task());
                n.put("kind", r.kind().name().toLowerCase(Locale.ROOT));
                n.put("examples", r.examples());
                if (!Double.isNaN(r.score())) {
                    n.put("score", r.score());
                }
                ObjectNode m = n.putObject("metrics");
                r.metrics().forEach(m::put);
            }
            Json.print(out, root);
            return 0;
        }
        TextTable table = new TextTable("task", "kind", ">examples", ">score", "metrics");
        for (TaskResult r : results) {
            table.row(r.task(), r.kind().name().toLowerCase(Locale.ROOT).replace('_', '/'), r.examples(),
                    Double.isNaN(r.score()) ? "-" : String.format(Locale.ROOT, "%.1f %%", 100 * r.score()), describe(r.metrics()));
        }
        table.print(out);
        if (!Double.isNaN(avg)) {
            out.printf(Locale.ROOT, "average score over %d scored task(s): %.1f %%  (%.1f s)%n",
                    results.stream().filter(r -> !Double.isNaN(r.score())).count(), 100 * avg, seconds);
        } else {
            out.printf(Locale.ROOT, "(%.1f s)%n", seconds);
        }
        return 0;
    }

    private static String describe(Map<String, Double> metrics) {
        StringBuilder sb = new StringBuilder();
        metrics.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ')
                .append(v == Math.rint(v) && Math.abs(v) < 1e12 ? Long.toString(v.longValue()) : String.format(Locale.ROOT, "%.4g", v)));
        return sb.toString();
    }
}
