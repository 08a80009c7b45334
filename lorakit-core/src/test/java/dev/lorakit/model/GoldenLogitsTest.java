package dev.lorakit.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks {@link LlamaModel}'s logits against an independent implementation: the float64 PyTorch
 * reference tools/reference/llama_reference.py, run by tools/reference/make_golden.py on tiny
 * random Llama, Mistral and Qwen2 models (F32, F16, BF16; GQA, explicit head_dim, llama3 and
 * linear rope scaling, tied embeddings, q/k/v biases) with and without PEFT LoRA adapters
 * (several at once, user scales, rsLoRA, rank_pattern / alpha_pattern). The fixtures live in
 * src/test/resources/golden/ (cases: {@link GoldenFixtureWriter#CASES}).
 *
 * <p>Tolerance: every logit within 1e-4 * max(1, max |reference logit| of its row). The
 * reference is exact math on the stored weights; F16/BF16 weights are exactly representable in
 * float32, so the engine differs only by its float32 rounding (about 1e-6 relative here), for
 * every dtype alike.
 */
class GoldenLogitsTest {
    private static final double TOLERANCE = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<String> cases() {
        return GoldenFixtureWriter.CASES.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void logitsMatchTheFloat64Reference(String name) throws IOException {
        Path dir = caseDir(name);
        JsonNode inputs = JSON.readTree(dir.resolve("inputs.json").toFile());
        int[] ids = new int[inputs.get("input_ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = inputs.get("input_ids").get(i).intValue();
        }
        List<AdapterRef> adapters = new ArrayList<>();
        for (JsonNode a : inputs.get("adapters")) {
            adapters.add(new AdapterRef(dir.resolve(a.get("path").textValue()), a.get("scale").doubleValue()));
        }
        float[] expected;
        int vocab;
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("logits.safetensors"))) {
            Tensor t = f.get("logits");
            assertEquals(DType.F32, t.dtype(), name + ": logits dtype");
            assertEquals(2, t.shape().rank(), name + ": logits rank");
            assertEquals(ids.length, t.dim(0), name + ": logits rows = input length");
            vocab = t.dim(1);
            expected = t.toFloatArray();
        }

        float[] actual;
        try (LlamaModel model = LlamaModel.open(dir, adapters)) {
            actual = model.logits(ids);
        }

        assertEquals(expected.length, actual.length, name + ": logits length (T * vocab)");
        for (int t = 0; t < ids.length; t++) {
            double rowMax = 1;
            for (int v = 0; v < vocab; v++) {
                rowMax = Math.max(rowMax, Math.abs(expected[t * vocab + v]));
            }
            double bound = TOLERANCE * rowMax;
            double worst = -1;
            int worstV = -1;
            for (int v = 0; v < vocab; v++) {
                double diff = Math.abs((double) actual[t * vocab + v] - expected[t * vocab + v]);
                if (!(diff <= worst)) { // NaN counts as worst
                    worst = diff;
                    worstV = v;
                }
            }
            int i = t * vocab + worstV;
            assertTrue(worst <= bound, name + ": position " + t + ", token " + worstV + ": lorakit " + actual[i]
                    + ", reference " + expected[i] + ", |diff| " + worst + " > " + bound);
        }
    }

    /** A missing or stray fixture fails: the committed cases are exactly the writer's list. */
    @Test
    void everyCaseHasItsFixtureFiles() throws IOException {
        Path root = caseDir(GoldenFixtureWriter.CASES.getFirst()).getParent();
        Set<String> present = new TreeSet<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Files::isDirectory).forEach(p -> present.add(p.getFileName().toString()));
        }
        assertArrayEquals(new TreeSet<>(GoldenFixtureWriter.CASES).toArray(), present.toArray(), "golden case dirs");
        for (String name : GoldenFixtureWriter.CASES) {
            Path dir = root.resolve(name);
            for (String file : List.of("config.json", "model.safetensors", "inputs.json", "logits.safetensors")) {
                assertTrue(Files.isRegularFile(dir.resolve(file)), name + ": missing " + file
                        + " (regenerate with tools/reference/make_golden.py)");
            }
            for (JsonNode a : JSON.readTree(dir.resolve("inputs.json").toFile()).get("adapters")) {
                Path adapter = dir.resolve(a.get("path").textValue());
                assertTrue(Files.isRegularFile(adapter.resolve("adapter_config.json")), name + ": " + adapter);
                assertTrue(Files.isRegularFile(adapter.resolve("adapter_model.safetensors")), name + ": " + adapter);
            }
        }
    }

    private static Path caseDir(String name) {
        URL url = GoldenLogitsTest.class.getResource("/golden/" + name + "/inputs.json");
        assertNotNull(url, "missing test resource golden/" + name + "/inputs.json: regenerate with"
                + " tools/reference/make_golden.py");
        try {
            return Path.of(url.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
