package dev.lorakit.demo;

import dev.lorakit.eval.EnsembleModel;
import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.merge.MergeMethod;
import dev.lorakit.merge.MergeResult;
import dev.lorakit.model.LlamaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scenarios 1 and 3 of the paper (multi-task, mixed ranks): evaluates on every task the base
 * model, each task's own adapter (on its own task only), the output ensemble of all the adapters,
 * and the adapter each merge method makes of them (merged once). Adapters are folded into the
 * weights (merged mode), so every row costs one base-model forward per token (the ensemble n).
 */
public final class MultiTaskDemo {
    private MultiTaskDemo() {
    }

    /** Runs the table for {@code world} (located from {@code options}). */
    public static MultiTaskReport run(DemoOptions options, DemoWorld world, DemoListener listener) {
        long t0 = System.nanoTime();
        List<TaskAdapter> tasks = world.tasks();
        int n = tasks.size();
        long examples = tasks.stream().mapToLong(t -> t.data().examples().size()).sum();
        listener.planned(examples * (2L + n + options.methods().size()));
        List<Path> adapters = tasks.stream().map(TaskAdapter::adapter).toList();
        List<SystemResult> rows = new ArrayList<>();
        Path base = world.base();
        int batch = options.batchSize();
        try (DemoWorkspace merged = DemoWorkspace.open(options.keepMerged());
             LlamaModel baseModel = LlamaModel.open(base, List.of());
             TextTokenizer tok = tokenizer(base, baseModel.config())) {
            long s0 = System.nanoTime();
            rows.add(new SystemResult("base", SystemResult.Kind.BASE,
                    SuiteEvaluation.run("base", baseModel, tok, tasks, batch, 1, listener), null, null, since(s0)));

            s0 = System.nanoTime();
            Map<String, TaskResult> own = new LinkedHashMap<>();
            for (TaskAdapter t : tasks) {
                try (LlamaModel m = LlamaModel.open(base, List.of(new AdapterRef(t.adapter(), 1.0)), true)) {
                    own.putAll(SuiteEvaluation.run("own", m, tok, List.of(t), batch, 1, listener));
                }
            }
            rows.add(new SystemResult("own", SystemResult.Kind.OWN, own, null, null, since(s0)));

            s0 = System.nanoTime();
            listener.stage("open ensemble");
            List<List<AdapterRef>> members = adapters.stream().map(a -> List.of(new AdapterRef(a, 1.0))).toList();
            try (EnsembleModel ensemble = EnsembleModel.open(base, members, true)) {
                rows.add(new SystemResult("ensemble", SystemResult.Kind.ENSEMBLE,
                        SuiteEvaluation.run("ensemble", ensemble, tok, tasks, batch, n, listener), null, null, since(s0)));
            }

            for (String name : options.methods()) {
                s0 = System.nanoTime();
                MergeMethod method = DemoMerge.method(name, options.seed(), null);
                String reason = DemoMerge.notApplicable(method, adapters);
                if (reason != null) {
                    rows.add(SystemResult.skipped(name, reason));
                    listener.advance(examples);
                    continue;
                }
                listener.stage("merge " + name);
                Path out = merged.resolve(name);
                MergeResult result = DemoMerge.run(method, adapters, out);
                try (LlamaModel m = LlamaModel.open(base, List.of(new AdapterRef(out, 1.0)), true)) {
                    rows.add(new SystemResult(name, SystemResult.Kind.MERGE,
                            SuiteEvaluation.run(name, m, tok, tasks, batch, 1, listener), DemoMerge.summary(result), null,
                            since(s0)));
                }
            }
        }
        return new MultiTaskReport(options, world, rows, since(t0));
    }

    /** The base model's tokenizer with the special ids of its config. */
    static TextTokenizer tokenizer(Path base, ModelConfig c) {
        return TextTokenizer.load(base, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()));
    }

    static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
