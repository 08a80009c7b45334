package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.testing.TinyDemoWorld;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lorakit demo} end to end on a tiny world: output files, table, JSON, bad input exit codes. */
class DemoCommandTest {
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G'};

    @TempDir
    static Path root;

    @BeforeAll
    static void world() throws Exception {
        TinyDemoWorld.write(root);
    }

    static String[] args(String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("demo", "--base", root.resolve("base").toString(),
                "--adapters", root.resolve("adapters").toString(), "--tasks", root.resolve("tasks").toString(),
                "--limit", "2", "--batch-size", "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void writesReportChartAndTableAndPrintsTheTable() throws Exception {
        Path out = root.resolve("out");
        CliRunner r = CliRunner.run(args("--methods", "lego,cat,fusion", "--out", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("chart.png", "report.json", "table.txt"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(out.resolve("chart.png")), 4));
        String table = Files.readString(out.resolve("table.txt"));
        assertTrue(r.out().startsWith(table), "stdout is the table, then where it went");
        for (String row : List.of("base", "own", "ensemble", "lego", "cat", "fusion")) {
            assertTrue(table.lines().anyMatch(l -> l.startsWith(row + " ")), row + " row in\n" + table);
        }
        assertTrue(table.contains("alpha") && table.contains("beta") && table.contains("vs own"), table);
        JsonNode report = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals("multi-task", report.get("scenario").asText());
        assertEquals(6, report.get("systems").size());
        assertEquals(2, report.get("tasks").get(1).get("examples").asInt());

        // a second run replaces the previous output; --json prints the report
        CliRunner j = CliRunner.run(args("--methods", "svd", "--out", out.toString(), "--json"));
        assertEquals(0, j.exitCode(), j.err());
        JsonNode printed = Json.MAPPER.readTree(j.out());
        assertEquals(List.of("svd"), List.of(printed.get("methods").get(0).asText()));
        assertEquals(4, printed.get("systems").size());
        assertEquals(printed.get("systems"), Json.MAPPER.readTree(out.resolve("report.json").toFile()).get("systems"));
    }

    @Test
    void pruneScenarioDrawsScoreAgainstRank() throws Exception {
        Path out = root.resolve("prune");
        Path kept = root.resolve("kept");
        CliRunner r = CliRunner.run(args("--scenario", "prune", "--task", "alpha", "--out", out.toString(),
                "--keep-merged", kept.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(out.resolve("chart.png")), 4));
        JsonNode report = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals("alpha", report.get("task").asText());
        assertEquals(4, report.get("curves").get(0).get("points").size());
        String table = Files.readString(out.resolve("table.txt"));
        assertEquals(4, table.lines().filter(l -> l.matches("\\s*[1-4]\\s.*")).count(), table);
        assertTrue(table.contains("own adapter (rank 4)"), table);
        assertTrue(Files.isRegularFile(kept.resolve("svd-r2").resolve("adapter_config.json")));
        assertTrue(Files.isRegularFile(kept.resolve("lego-r4").resolve("adapter_model.safetensors")));
    }

    @Test
    void caLoraScenarioPrintsTheAblationGrid() throws Exception {
        Path out = root.resolve("ca");
        CliRunner r = CliRunner.run(args("--scenario", "ca-lora", "--task", "alpha,beta", "--compressions", "q8_0",
                "--train-steps", "1", "--train-batch-size", "2", "--out", out.toString()));
        assertEquals(0, r.exitCode(), r.err());
        assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(out.resolve("chart.png")), 4));
        String table = Files.readString(out.resolve("table.txt"));
        for (String row : List.of("uncompressed+lora", "plugged", "fresh", "inherit", "inherit+recovery", "inherit+distill",
                "ca-lora")) {
            assertTrue(table.lines().anyMatch(l -> l.startsWith(row + " ")), row + " row in\n" + table);
        }
        assertTrue(table.contains("q8_0:") && table.contains("gap closed"), table);
        JsonNode report = Json.MAPPER.readTree(out.resolve("report.json").toFile());
        assertEquals("ca-lora", report.get("scenario").asText());
        assertEquals(1, report.get("training").get("steps").asInt());
        assertEquals(7, report.get("settings").get(0).get("rows").size());
    }

    @Test
    void badInputIsExitCode2WithAOneLineMessage() throws Exception {
        Path out = root.resolve("bad-out");
        CliRunner r = CliRunner.run("demo", "--base", root.resolve("missing").toString(), "--out", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("missing not found") && r.err().contains("tools/build-examples.sh"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(out), "nothing written");

        r = CliRunner.run("demo", "--base", root.resolve("base").toString(), "--adapters", root.resolve("none").toString(),
                "--tasks", root.resolve("tasks").toString(), "--out", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("none not found"), r.err());

        for (String[] bad : List.of(new String[] {"--scenario", "nope"}, new String[] {"--split", "train"},
                new String[] {"--methods", "lego,bogus"}, new String[] {"--limit", "0"},
                new String[] {"--scenario", "prune", "--methods", "cat"}, new String[] {"--task", "alpha"},
                new String[] {"--scenario", "prune", "--task", "nope"}, new String[] {"--batch-size", "0"},
                new String[] {"--compressions", "q4_0"}, new String[] {"--scenario", "ca-lora", "--compressions", "q5"},
                new String[] {"--scenario", "ca-lora", "--methods", "lego"},
                new String[] {"--scenario", "ca-lora", "--task", "nope"},
                new String[] {"--scenario", "ca-lora", "--train-steps", "0"})) {
            List<String> a = new java.util.ArrayList<>(List.of("demo", "--base", root.resolve("base").toString(),
                    "--adapters", root.resolve("adapters").toString(), "--tasks", root.resolve("tasks").toString(),
                    "--out", out.toString()));
            a.addAll(List.of(bad));
            CliRunner b = CliRunner.run(a.toArray(String[]::new));
            assertEquals(Main.EXIT_BAD_INPUT, b.exitCode(), String.join(" ", bad) + ": " + b.err());
            assertTrue(b.err().startsWith("lorakit: error: "), b.err());
        }
        assertFalse(Files.exists(out), "nothing written");

        // an output directory holding other things is refused before any work
        Path busy = Files.createDirectories(root.resolve("busy"));
        Files.writeString(busy.resolve("notes.md"), "mine");
        r = CliRunner.run(args("--methods", "cat", "--out", busy.toString()));
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("notes.md"), r.err());
        assertEquals("mine", Files.readString(busy.resolve("notes.md")));
    }
}
