package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks the LoRA trainer's loss and gradients for one batch against an independent
 * implementation: float64 torch autograd through the reference forward
 * tools/reference/llama_reference.py, run by tools/reference/lora_gradients.py (which also
 * verifies autograd against finite differences). Fixtures: src/test/resources/golden-grad/
 * (cases: {@link GoldenGradientFixtureWriter#CASES}): a tiny model, one PEFT adapter (adapter/)
 * whose A and B are the trainable parameters, batch.json (right-padded with id 0 / label -100,
 * prompt-masked labels) and grads.safetensors (F64: "loss" [1] and one gradient per adapter
 * tensor, under the adapter's PEFT key and shape).
 *
 * <p>The objective: mean token cross-entropy over every non-ignored label of the batch with the
 * Hugging Face shift (logits at t predict labels[t + 1]); one mean over all counted tokens of
 * the batch; LoRA dropout 0; user scale 1.
 *
 * <p>Tolerance: every element within 1e-4 * max(1, max |reference| of its tensor); the reference
 * gradients are O(1) (max |gradient| per tensor 0.55 to 5.6), so this is about 1e-4 relative.
 */
class GoldenGradientsTest {
    private static final double TOLERANCE = 1e-4;
    private static final String LOSS = "loss";
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<String> cases() {
        return GoldenGradientFixtureWriter.CASES.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lossAndGradientsMatchTheFloat64Reference(String name) throws IOException {
        Path dir = caseDir(name);
        JsonNode batch = JSON.readTree(dir.resolve("batch.json").toFile());
        int[][] inputIds = rows(batch.get("input_ids"));
        int[][] labels = rows(batch.get("labels"));
        Map<String, float[]> expected = readGradients(dir.resolve("grads.safetensors"));

        Map<String, float[]> actual = LoraGradients.compute(dir, dir.resolve("adapter"), inputIds, labels);

        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()),
                name + ": gradient names (the adapter's PEFT keys plus \"loss\")");
        for (Map.Entry<String, float[]> e : expected.entrySet()) {
            String tensor = e.getKey();
            float[] ref = e.getValue();
            float[] got = actual.get(tensor);
            assertEquals(ref.length, got.length, name + ": " + tensor + ": element count");
            double scale = 1;
            for (float v : ref) {
                scale = Math.max(scale, Math.abs(v));
            }
            double bound = TOLERANCE * scale;
            double worst = -1;
            int worstAt = -1;
            for (int i = 0; i < ref.length; i++) {
                double diff = Math.abs((double) got[i] - ref[i]);
                if (!(diff <= worst)) { // NaN counts as worst
                    worst = diff;
                    worstAt = i;
                }
            }
            assertTrue(worst <= bound, name + ": " + tensor + "[" + worstAt + "]: lorakit " + got[worstAt]
                    + ", reference " + ref[worstAt] + ", |diff| " + worst + " > " + bound);
        }
    }

    /** The fixtures are complete and consistent: gradients for exactly the adapter's tensors, same shapes. */
    @Test
    void everyCaseHasConsistentFixtureFiles() throws IOException {
        Path root = caseDir(GoldenGradientFixtureWriter.CASES.getFirst()).getParent();
        Set<String> present = new TreeSet<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Files::isDirectory).forEach(p -> present.add(p.getFileName().toString()));
        }
        assertArrayEquals(new TreeSet<>(GoldenGradientFixtureWriter.CASES).toArray(), present.toArray(),
                "golden-grad case dirs");
        for (String name : GoldenGradientFixtureWriter.CASES) {
            Path dir = root.resolve(name);
            for (String file : List.of("config.json", "model.safetensors", "batch.json", "grads.safetensors",
                    "adapter/adapter_config.json", "adapter/adapter_model.safetensors")) {
                assertTrue(Files.isRegularFile(dir.resolve(file)), name + ": missing " + file
                        + " (regenerate with tools/reference/lora_gradients.py)");
            }
            JsonNode batch = JSON.readTree(dir.resolve("batch.json").toFile());
            int[][] ids = rows(batch.get("input_ids"));
            int[][] labels = rows(batch.get("labels"));
            assertEquals(ids.length, labels.length, name + ": batch rows");
            for (int s = 0; s < ids.length; s++) {
                assertEquals(ids[0].length, ids[s].length, name + ": padded input_ids row " + s);
                assertEquals(ids[0].length, labels[s].length, name + ": padded labels row " + s);
            }
            try (SafetensorsFile grads = SafetensorsFile.open(dir.resolve("grads.safetensors"));
                 SafetensorsFile adapter = SafetensorsFile.open(dir.resolve("adapter/adapter_model.safetensors"))) {
                Set<String> expectedNames = new TreeSet<>(adapter.names());
                expectedNames.add(LOSS);
                assertEquals(expectedNames, new TreeSet<>(grads.names()), name + ": grads.safetensors tensor names");
                assertArrayEquals(new int[] {1}, grads.get(LOSS).shape().dims(), name + ": loss shape");
                for (String tensor : adapter.names()) {
                    assertEquals(DType.F64, grads.get(tensor).dtype(), name + ": " + tensor + " dtype");
                    assertArrayEquals(adapter.get(tensor).shape().dims(), grads.get(tensor).shape().dims(),
                            name + ": " + tensor + ": gradient shape = parameter shape");
                }
            }
        }
    }

    private static Map<String, float[]> readGradients(Path file) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String tensor : f.names()) {
                Tensor t = f.get(tensor);
                out.put(tensor, t.toFloatArray());
            }
        }
        return out;
    }

    private static int[][] rows(JsonNode array) {
        int[][] out = new int[array.size()][];
        for (int r = 0; r < out.length; r++) {
            JsonNode row = array.get(r);
            out[r] = new int[row.size()];
            for (int i = 0; i < out[r].length; i++) {
                out[r][i] = row.get(i).intValue();
            }
        }
        return out;
    }

    private static Path caseDir(String name) {
        URL url = GoldenGradientsTest.class.getResource("/golden-grad/" + name + "/batch.json");
        assertNotNull(url, "missing test resource golden-grad/" + name + "/batch.json: regenerate with"
                + " tools/reference/lora_gradients.py");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
