package dev.lorakit.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.safetensors.SafetensorsCheckpoint;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Structured FFN-channel pruning: scores, selection, the pruning.json record, and a forward that does not change. */
class FfnPruningTest {
    @TempDir
    Path dir;

    /** A copy of a model directory with every tensor passed through {@code change} (name, tensor). */
    static Path rewrite(Path source, Path target, BiFunction<String, Tensor, Tensor> change) throws IOException {
        Files.createDirectories(target);
        for (String f : List.of("config.json", "generation_config.json")) {
            if (Files.exists(source.resolve(f))) {
                Files.copy(source.resolve(f), target.resolve(f));
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (var src = SafetensorsCheckpoint.open(source)) {
            for (String name : src.names()) {
                out.put(name, change.apply(name, src.get(name).copy()));
            }
            SafetensorsWriter.write(target.resolve(SafetensorsCheckpoint.SINGLE_FILE), out);
        }
        return target;
    }

    @Test
    void topChannelsKeepsTheHighestScoresInOrderWithTiesToTheLowerIndex() {
        double[] scores = {0.5, 3, 1, 3, 0, 2, 1};
        assertArrayEquals(new int[] {1, 3}, FfnPruning.topChannels(scores, 2));
        assertArrayEquals(new int[] {1, 3, 5}, FfnPruning.topChannels(scores, 3));
        assertArrayEquals(new int[] {1, 2, 3, 5}, FfnPruning.topChannels(scores, 4)); // 1 at 2 and 6: 2 wins
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6}, FfnPruning.topChannels(scores, 7));
        assertThrows(IllegalArgumentException.class, () -> FfnPruning.topChannels(scores, 0));
    }

    @Test
    void scoresAreProductsOfRowAndColumnNorms() {
        // F = 3 channels, C = 2.
        Tensor gate = Tensor.ofFloats(new float[] {3, 4, 1, 0, 0, 2}, 3, 2);   // row norms 5, 1, 2
        Tensor up = Tensor.ofFloats(new float[] {1, 0, 0, 2, 6, 8}, 3, 2);     // row norms 1, 2, 10
        Tensor down = Tensor.ofFloats(new float[] {1, 0, 5, 0, 3, 12}, 2, 3);  // column norms 1, 3, 13
        assertArrayEquals(new double[] {5, 6, 260}, FfnPruning.weightScores(gate, up, down), 1e-12);
        assertArrayEquals(new double[] {2, 0, 13 * 3}, FfnPruning.activationScores(down, new double[] {4, 0, 9}), 1e-12);
    }

    @Test
    void removingChannelsThatAreExactlyZeroKeepsTheForwardAndRecordsTheKeptChannels() throws Exception {
        Path base = TinyModels.write(dir.resolve("base"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        int F = 128;
        int keep = 96;
        Random rnd = new Random(3);
        List<TreeSet<Integer>> dead = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            TreeSet<Integer> z = new TreeSet<>();
            while (z.size() < F - keep) {
                z.add(rnd.nextInt(F));
            }
            dead.add(z);
        }
        Path zeroed = rewrite(base, dir.resolve("zeroed"), (name, t) -> {
            for (int l = 0; l < 2; l++) {
                for (int c : dead.get(l)) {
                    if (name.equals(Projection.GATE_PROJ.weightName(l)) || name.equals(Projection.UP_PROJ.weightName(l))) {
                        for (int j = 0; j < t.dim(1); j++) {
                            t.set(0f, c, j);
                        }
                    } else if (name.equals(Projection.DOWN_PROJ.weightName(l))) {
                        for (int i = 0; i < t.dim(0); i++) {
                            t.set(0f, i, c);
                        }
                    }
                }
            }
            return t;
        });
        Path calib = dir.resolve("calib.jsonl");
        Files.writeString(calib, "{\"input_ids\": [1, 5, 9, 77, 200], \"labels\": [1, 5, 9, 77, 200]}\n"
                + "{\"input_ids\": [4, 8, 15, 16, 23, 42], \"labels\": [4, 8, 15, 16, 23, 42]}\n");
        int[] ids = {1, 17, 33, 99, 250, 7, 64};
        float[] expected;
        try (LlamaModel m = LlamaModel.open(zeroed, List.of())) {
            expected = m.logits(ids);
        }
        for (boolean withCalibration : new boolean[] {false, true}) {
            Path out = dir.resolve("pruned-" + withCalibration);
            CompressOptions.Builder b = CompressOptions.builder().ffnKeep(keep);
            if (withCalibration) {
                b.calibration(calib);
            }
            CompressionResult r = ModelCompressor.compress(zeroed, b.build(), out, CompressionListener.NONE);
            FfnPruning ffn = FfnPruning.read(out).orElseThrow();
            assertEquals(withCalibration ? FfnPruning.Score.ACTIVATION_WEIGHTED : FfnPruning.Score.WEIGHT_NORMS, ffn.score());
            assertEquals(F, ffn.originalSize());
            assertEquals(keep, ffn.keptSize());
            for (int l = 0; l < 2; l++) {
                int[] kept = ffn.keptChannels(l);
                assertEquals(keep, kept.length);
                for (int c = 0, i = 0; c < F; c++) {
                    if (!dead.get(l).contains(c)) {
                        assertEquals(c, kept[i++], "layer " + l + " keeps every live channel, in order");
                    }
                }
            }
            assertEquals(keep, ModelConfig.read(out.resolve("config.json")).intermediateSize());
            CompressionRecord.Structured s = r.record().structured();
            assertEquals(new CompressionRecord.Structured(ffn.score(), F, keep, FfnPruning.FILE_NAME), s);
            assertEquals(s, CompressionRecord.read(out).orElseThrow().structured());
            assertEquals(withCalibration, r.record().calibration() != null);
            try (HfModelDirectory in = HfModelDirectory.open(zeroed); HfModelDirectory o = HfModelDirectory.open(out)) {
                o.validateWeights();
                int[] kept = ffn.keptChannels(1);
                float[] gateIn = in.weight(Projection.GATE_PROJ.weightName(1)).toFloatArray();
                float[] gateOut = o.weight(Projection.GATE_PROJ.weightName(1)).toFloatArray();
                float[] downIn = in.weight(Projection.DOWN_PROJ.weightName(1)).toFloatArray();
                float[] downOut = o.weight(Projection.DOWN_PROJ.weightName(1)).toFloatArray();
                for (int i = 0; i < keep; i++) {
                    assertArrayEquals(Arrays.copyOfRange(gateIn, kept[i] * 64, kept[i] * 64 + 64),
                            Arrays.copyOfRange(gateOut, i * 64, i * 64 + 64), "gate row " + kept[i]);
                    for (int row = 0; row < 64; row++) {
                        assertEquals(downIn[row * F + kept[i]], downOut[row * keep + i]);
                    }
                }
            }
            try (LlamaModel m = LlamaModel.open(out, List.of())) {
                float[] got = m.logits(ids);
                // The removed channels added exact zeros; only the order of the float sums changes
                // (the kernels split the shorter inner dimension differently), a few ulps.
                for (int i = 0; i < got.length; i++) {
                    assertEquals(expected[i], got[i], 1e-5f * Math.max(1, Math.abs(expected[i])), "logit " + i);
                }
            }
        }
    }

    @Test
    void recordRoundTripsAndMalformedFilesAreNamed() {
        FfnPruning p = new FfnPruning(8, 3, FfnPruning.Score.WEIGHT_NORMS, List.of(new int[] {0, 4, 7}, new int[] {1, 2, 3}));
        FfnPruning back = FfnPruning.parse("p.json", p.toJson());
        assertEquals(8, back.originalSize());
        assertEquals(3, back.keptSize());
        assertArrayEquals(new int[] {0, 4, 7}, back.keptChannels(0));
        assertArrayEquals(new int[] {1, 2, 3}, back.keptChannels(1));
        String good = p.toJson();
        BadInputException e = assertThrows(BadInputException.class,
                () -> FfnPruning.parse("p.json", good.replace("[ 0, 4, 7 ]", "[ 0, 7, 4 ]")));
        assertTrue(e.getMessage().startsWith("p.json: field \"ffn.kept_channels[0]\" must be strictly increasing"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> FfnPruning.parse("p.json", good.replace("[ 0, 4, 7 ]", "[ 0, 4, 8 ]")));
        assertTrue(e.getMessage().contains("channel 8 outside [0, 8)"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> FfnPruning.parse("p.json", good.replace("[ 0, 4, 7 ]", "[ 0, 4 ]")));
        assertTrue(e.getMessage().contains("has 2 channels, expected 3"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> FfnPruning.parse("p.json", "{\"format\": \"other\"}"));
        assertTrue(e.getMessage().contains("\"format\" must be \"lorakit.pruning\""), e.getMessage());
        assertFalse(FfnPruning.read(dir).isPresent());
    }

    @Test
    void structuredRecordIsReadableJson() throws Exception {
        FfnPruning p = new FfnPruning(4, 2, FfnPruning.Score.ACTIVATION_WEIGHTED, List.of(new int[] {1, 3}));
        JsonNode root = new ObjectMapper().readTree(p.toJson());
        assertEquals("lorakit.pruning", root.get("format").asText());
        assertEquals("activation_weighted", root.get("ffn").get("score").asText());
        assertEquals(3, root.get("ffn").get("kept_channels").get(0).get(1).asInt());
    }
}
