package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lorakit adapt} end to end on the tiny model: synth, compress to Q4_0, train a LoRA on the
 * uncompressed model, adapt it; the output (adapter + recovery files, log with ce_loss and
 * kd_loss, chart, checkpoint) loads in generate/forward (merged too); resume; and each kind of
 * bad input exits 2 with one line, writing nothing.
 */
class AdaptCommandTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path compressed;
    static Path lora;
    static Path data;

    @BeforeAll
    static void setup() throws Exception {
        model = dir.resolve("m");
        assertEquals(0, CliRunner.run("synth", "model", "--preset", "tiny", "--dtype", "f32", "-o", model.toString()).exitCode());
        compressed = dir.resolve("mq");
        CliRunner c = CliRunner.run("compress", "--model", model.toString(), "--quantize", "q4_0", "-o", compressed.toString());
        assertEquals(0, c.exitCode(), c.err());
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append("{\"prompt\": \"n").append(i % 4).append("\", \"completion\": \" x").append(i % 4).append("\"}\n");
        }
        data = dir.resolve("train.jsonl");
        Files.writeString(data, sb);
        lora = dir.resolve("lora");
        CliRunner t = CliRunner.run("train", "--model", model.toString(), "--data", data.toString(), "--rank", "2",
                "--targets", "q_proj,v_proj", "--steps", "2", "--batch-size", "4", "--lr", "1e-2", "-o", lora.toString());
        assertEquals(0, t.exitCode(), t.err());
    }

    static List<String> args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("adapt", "--teacher", model.toString(), "--model", compressed.toString(),
                "--adapter", lora.toString(), "--data", data.toString(), "--steps", "2", "--batch-size", "4", "--lr", "1e-2",
                "-o", out.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void adaptsWritesAdapterRecoveryLogChartAndCheckpointThenLoadsAndResumes() throws Exception {
        Path out = dir.resolve("out");
        CliRunner r = CliRunner.run(args(out, "--eval", data.toString(), "--kd-weight", "0.5", "--json").toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        JsonNode root = Json.MAPPER.readTree(r.out());
        assertEquals(2, root.get("steps").asInt());
        assertTrue(root.has("eval_loss"));
        assertEquals(14, root.get("recovery_modules").asInt(), "7 projections x 2 layers");
        assertEquals(0.5, root.get("kd_weight").asDouble());
        assertEquals("final", root.get("kd_layer").asText());
        // rank 2 (the LoRA's): q [2,64]+[64,2], k,v [2,64]+[32,2], o [2,64]+[64,2], gate,up [2,64]+[128,2], down [2,128]+[64,2]
        long perLayer = 2L * (64 + 64) + 2 * 2L * (64 + 32) + 2L * (64 + 64) + 2 * 2L * (64 + 128) + 2L * (128 + 64);
        assertEquals(2 * perLayer, root.get("recovery_parameters").asLong());
        for (String f : new String[] {"adapter_config.json", "adapter_model.safetensors", "recovery.safetensors",
                "recovery_config.json", "training_log.jsonl", "loss.png", "checkpoint/trainer_state.json",
                "checkpoint/adapt_config.json"}) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        List<String> log = Files.readAllLines(out.resolve("training_log.jsonl"));
        assertEquals(2, log.size());
        for (String line : log) {
            JsonNode e = Json.MAPPER.readTree(line);
            assertEquals(e.get("ce_loss").asDouble() + 0.5 * e.get("kd_loss").asDouble(), e.get("loss").asDouble(), 1e-9);
        }
        for (String merge : new String[] {"", "--merge-adapters"}) {
            List<String> g = new ArrayList<>(List.of("generate", "--model", compressed.toString(), "--adapter", out.toString(),
                    "--prompt", "n1", "--max-tokens", "3", "--json"));
            if (!merge.isEmpty()) {
                g.add(merge);
            }
            CliRunner gen = CliRunner.run(g.toArray(String[]::new));
            assertEquals(0, gen.exitCode(), gen.err());
        }
        CliRunner inspect = CliRunner.run("inspect", out.toString());
        assertEquals(0, inspect.exitCode(), inspect.err());
        assertTrue(inspect.out().contains("CA-LoRA recovery s*U*GELU(D*x): 14 modules on q_proj,k_proj,v_proj,o_proj,gate_proj,"
                + "up_proj,down_proj, r 2, scaling 2, parameters: "), inspect.out());
        JsonNode ij = Json.MAPPER.readTree(CliRunner.run("inspect", out.toString(), "--json").out());
        assertEquals(root.get("recovery_parameters").asLong(), ij.get("recovery").get("parameters").asLong());
        CliRunner fwd = CliRunner.run("forward", "--model", compressed.toString(), "--adapter", out.toString(), "--text", "n2",
                "-o", dir.resolve("logits.safetensors").toString());
        assertEquals(0, fwd.exitCode(), fwd.err());
        // the same options resume (nothing left to do); other adapt options are refused
        CliRunner again = CliRunner.run(args(out, "--eval", data.toString(), "--kd-weight", "0.5", "--resume").toArray(String[]::new));
        assertEquals(0, again.exitCode(), again.err());
        CliRunner other = CliRunner.run(args(out, "--eval", data.toString(), "--kd-weight", "0.25", "--resume").toArray(String[]::new));
        assertEquals(Main.EXIT_BAD_INPUT, other.exitCode());
        assertTrue(other.err().contains("kd_weight"), other.err());
    }

    @Test
    void ablationsAndText() throws Exception {
        Path out = dir.resolve("plain");
        CliRunner r = CliRunner.run(args(out, "--no-recovery", "--no-distill", "--no-inherit", "--rank", "3").toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().startsWith("adapted 2/2 steps"), r.out());
        assertFalse(Files.exists(out.resolve("recovery_config.json")));
        assertEquals(3, LoraConfig.read(out.resolve("adapter_config.json")).r());
        assertFalse(Files.readString(out.resolve("training_log.jsonl")).contains("kd_loss"));
        Path block = dir.resolve("block");
        CliRunner b = CliRunner.run(args(block, "--kd-layer", "1", "--recovery-rank", "1", "--recovery-targets", "gate_proj,up_proj")
                .toArray(String[]::new));
        assertEquals(0, b.exitCode(), b.err());
        assertTrue(Files.readString(block.resolve("recovery_config.json")).contains("\"target_modules\" : [ \"gate_proj\", \"up_proj\" ]"));
    }

    @Test
    void badInputExitsTwoWithOneLineAndWritesNothing() throws Exception {
        Path wide = TinyModels.write(dir.resolve("wide"), TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(96, 128, 2, 4, 2, 259));
        Path narrowFfn = TinyModels.write(dir.resolve("ffn"), TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(64, 96, 2, 4, 2, 259));
        Path alien = TinyAdapters.llama(3, 2, 48, 24, 128).write(dir.resolve("alien"));
        Path out = dir.resolve("never");
        String[][] cases = {
            {"--teacher", wide.toString(), "hidden_size"},
            {"--model", narrowFfn.toString(), "intermediate_size"},
            {"--adapter", alien.toString(), "another base model"},
            {"--kd-layer", "2", "--kd-layer: block 2 does not exist"},
            {"--kd-layer", "middle", "--kd-layer: expected final or a block index"},
            {"--rank", "4", "--rank: the inherited LoRA keeps"},
            {"--recovery-targets", "lm_head", "--recovery-targets: \"lm_head\" is not a projection"},
            {"--kd-weight", "-1", "--kd-weight: expected a number >= 0"},
        };
        for (String[] c : cases) {
            List<String> a = args(out);
            // replace an option given by args(), or append a new one
            int at = a.indexOf(c[0]);
            if (at >= 0) {
                a.set(at + 1, c[1]);
            } else {
                a.add(c[0]);
                a.add(c[1]);
            }
            CliRunner r = CliRunner.run(a.toArray(String[]::new));
            assertEquals(Main.EXIT_BAD_INPUT, r.exitCode(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.err().contains(c[2]), r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertFalse(Files.exists(out), "nothing written for " + c[0]);
        }
        CliRunner help = CliRunner.run("adapt", "--help");
        assertEquals(0, help.exitCode());
        for (String o : new String[] {"--teacher", "--no-inherit", "--no-recovery", "--no-distill", "--kd-weight", "--kd-layer",
                "--recovery-rank", "--recovery-targets", "--lora-dropout", "--resume"}) {
            assertTrue(help.out().contains(o), o);
        }
    }
}
