package dev.lorakit.demo;

import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.merge.MergeMethod;
import dev.lorakit.merge.MergeResult;
import dev.lorakit.model.LlamaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Scenario 4 of the paper: one adapter of rank r "merged" alone by each method at every rank
 * k = 1..r (LoRA-LEGO: k clusters of its r rank-1 units; svd: the best rank-k approximation),
 * each evaluated on the adapter's task. At k = r both give the adapter back.
 */
public final class PruneDemo {
    private PruneDemo() {
    }

    /** Runs the curves for the one task of {@code world}. */
    public static PruneReport run(DemoOptions options, DemoWorld world, DemoListener listener) {
        long t0 = System.nanoTime();
        TaskAdapter task = world.tasks().get(0);
        int r = task.rank();
        long examples = task.data().examples().size();
        listener.planned(examples * (2L + (long) r * options.methods().size()));
        Path base = world.base();
        int batch = options.batchSize();
        List<Path> input = List.of(task.adapter());
        List<PruneReport.Curve> curves = new ArrayList<>();
        TaskResult baseResult;
        TaskResult ownResult;
        try (DemoWorkspace merged = DemoWorkspace.open(options.keepMerged());
             LlamaModel baseModel = LlamaModel.open(base, List.of());
             TextTokenizer tok = MultiTaskDemo.tokenizer(base, baseModel.config())) {
            baseResult = SuiteEvaluation.runOne("base", baseModel, tok, task, batch, listener);
            try (LlamaModel m = LlamaModel.open(base, List.of(new AdapterRef(task.adapter(), 1.0)), true)) {
                ownResult = SuiteEvaluation.runOne("own", m, tok, task, batch, listener);
            }
            for (String name : options.methods()) {
                List<PruneReport.Point> points = new ArrayList<>();
                for (int k = 1; k <= r; k++) {
                    MergeMethod method = DemoMerge.method(name, options.seed(), k);
                    listener.stage("merge " + name + " rank " + k);
                    Path out = merged.resolve(name + "-r" + k);
                    MergeResult result = DemoMerge.run(method, input, out);
                    try (LlamaModel m = LlamaModel.open(base, List.of(new AdapterRef(out, 1.0)), true)) {
                        TaskResult scored = SuiteEvaluation.runOne(name + " r" + k, m, tok, task, batch, listener);
                        points.add(new PruneReport.Point(k, scored, DemoMerge.summary(result)));
                    }
                }
                curves.add(new PruneReport.Curve(name, points));
            }
        }
        return new PruneReport(options, world, baseResult, ownResult, curves, MultiTaskDemo.since(t0));
    }
}
