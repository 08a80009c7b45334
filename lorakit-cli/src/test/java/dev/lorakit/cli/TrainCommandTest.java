package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
    @TempDir
    Path dir;

    @Test
    void trainsWritesAdapterLogChartAndCheckpointThenResumes() throws Exception {
        Path model = dir.resolve("m");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--dtype", "f32", "-o", model.toString()).exitCode());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append("{\"prompt\": \"n").append(i % 4).append("\", \"completion\": \" x").append(i % 4).append("\"}\n");
        }
        Path data = dir.resolve("train.jsonl");
        Files.writeString(data, sb);
        Path out = dir.resolve("out");
        CliRunner r = CliRunner.run("train", "--model", model.toString(), "--data", data.toString(), "--eval", data.toString(),
                "--rank", "2", "--targets", "q_proj,v_proj", "--steps", "3", "--batch-size", "4", "--lr", "1e-2", "-o", out.toString(),
                "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode root = Json.MAPPER.readTree(r.out());
        assertEquals(3, root.get("steps").asInt());
        assertTrue(root.has("eval_loss"));
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors", "training_log.jsonl", "loss.png",
                "checkpoint/trainer_state.json"}) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        assertEquals(3, Files.readAllLines(out.resolve("training_log.jsonl")).size());
        CliRunner gen = CliRunner.run("generate", "--model", model.toString(), "--adapter", out.toString(), "--prompt", "n1",
                "--max-tokens", "3", "--json");
        assertEquals(0, gen.exitCode(), gen.err());
        // resume with more steps is a different config: refused; the same config finishes at once
        CliRunner again = CliRunner.run("train", "--model", model.toString(), "--data", data.toString(), "--eval", data.toString(),
                "--rank", "2", "--targets", "q_proj,v_proj", "--steps", "3", "--batch-size", "4", "--lr", "1e-2", "-o", out.toString(),
                "--resume", "--json");
        assertEquals(0, again.exitCode(), again.err());
        CliRunner other = CliRunner.run("train", "--model", model.toString(), "--data", data.toString(), "--rank", "4",
                "--steps", "3", "-o", out.toString(), "--resume");
        assertEquals(Main.EXIT_BAD_INPUT, other.exitCode());
        assertTrue(other.err().contains("r"), other.err());
    }

    @Test
    void badDataIsRefusedAndWritesNothing() throws Exception {
        Path model = dir.resolve("m");
        CliRunner.run("synth", "model", "--preset", "tiny", "-o", model.toString());
        Path data = dir.resolve("bad.jsonl");
        Files.writeString(data, "{\"prompt\": \"a\"}\n");
        Path out = dir.resolve("out");
        CliRunner r = CliRunner.run("train", "--model", model.toString(), "--data", data.toString(), "-o", out.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("bad.jsonl:1"), r.err());
        assertFalse(Files.exists(out.resolve("adapter_model.safetensors")));
    }
}
