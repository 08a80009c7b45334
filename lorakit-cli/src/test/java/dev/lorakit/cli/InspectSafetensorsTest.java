package dev.lorakit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectSafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void listsTensorsAsTextAndJson() throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a.weight", Tensor.zeros(DType.BF16, 3, 4));
        tensors.put("b", Tensor.zeros(DType.F32, 5));
        Path file = dir.resolve("x.safetensors");
        SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));

        CliRunner text = CliRunner.run("inspect", file.toString());
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("a.weight") && text.out().contains("BF16") && text.out().contains("[3, 4]"), text.out());
        assertTrue(text.out().contains("parameters: 17"), text.out());

        CliRunner json = CliRunner.run("inspect", file.toString(), "--json");
        assertEquals(0, json.exitCode(), json.err());
        JsonNode root = Json.MAPPER.readTree(json.out());
        assertEquals(2, root.get("tensor_count").asInt());
        assertEquals(17, root.get("parameters").asLong());
        assertEquals(3 * 4 * 2 + 5 * 4, root.get("data_bytes").asLong());
        assertEquals("pt", root.get("metadata").get("format").asText());
        JsonNode a = null;
        for (JsonNode t : root.get("tensors")) {
            if (t.get("name").asText().equals("a.weight")) {
                a = t;
            }
        }
        assertEquals("BF16", a.get("dtype").asText());
        assertEquals("[3,4]", a.get("shape").toString());
    }

    @Test
    void corruptFileGivesOneLineErrorAndExitCode2() throws Exception {
        Path file = dir.resolve("bad.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        CliRunner r = CliRunner.run("inspect", file.toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().startsWith("lorakit: error: " + file), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void unknownOptionIsBadInput() {
        CliRunner r = CliRunner.run("inspect", "--frobnicate");
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
    }

    @Test
    void missingPathIsBadInput() {
        CliRunner r = CliRunner.run("inspect", dir.resolve("nope").toString());
        assertEquals(Main.EXIT_BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("no such file"), r.err());
    }
}
