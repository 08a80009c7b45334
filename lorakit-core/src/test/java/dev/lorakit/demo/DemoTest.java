package dev.lorakit.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.eval.EnsembleModel;
import dev.lorakit.eval.Evaluator;
import dev.lorakit.eval.TaskFile;
import dev.lorakit.eval.TaskResult;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LanguageModel;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tasks.TaskSplit;
import dev.lorakit.testing.TinyDemoWorld;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lorakit demo}'s engine on a tiny world: table completeness, identities, report layout, bad input. */
class DemoTest {
    @TempDir
    static Path root;
    static MultiTaskReport multi;

    @BeforeAll
    static void runMultiTask() throws Exception {
        TinyDemoWorld.write(root);
        multi = (MultiTaskReport) Demo.run(options(DemoScenario.MULTI_TASK, null, 4, null, null), DemoListener.NONE);
    }

    static DemoOptions options(DemoScenario scenario, List<String> methods, Integer limit, Path keep, String task) {
        return new DemoOptions(root.resolve("base"), root.resolve("adapters"), root.resolve("tasks"), TaskSplit.TEST, limit,
                methods, scenario, 0, 3, keep, task);
    }

    /** Evaluates {@code model} on the task's limited test split, as the demo does. */
    static TaskResult evaluate(LanguageModel model, String task, int limit) {
        try (TextTokenizer tok = MultiTaskDemo.tokenizer(root.resolve("base"), ((LlamaModel) firstModel(model)).config())) {
            TaskFile data = TaskFile.read(root.resolve("tasks").resolve(task).resolve("test.jsonl")).limit(limit, 0);
            return new Evaluator(model, tok, 3).evaluate(data, n -> { });
        }
    }

    private static LanguageModel firstModel(LanguageModel m) {
        return m instanceof EnsembleModel e ? e.members().get(0) : m;
    }

    static AdapterRef adapter(String... path) {
        Path p = root.resolve("adapters");
        for (String s : path) {
            p = p.resolve(s);
        }
        return new AdapterRef(p, 1.0);
    }

    @Test
    void tableHasEveryMethodOnEveryTask() {
        List<String> names = multi.systems().stream().map(SystemResult::system).toList();
        List<String> expected = new ArrayList<>(List.of("base", "own", "ensemble"));
        expected.addAll(DemoOptions.ALL_METHODS);
        assertEquals(expected, names);
        for (SystemResult s : multi.systems()) {
            assertNull(s.skipped(), s.system());
            assertEquals(TinyDemoWorld.TASKS, List.copyOf(s.results().keySet()), s.system());
            for (TaskResult r : s.results().values()) {
                assertEquals(4, r.examples(), s.system());
                assertTrue(Double.isFinite(r.metrics().get("nll")), s.system());
            }
            double mean = (s.score("alpha") + s.score("beta")) / 2;
            assertEquals(mean, s.average(), 1e-15);
            assertEquals(s.kind() == SystemResult.Kind.MERGE, s.merge() != null, s.system());
        }
        assertEquals(List.of(1.0, 1.0), multi.system("lego").merge().weights());
        assertEquals(List.of(0.5, 0.5), multi.system("fusion").merge().weights(), "fusion averages the factors");
        assertEquals(8, multi.system("cat").merge().rank(), "cat: the sum of the ranks");
        assertEquals(4, multi.system("lego").merge().rank(), "lego: k = the mean input rank");
    }

    @Test
    void rowsEqualTheirModelsEvaluatedDirectly() {
        Path base = root.resolve("base");
        for (String task : TinyDemoWorld.TASKS) {
            try (LlamaModel own = LlamaModel.open(base, List.of(adapter(task)), true);
                 LlamaModel plain = LlamaModel.open(base, List.of())) {
                assertEquals(evaluate(own, task, 4).metrics(), multi.system("own").results().get(task).metrics(), task);
                assertEquals(evaluate(plain, task, 4).metrics(), multi.system("base").results().get(task).metrics(), task);
            }
            try (EnsembleModel e = EnsembleModel.open(base, List.of(List.of(adapter("alpha")), List.of(adapter("beta"))), true)) {
                assertEquals(evaluate(e, task, 4).metrics(), multi.system("ensemble").results().get(task).metrics(), task);
            }
        }
    }

    @Test
    void catIsTheSumOfTheAdaptersAppliedUnmerged() {
        // cat's adapter is exactly B_1 A_1 s_1 + B_2 A_2 s_2: the model with both adapters applied
        // (unmerged, as lorakit applies several --adapter) gives the same scores and, up to float
        // rounding of the merged weights, the same NLL.
        try (LlamaModel both = LlamaModel.open(root.resolve("base"), List.of(adapter("alpha"), adapter("beta")), false)) {
            for (String task : TinyDemoWorld.TASKS) {
                TaskResult direct = evaluate(both, task, 4);
                TaskResult cat = multi.system("cat").results().get(task);
                assertEquals(direct.score(), cat.score(), task);
                assertEquals(direct.metrics().get("nll"), cat.metrics().get("nll"), 1e-4, task);
                assertEquals(direct.metrics().get("completion_tokens"), cat.metrics().get("completion_tokens"), task);
            }
        }
        assertTrue(multi.system("cat").merge().maxRelativeError() < 1e-6, "cat is exact");
        // svd keeps rank 4 of the rank-8 sum: not exact, so not the same model
        assertTrue(multi.system("svd").merge().meanRelativeError() > 1e-3);
    }

    @Test
    void reportJsonHasTheDocumentedLayout() throws Exception {
        JsonNode json = new ObjectMapper().readTree(multi.toJson().toString());
        assertEquals("lorakit-demo", json.get("format").asText());
        assertEquals(DemoReport.FORMAT, json.get("version").asInt());
        assertEquals("multi-task", json.get("scenario").asText());
        assertEquals("test", json.get("split").asText());
        assertEquals(4, json.get("limit").asInt());
        assertEquals(8, json.get("methods").size());
        assertEquals(2, json.get("tasks").size());
        JsonNode alpha = json.get("tasks").get(0);
        assertEquals("alpha", alpha.get("task").asText());
        assertEquals("prompt_completion", alpha.get("kind").asText());
        assertEquals(4, alpha.get("examples").asInt());
        assertEquals(4, alpha.get("rank").asInt());
        assertEquals(root.resolve("adapters").resolve("alpha").toString(), alpha.get("adapter").asText());
        assertEquals(11, json.get("systems").size());
        for (JsonNode s : json.get("systems")) {
            String name = s.get("system").asText();
            SystemResult row = multi.system(name);
            assertEquals(row.kind().name().toLowerCase(java.util.Locale.ROOT), s.get("kind").asText());
            for (String task : TinyDemoWorld.TASKS) {
                assertEquals(row.score(task), s.get("scores").get(task).asDouble(), name);
                assertEquals(row.results().get(task).metrics().get("nll"), s.get("metrics").get(task).get("nll").asDouble());
                assertTrue(s.get("relative").has(task));
            }
            assertEquals(row.average(), s.get("average").asDouble(), name);
            assertTrue(s.has("average_relative") && s.has("seconds"), name);
            assertEquals(row.kind() == SystemResult.Kind.MERGE, s.has("merge"), name);
            if (s.has("merge")) {
                assertEquals(row.merge().rank(), s.get("merge").get("rank").asInt());
                assertEquals(2, s.get("merge").get("weights").size());
                assertTrue(s.get("merge").has("mean_relative_error") && s.get("merge").has("max_relative_error"));
            }
        }
        assertEquals(2, json.get("systems").get(2).get("members").asInt(), "the ensemble's member count");
        assertTrue(json.get("seconds").asDouble() > 0);
    }

    @Test
    void relativeScoresDivideByTheOwnAdaptersScore() {
        MultiTaskReport r = new MultiTaskReport(multi.options(), multi.world(), List.of(
                row("own", SystemResult.Kind.OWN, 0.5, 0.0),
                row("lego", SystemResult.Kind.MERGE, 0.25, 0.75)), 1.0);
        SystemResult lego = r.system("lego");
        assertEquals(0.5, r.relative(lego, "alpha"));
        assertTrue(Double.isNaN(r.relative(lego, "beta")), "no reference where the own adapter scores 0");
        assertEquals(0.5, r.averageRelative(lego), "the mean over tasks with a reference");
        assertEquals(0.5, lego.average());
        JsonNode json = r.toJson();
        assertTrue(json.get("systems").get(1).get("relative").get("beta").isNull());
        assertEquals(0.5, json.get("systems").get(1).get("average_relative").asDouble());
    }

    private static SystemResult row(String name, SystemResult.Kind kind, double alpha, double beta) {
        return new SystemResult(name, kind, Map.of("alpha", result("alpha", alpha), "beta", result("beta", beta)).entrySet()
                .stream().sorted(Map.Entry.comparingByKey())
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a,
                        java.util.LinkedHashMap::new)), null, null, 0);
    }

    private static TaskResult result(String task, double score) {
        return new TaskResult(task, TaskFile.Kind.PROMPT_COMPLETION, 4, Map.of("exact_match", score), score);
    }

    @Test
    void mixedRanksSkipFusionAndMergeTheRest() {
        MultiTaskReport r = (MultiTaskReport) Demo.run(options(DemoScenario.MIXED_RANK, List.of("lego", "fusion", "svd"), 2,
                null, null), DemoListener.NONE);
        assertEquals(List.of(2, 4), r.world().tasks().stream().map(TaskAdapter::rank).toList());
        assertEquals(root.resolve("adapters").resolve("mixed-rank"), r.world().adapterRoot());
        SystemResult fusion = r.system("fusion");
        assertNotNull(fusion.skipped());
        assertTrue(fusion.skipped().contains("equal ranks"), fusion.skipped());
        assertTrue(fusion.results().isEmpty());
        assertEquals(3, r.system("lego").merge().rank(), "k = mean of ranks 2 and 4");
        assertEquals(4, r.system("svd").merge().rank(), "svd: the largest input rank");
        JsonNode json = r.toJson();
        JsonNode fusionJson = json.get("systems").get(4);
        assertEquals("fusion", fusionJson.get("system").asText());
        assertTrue(fusionJson.get("skipped").asText().contains("equal ranks"));
        assertTrue(!fusionJson.has("scores"));
    }

    @Test
    void pruneAtFullRankGivesTheAdaptersOwnResult() {
        Path keep = root.resolve("kept");
        PruneReport r = (PruneReport) Demo.run(options(DemoScenario.PRUNE, null, 5, keep, "beta"), DemoListener.NONE);
        assertEquals("beta", r.task().task());
        assertEquals(4, r.task().rank());
        assertEquals(List.of("lego", "svd"), r.curves().stream().map(PruneReport.Curve::method).toList());
        for (PruneReport.Curve c : r.curves()) {
            assertEquals(List.of(1, 2, 3, 4), c.points().stream().map(PruneReport.Point::rank).toList());
            PruneReport.Point full = c.points().get(3);
            assertEquals(4, full.merge().rank());
            assertTrue(full.merge().maxRelativeError() < 1e-6, c.method() + " at full rank is the adapter");
            assertEquals(r.own().score(), full.result().score(), c.method());
            assertEquals(r.own().metrics().get("nll"), full.result().metrics().get("nll"), 1e-4, c.method());
            PruneReport.Point one = c.points().get(0);
            assertEquals(1, one.merge().rank());
            assertTrue(one.merge().meanRelativeError() > 1e-3, c.method() + " at rank 1 loses something");
            for (PruneReport.Point p : c.points()) {
                assertTrue(Files.isRegularFile(keep.resolve(c.method() + "-r" + p.rank()).resolve("adapter_config.json")));
            }
        }
        // svd's rank-k truncation is the best rank-k approximation: never worse than lego's k clusters
        for (int k = 0; k < 4; k++) {
            assertTrue(r.curves().get(1).points().get(k).merge().meanRelativeError()
                    <= r.curves().get(0).points().get(k).merge().meanRelativeError() + 1e-9, "rank " + (k + 1));
        }
        JsonNode json = r.toJson();
        assertEquals("prune", json.get("scenario").asText());
        assertEquals("beta", json.get("task").asText());
        assertEquals(4, json.get("adapter_rank").asInt());
        assertEquals(r.own().score(), json.get("reference").get("own").get("score").asDouble());
        assertTrue(json.get("reference").get("base").has("nll"));
        assertEquals(4, json.get("curves").get(0).get("points").size());
        JsonNode p = json.get("curves").get(1).get("points").get(3);
        assertEquals(4, p.get("rank").asInt());
        assertTrue(p.has("score") && p.has("relative") && p.has("mean_relative_error") && p.get("metrics").has("nll"));
    }

    @Test
    void badInputNamesWhatIsMissingAndHowToBuildIt() throws Exception {
        BadInputException e = assertThrows(BadInputException.class, () -> Demo.run(new DemoOptions(root.resolve("nobase"),
                root.resolve("adapters"), root.resolve("tasks"), TaskSplit.TEST, 2, null, DemoScenario.MULTI_TASK, 0, 2, null, null),
                DemoListener.NONE));
        assertTrue(e.getMessage().contains("nobase not found") && e.getMessage().contains("tools/build-examples.sh"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Demo.run(new DemoOptions(root.resolve("base"), root.resolve("noadapters"),
                root.resolve("tasks"), TaskSplit.TEST, 2, null, DemoScenario.MULTI_TASK, 0, 2, null, null), DemoListener.NONE));
        assertTrue(e.getMessage().contains("noadapters not found") && e.getMessage().contains("build-examples"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> Demo.run(new DemoOptions(root.resolve("base"), root.resolve("adapters"),
                root.resolve("notasks"), TaskSplit.TEST, 2, null, DemoScenario.MULTI_TASK, 0, 2, null, null), DemoListener.NONE));
        assertTrue(e.getMessage().contains("notasks not found"), e.getMessage());
        // only one task adapter: nothing to merge
        Path one = root.resolve("one");
        Files.createDirectories(one);
        Files.createSymbolicLink(one.resolve("alpha"), root.resolve("adapters").resolve("alpha"));
        e = assertThrows(BadInputException.class, () -> Demo.run(new DemoOptions(root.resolve("base"), one,
                root.resolve("tasks"), TaskSplit.TEST, 2, null, DemoScenario.MULTI_TASK, 0, 2, null, null), DemoListener.NONE));
        assertTrue(e.getMessage().contains("at least two"), e.getMessage());
        // an adapter named after no task
        Path stray = root.resolve("stray");
        Files.createDirectories(stray);
        for (String n : List.of("alpha", "beta", "gamma")) {
            Files.createSymbolicLink(stray.resolve(n), root.resolve("adapters").resolve(n.equals("gamma") ? "alpha" : n));
        }
        e = assertThrows(BadInputException.class, () -> Demo.run(new DemoOptions(root.resolve("base"), stray,
                root.resolve("tasks"), TaskSplit.TEST, 2, null, DemoScenario.MULTI_TASK, 0, 2, null, null), DemoListener.NONE));
        assertTrue(e.getMessage().contains("gamma") && e.getMessage().contains("no task"), e.getMessage());
        // options
        assertThrows(BadInputException.class, () -> options(DemoScenario.MULTI_TASK, List.of("lego", "nope"), 2, null, null));
        assertThrows(BadInputException.class, () -> options(DemoScenario.MULTI_TASK, List.of("lego", "lego"), 2, null, null));
        assertThrows(BadInputException.class, () -> options(DemoScenario.PRUNE, List.of("cat"), 2, null, null));
        assertThrows(BadInputException.class, () -> options(DemoScenario.MULTI_TASK, null, 0, null, null));
        assertThrows(BadInputException.class, () -> options(DemoScenario.MULTI_TASK, null, 2, null, "alpha"));
        assertThrows(BadInputException.class, () -> DemoOptions.parseSplit("train"));
        assertThrows(BadInputException.class, () -> DemoScenario.parse("multitask"));
        e = assertThrows(BadInputException.class, () -> Demo.run(options(DemoScenario.PRUNE, null, 2, null, "gamma"),
                DemoListener.NONE));
        assertTrue(e.getMessage().contains("gamma"), e.getMessage());
    }
}
