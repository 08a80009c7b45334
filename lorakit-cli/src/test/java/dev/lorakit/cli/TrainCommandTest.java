package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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

    /** --stop-at stops like Ctrl-C at that step (schedule unchanged); --resume then ends where one uninterrupted run ends. */
    @Test
    void stopAtThenResumeEqualsOneRun() throws Exception {
        Path model = dir.resolve("m-stop");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--dtype", "f32", "-o", model.toString()).exitCode());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            sb.append("{\"prompt\": \"q").append(i % 6).append("\", \"completion\": \" a").append(i % 3).append("\"}\n");
        }
        Path data = Files.writeString(dir.resolve("stop.jsonl"), sb);
        List<String> common = List.of("train", "--model", model.toString(), "--data", data.toString(), "--rank", "2", "--steps",
                "6", "--batch-size", "4", "--lr", "1e-2", "--schedule", "cosine", "--warmup", "2");
        Path whole = dir.resolve("whole");
        List<String> a = new java.util.ArrayList<>(common);
        a.addAll(List.of("-o", whole.toString()));
        assertEquals(0, CliRunner.run(a.toArray(String[]::new)).exitCode());
        Path parts = dir.resolve("parts");
        List<String> b = new java.util.ArrayList<>(common);
        b.addAll(List.of("-o", parts.toString(), "--stop-at", "3", "--json"));
        CliRunner first = CliRunner.run(b.toArray(String[]::new));
        assertEquals(0, first.exitCode(), first.err());
        JsonNode j = Json.MAPPER.readTree(first.out());
        assertEquals(3, j.get("steps").asInt());
        assertEquals(6, j.get("total_steps").asInt());
        assertTrue(j.get("stopped_early").asBoolean());
        // resumed with --stop-at already reached: nothing more, no loss to report
        CliRunner idle = CliRunner.run(concat(b, "--resume"));
        assertEquals(0, idle.exitCode(), idle.err());
        assertTrue(Json.MAPPER.readTree(idle.out()).get("last_loss").isNull());
        List<String> c = new java.util.ArrayList<>(common);
        c.addAll(List.of("-o", parts.toString(), "--resume"));
        assertEquals(0, CliRunner.run(c.toArray(String[]::new)).exitCode());
        assertArrayEquals(Files.readAllBytes(whole.resolve("adapter_model.safetensors")),
                Files.readAllBytes(parts.resolve("adapter_model.safetensors")));
        CliRunner bad = CliRunner.run(concat(common, "-o", dir.resolve("bad").toString(), "--stop-at", "0"));
        assertEquals(Main.EXIT_BAD_INPUT, bad.exitCode());
        assertTrue(bad.err().contains("--stop-at"), bad.err());
    }

    private static String[] concat(List<String> head, String... tail) {
        List<String> all = new java.util.ArrayList<>(head);
        all.addAll(List.of(tail));
        return all.toArray(String[]::new);
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

    /** Plain-text data: four short sentences, repeated. */
    private Path textData() throws Exception {
        String[] sentences = {"the cat sat on the mat", "a dog ran in the park", "the sun is hot today", "we like to read books"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            sb.append("{\"text\": \"").append(sentences[(i * 7) % 4]).append("\"}\n");
        }
        Path data = dir.resolve("text.jsonl");
        Files.writeString(data, sb);
        return data;
    }

    @Test
    void fullTrainingLowersTheLossAndWritesALoadableModelDirectory() throws Exception {
        Path model = dir.resolve("m");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--dtype", "f32", "-o", model.toString()).exitCode());
        Path data = textData();
        Path out = dir.resolve("full");
        CliRunner r = CliRunner.run("train", "--full", "--model", model.toString(), "--data", data.toString(), "--steps", "30",
                "--batch-size", "8", "--seq-len", "64", "--lr", "3e-3", "--save-every", "10", "-o", out.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(30, Json.MAPPER.readTree(r.out()).get("steps").asInt());
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                "generation_config.json", "training_log.jsonl", "loss.png", "checkpoint/trainer_state.json",
                "checkpoint/optimizer.safetensors"}) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        assertFalse(Files.exists(out.resolve("adapter_config.json")), "no adapter in full mode");
        List<String> log = Files.readAllLines(out.resolve("training_log.jsonl"));
        double first = Json.MAPPER.readTree(log.getFirst()).get("loss").asDouble();
        double last = Json.MAPPER.readTree(log.getLast()).get("loss").asDouble();
        assertTrue(last < 0.2 * first && last < 1.0, "loss falls: " + first + " -> " + last);
        try (LlamaModel m = LlamaModel.open(out, List.of())) {
            assertEquals(DType.F32, m.config().torchDtype());
            float[] logits = m.logits(new int[] {0, 3 + 't', 3 + 'h', 3 + 'e'});
            assertEquals(4 * 259, logits.length);
            for (float v : logits) {
                assertTrue(Float.isFinite(v));
            }
        }
        CliRunner gen = CliRunner.run("generate", "--model", out.toString(), "--prompt", "the ", "--max-tokens", "4", "--json");
        assertEquals(0, gen.exitCode(), gen.err());
        CliRunner forward = CliRunner.run("forward", "--model", out.toString(), "--text", "the cat", "-o",
                dir.resolve("logits.safetensors").toString(), "--json");
        assertEquals(0, forward.exitCode(), forward.err());
        CliRunner eval = CliRunner.run("eval", "--model", out.toString(), "--data", data.toString(), "--json");
        assertEquals(0, eval.exitCode(), eval.err());
        // resuming the finished run with the same options does nothing more and succeeds
        CliRunner again = CliRunner.run("train", "--full", "--model", model.toString(), "--data", data.toString(), "--steps", "30",
                "--batch-size", "8", "--seq-len", "64", "--lr", "3e-3", "--save-every", "10", "-o", out.toString(), "--resume", "--json");
        assertEquals(0, again.exitCode(), again.err());
        // bf16 output
        Path half = dir.resolve("full-bf16");
        CliRunner bf = CliRunner.run("train", "--full", "--model", model.toString(), "--data", data.toString(), "--steps", "1",
                "--save-dtype", "bf16", "-o", half.toString());
        assertEquals(0, bf.exitCode(), bf.err());
        assertTrue(Files.readString(half.resolve("config.json")).contains("\"torch_dtype\": \"bfloat16\""));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--full --rank 4 | --rank: not a --full option",
            "--full --targets q_proj | --targets: not a --full option",
            "--full --alpha 8 | --alpha: not a --full option",
            "--full --rslora | --rslora: not a --full option",
            "--full --lora-dropout 0.1 | --lora-dropout: not a --full option",
            "--full --init-adapter ADAPTER | --init-adapter: not a --full option",
            "--save-dtype bf16 | --save-dtype: only with --full",
            "--full --save-dtype int8 | --save-dtype: expected f32, bf16 or f16, got \"int8\""})
    void badOptionCombinationsExitTwoAndWriteNothing(String options, String message) throws Exception {
        Path model = dir.resolve("m");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "-o", model.toString()).exitCode());
        Path data = textData();
        Path out = dir.resolve("out");
        List<String> args = new java.util.ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--steps", "1", "-o", out.toString()));
        for (String o : options.trim().split(" ")) {
            args.add(o.equals("ADAPTER") ? dir.resolve("adapter").toString() : o);
        }
        CliRunner r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), r.err());
        assertTrue(r.err().contains(message), r.err());
        assertFalse(Files.exists(out), "nothing written");
    }
}
