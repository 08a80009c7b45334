package dev.lorakit.compress;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Structured FFN-channel pruning: which intermediate channels of each layer's SwiGLU MLP were
 * kept. Channel c of a layer is row c of gate_proj and up_proj and column c of down_proj;
 * removing it removes those three slices, and intermediate_size becomes the kept count. The
 * record is stored in the compressed model directory as {@value #FILE_NAME} so that LoRAs
 * trained on the uncompressed model can be sliced the same way (CA-LoRA knowledge inheritance:
 * gate/up lora_B rows and down lora_A columns, see {@link ChannelSlicing}).
 *
 * <p>Channel scores: without calibration data, ||gate_c|| ||up_c|| ||down_:,c|| (row and column
 * L2 norms: how large the channel's weights are); with it, ||h_c||_2 ||down_:,c||, where h_c is the
 * channel's SwiGLU activation (down_proj's input) over the calibration tokens: the Wanda-style
 * activation-weighted size of the channel's contribution to the layer output. The {@code keep}
 * highest-scoring channels stay (ties: the lower channel), in their original order.
 *
 * @param originalSize intermediate_size before pruning
 * @param keptSize channels kept per layer (the new intermediate_size)
 * @param score how channels were scored
 * @param keptChannels per layer, the kept channel indices, strictly increasing, each in
 *     [0, originalSize)
 */
public record FfnPruning(int originalSize, int keptSize, Score score, List<int[]> keptChannels) {
    /** The file holding the record in a compressed model directory. */
    public static final String FILE_NAME = "pruning.json";
    /** The value of the file's "format" field. */
    public static final String FORMAT = "lorakit.pruning";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** 2-space indented objects, "key": value, each layer's index list on one line. */
    private static final DefaultPrettyPrinter PRINTER = new DefaultPrettyPrinter()
            .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"));

    /** How channels were scored. */
    public enum Score {
        /** ||gate_c|| ||up_c|| ||down_:,c||. */
        WEIGHT_NORMS("weight_norms"),
        /** ||h_c||_2 ||down_:,c|| with calibration activations h. */
        ACTIVATION_WEIGHTED("activation_weighted");

        private final String jsonName;

        Score(String jsonName) {
            this.jsonName = jsonName;
        }

        /** The name in pruning.json and config.json. */
        public String jsonName() {
            return jsonName;
        }
    }

    public FfnPruning {
        keptChannels = List.copyOf(keptChannels);
        if (keptSize < 1 || keptSize > originalSize) {
            throw new IllegalArgumentException("kept size " + keptSize + " outside [1, " + originalSize + "]");
        }
        for (int l = 0; l < keptChannels.size(); l++) {
            int[] k = keptChannels.get(l);
            String problem = checkChannels(k, keptSize, originalSize);
            if (problem != null) {
                throw new IllegalArgumentException("layer " + l + ": " + problem);
            }
        }
    }

    /** Layers covered. */
    public int layers() {
        return keptChannels.size();
    }

    /** The kept channels of a layer (a copy), increasing. */
    public int[] keptChannels(int layer) {
        return keptChannels.get(layer).clone();
    }

    /**
     * Weight-only channel scores ||gate_c|| ||up_c|| ||down_:,c|| (float64).
     *
     * @param gate gate_proj [F, C]
     * @param up up_proj [F, C]
     * @param down down_proj [C, F]
     */
    public static double[] weightScores(Tensor gate, Tensor up, Tensor down) {
        double[] g = rowNorms(gate);
        double[] u = rowNorms(up);
        double[] d = columnNorms(down);
        if (g.length != u.length || g.length != d.length) {
            throw new IllegalArgumentException("gate " + gate.shape() + ", up " + up.shape() + " and down " + down.shape()
                    + " disagree on the intermediate size");
        }
        double[] s = new double[g.length];
        for (int c = 0; c < s.length; c++) {
            s[c] = g[c] * u[c] * d[c];
        }
        return s;
    }

    /**
     * Activation-weighted channel scores ||h_c||_2 ||down_:,c|| (float64).
     *
     * @param down down_proj [C, F]
     * @param downInputSumsOfSquares sum over calibration tokens of h_c^2 [F] ({@link ActivationNorms})
     */
    public static double[] activationScores(Tensor down, double[] downInputSumsOfSquares) {
        double[] d = columnNorms(down);
        if (d.length != downInputSumsOfSquares.length) {
            throw new IllegalArgumentException(downInputSumsOfSquares.length + " activation sums for " + d.length + " channels");
        }
        double[] s = new double[d.length];
        for (int c = 0; c < s.length; c++) {
            s[c] = Math.sqrt(downInputSumsOfSquares[c]) * d[c];
        }
        return s;
    }

    /** The {@code keep} highest scores' indices (ties: lower index first), in increasing index order. */
    public static int[] topChannels(double[] scores, int keep) {
        if (keep < 1 || keep > scores.length) {
            throw new IllegalArgumentException("cannot keep " + keep + " of " + scores.length + " channels");
        }
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(scores[b], scores[a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] kept = new int[keep];
        for (int i = 0; i < keep; i++) {
            kept[i] = order[i];
        }
        Arrays.sort(kept);
        return kept;
    }

    private static double[] rowNorms(Tensor t) {
        int rows = t.dim(0);
        int cols = t.dim(1);
        float[] v = t.toFloatArray();
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < cols; j++) {
                double x = v[r * cols + j];
                s += x * x;
            }
            out[r] = Math.sqrt(s);
        }
        return out;
    }

    private static double[] columnNorms(Tensor t) {
        int rows = t.dim(0);
        int cols = t.dim(1);
        float[] v = t.toFloatArray();
        double[] s = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                double x = v[r * cols + j];
                s[j] += x * x;
            }
        }
        for (int j = 0; j < cols; j++) {
            s[j] = Math.sqrt(s[j]);
        }
        return s;
    }

    /** The {@value #FILE_NAME} text. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", 1);
        ObjectNode ffn = root.putObject("ffn");
        ffn.put("score", score.jsonName());
        ffn.put("original_intermediate_size", originalSize);
        ffn.put("intermediate_size", keptSize);
        ArrayNode layers = ffn.putArray("kept_channels");
        for (int[] k : keptChannels) {
            ArrayNode a = layers.addArray();
            for (int c : k) {
                a.add(c);
            }
        }
        try {
            return JSON.writer(PRINTER).writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads {@value #FILE_NAME} of a model directory, if it has one.
     *
     * @throws BadInputException naming the file and field for a malformed record
     */
    public static Optional<FfnPruning> read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        }
        return Optional.of(parse(file.toString(), text));
    }

    /** Parses {@value #FILE_NAME} text; {@code where} names the file in messages. */
    public static FfnPruning parse(String where, String text) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText(null))) {
            throw new BadInputException(where + ": field \"format\" must be \"" + FORMAT + "\"");
        }
        if (root.path("version").asInt(-1) != 1) {
            throw new BadInputException(where + ": field \"version\" must be 1, got " + root.get("version"));
        }
        JsonNode ffn = root.path("ffn");
        if (!ffn.isObject()) {
            throw new BadInputException(where + ": field \"ffn\" must be an object");
        }
        int original = positiveInt(where, ffn, "original_intermediate_size");
        int kept = positiveInt(where, ffn, "intermediate_size");
        if (kept > original) {
            throw new BadInputException(where + ": field \"ffn.intermediate_size\" must be at most original_intermediate_size "
                    + original + ", got " + kept);
        }
        String scoreName = ffn.path("score").asText("");
        Score score = Arrays.stream(Score.values()).filter(s -> s.jsonName().equals(scoreName)).findFirst().orElseThrow(
                () -> new BadInputException(where + ": field \"ffn.score\" must be weight_norms or activation_weighted, got "
                        + ffn.get("score")));
        JsonNode layers = ffn.path("kept_channels");
        if (!layers.isArray()) {
            throw new BadInputException(where + ": field \"ffn.kept_channels\" must be a list of per-layer index lists");
        }
        List<int[]> out = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            JsonNode a = layers.get(l);
            String field = "ffn.kept_channels[" + l + "]";
            if (!a.isArray()) {
                throw new BadInputException(where + ": field \"" + field + "\" must be a list of channel indices");
            }
            int[] k = new int[a.size()];
            for (int i = 0; i < k.length; i++) {
                JsonNode v = a.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                    throw new BadInputException(where + ": field \"" + field + "\" must hold integers, got " + v);
                }
                k[i] = v.intValue();
            }
            String problem = checkChannels(k, kept, original);
            if (problem != null) {
                throw new BadInputException(where + ": field \"" + field + "\" " + problem);
            }
            out.add(k);
        }
        return new FfnPruning(original, kept, score, out);
    }

    private static int positiveInt(String where, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new BadInputException(where + ": field \"ffn." + field + "\" must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    /** Null if {@code k} is {@code size} strictly increasing indices in [0, bound), else what is wrong. */
    private static String checkChannels(int[] k, int size, int bound) {
        if (k.length != size) {
            return String.format(Locale.ROOT, "has %d channels, expected %d (intermediate_size)", k.length, size);
        }
        for (int i = 0; i < k.length; i++) {
            if (k[i] < 0 || k[i] >= bound) {
                return "has channel " + k[i] + " outside [0, " + bound + ")";
            }
            if (i > 0 && k[i] <= k[i - 1]) {
                return "must be strictly increasing, got " + k[i - 1] + " then " + k[i];
            }
        }
        return null;
    }
}
