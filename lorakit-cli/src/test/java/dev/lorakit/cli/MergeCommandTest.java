package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeCommandTest {
    @TempDir
    Path dir;

    @Test
    void catWritesAnAdapterAReportAndJson() throws Exception {
        Path a = TinyAdapters.llama(1, 1, 32, 16, 64).rank(4).write(dir.resolve("a"));
        Path b = TinyAdapters.llama(2, 1, 32, 16, 64).rank(2).rslora(true).write(dir.resolve("b"));
        Path out = dir.resolve("merged");
        Path report = dir.resolve("report.json");
        CliRunner r = CliRunner.run("merge", "--method", "cat", "--weights", "0.5,2", "--report", report.toString(),
                "--json", "-o", out.toString(), a.toString(), b.toString());
        assertEquals(0, r.exitCode(), r.err());
        JsonNode summary = new ObjectMapper().readTree(r.out());
        assertEquals("cat", summary.get("method").asText());
        assertEquals(6, summary.get("rank").asInt());
        assertEquals(7, summary.get("module_count").asInt());
        assertTrue(summary.get("max_relative_error").asDouble() < 1e-6);
        assertFalse(summary.has("modules"));
        JsonNode full = new ObjectMapper().readTree(report.toFile());
        assertEquals(7, full.get("modules").size());
        assertEquals(0.5, full.get("inputs").get(0).get("weight").asDouble());
        try (LoraAdapter merged = LoraAdapter.open(out)) {
            assertEquals(6, merged.config().r());
            assertEquals(7, merged.modules().size());
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"lego", "cat", "svd", "fusion", "ties", "dare-linear",
            "dare-ties", "magnitude", "knots"})
    void everyMethodWritesALoadableAdapterAndAReport(String method) throws Exception {
        Path a = TinyAdapters.llama(1, 1, 32, 16, 64).rank(4).write(dir.resolve("a"));
        Path b = TinyAdapters.llama(2, 1, 32, 16, 64).rank(4).alpha(16).write(dir.resolve("b"));
        Path out = dir.resolve("merged-" + method);
        Path report = dir.resolve(method + ".json");
        CliRunner r = CliRunner.run("merge", "--method", method, "--seed", "3", "--report", report.toString(), "-o",
                out.toString(), a.toString(), b.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains(method), r.out());
        JsonNode full = new ObjectMapper().readTree(report.toFile());
        assertEquals(method, full.get("method").asText());
        assertEquals(7, full.get("modules").size());
        try (LoraAdapter merged = LoraAdapter.open(out)) {
            assertEquals(full.get("rank").asInt(), merged.config().r());
            assertEquals(7, merged.modules().size());
            assertEquals(1.0, merged.modules().get(0).scaling());
        }
    }

    @Test
    void badInputExitsTwoAndWritesNothing() throws Exception {
        Path a = TinyAdapters.llama(1, 1, 32, 16, 64).write(dir.resolve("a"));
        Path out = dir.resolve("merged");
        CliRunner r = CliRunner.run("merge", "--method", "nope", "-o", out.toString(), a.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("--method"), r.err());
        r = CliRunner.run("merge", "--method", "cat", "-o", out.toString(), a.toString(), dir.resolve("missing").toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("missing"), r.err());
        r = CliRunner.run("merge", "--method", "cat", "--weights", "1,2", "-o", out.toString(), a.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        r = CliRunner.run("merge", "--method", "cat", "-o", a.toString(), a.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        r = CliRunner.run("merge", "--method", "cat", "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        Path b = TinyAdapters.llama(2, 1, 32, 16, 64).rank(2).write(dir.resolve("b"));
        r = CliRunner.run("merge", "--method", "fusion", "-o", out.toString(), a.toString(), b.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("rank"), r.err());
        r = CliRunner.run("merge", "--method", "lego", "--rank", "0", "-o", out.toString(), a.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        r = CliRunner.run("merge", "--method", "ties", "--density", "1.5", "-o", out.toString(), a.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertFalse(Files.exists(out));
    }
}
