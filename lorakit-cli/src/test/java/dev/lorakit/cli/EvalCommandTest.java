package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalCommandTest {
    @TempDir
    Path dir;

    @Test
    void evaluatesADirectoryOfTasksWithLimitAndJson() throws Exception {
        Path model = dir.resolve("m");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--dtype", "f32", "-o", model.toString()).exitCode());
        Path tasks = Files.createDirectories(dir.resolve("tasks"));
        StringBuilder pc = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            pc.append("{\"prompt\": \"p").append(i).append("\", \"completion\": \"c\"}\n");
        }
        Files.writeString(tasks.resolve("a.jsonl"), pc);
        Files.writeString(tasks.resolve("b.jsonl"), "{\"prompt\": \"Q\", \"choices\": [\"x\", \"y\"], \"answer\": 0}\n");
        Files.writeString(tasks.resolve("c.jsonl"), "{\"text\": \"some text\"}\n");
        CliRunner r = CliRunner.run("eval", "--model", model.toString(), "--data", tasks.toString(), "--limit", "3", "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode root = Json.MAPPER.readTree(r.out());
        assertEquals(3, root.get("tasks").size());
        assertEquals(3, root.get("tasks").get(0).get("examples").asInt(), "--limit 3 of 5");
        assertEquals("prompt_completion", root.get("tasks").get(0).get("kind").asText());
        assertTrue(root.get("tasks").get(2).get("metrics").get("perplexity").asDouble() > 1);
        double s0 = root.get("tasks").get(0).get("score").asDouble();
        double s1 = root.get("tasks").get(1).get("score").asDouble();
        assertEquals((s0 + s1) / 2, root.get("average_score").asDouble(), 1e-12);

        CliRunner text = CliRunner.run("eval", "--model", model.toString(), "--data", tasks.resolve("b.jsonl").toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("multiple/choice") && text.out().contains("average score"), text.out());
    }

    @Test
    void badDataIsExitCode2() throws Exception {
        Path model = dir.resolve("m");
        CliRunner.run("synth", "model", "--preset", "tiny", "-o", model.toString());
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"prompt\": 1, \"completion\": \"x\"}\n");
        CliRunner r = CliRunner.run("eval", "--model", model.toString(), "--data", f.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("bad.jsonl:1") && r.err().contains("prompt"), r.err());
    }
}
