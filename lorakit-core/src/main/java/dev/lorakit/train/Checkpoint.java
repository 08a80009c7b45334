package dev.lorakit.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Everything needed to resume a training run exactly where it stopped, saved as one directory
 * written atomically (a crash mid-save leaves the previous checkpoint, never half of one):
 * <pre>
 *   trainer_state.json     format, format_version, global_step, data position, optimizer kind
 *                          and step, RNG states (4 x 64-bit hex each)
 *   train_config.json      the run's {@link TrainConfig}
 *   trainable.safetensors  the trainable tensors (F32, by name)
 *   optimizer.safetensors  the optimizer's buffers (F32, 1-D, by buffer name; may hold none)
 * </pre>
 * Floats go through safetensors and longs through hex strings, so a save/load round trip is
 * bit-exact. {@link #load} checks every file and field and names what is wrong.
 *
 * @param config     the run's options
 * @param globalStep optimizer steps completed
 * @param position   where the batcher resumes (the first batch of the next step)
 * @param trainable  the trainable tensors by name (F32)
 * @param optimizer  the optimizer's state
 * @param rngStates  named {@link TrainRng} states (e.g. "dropout"), 4 longs each
 */
public record Checkpoint(TrainConfig config, long globalStep, Batcher.Position position, Map<String, Tensor> trainable,
                         OptimizerState optimizer, Map<String, long[]> rngStates) {
    /** The version this lorakit writes and the newest it reads. */
    public static final int FORMAT_VERSION = 1;
    /** The value of trainer_state.json's "format". */
    public static final String FORMAT = "lorakit-train-checkpoint";
    public static final String STATE_FILE = "trainer_state.json";
    public static final String CONFIG_FILE = "train_config.json";
    public static final String TRAINABLE_FILE = "trainable.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();

    public Checkpoint {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(position, "position");
        Objects.requireNonNull(optimizer, "optimizer");
        if (globalStep < 0) {
            throw new IllegalArgumentException("global step must be >= 0, got " + globalStep);
        }
        Map<String, Tensor> t = new LinkedHashMap<>();
        trainable.forEach((name, tensor) -> {
            if (tensor.dtype() != DType.F32) {
                throw new IllegalArgumentException("trainable tensor " + name + " is " + tensor.dtype() + "; expected F32");
            }
            t.put(name, tensor);
        });
        trainable = Collections.unmodifiableMap(t);
        Map<String, long[]> r = new LinkedHashMap<>();
        rngStates.forEach((name, state) -> r.put(name, TrainRng.fromState(state).state()));
        rngStates = Collections.unmodifiableMap(r);
    }

    /** Writes this checkpoint as the directory {@code dir} (atomically replacing an earlier one). */
    public void save(Path dir) throws IOException {
        save(dir, d -> { });
    }

    /**
     * Writes this checkpoint as the directory {@code dir}; {@code extraFiles} may add files to
     * it before it appears (e.g. the adapter in PEFT format, so a checkpoint is also a loadable
     * adapter). Flat files with model/adapter suffixes only (see {@link AtomicFiles}).
     */
    public void save(Path dir, AtomicFiles.DirectoryWriter extraFiles) throws IOException {
        AtomicFiles.writeDirectory(dir, tmp -> {
            Files.writeString(tmp.resolve(STATE_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(stateJson()) + "\n");
            Files.writeString(tmp.resolve(CONFIG_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config.toJson()) + "\n");
            SafetensorsWriter.write(tmp.resolve(TRAINABLE_FILE), trainable, Map.of("format", FORMAT));
            Map<String, Tensor> buffers = new LinkedHashMap<>();
            optimizer.buffers().forEach((name, values) -> buffers.put(name, Tensor.ofFloats(values, values.length)));
            SafetensorsWriter.write(tmp.resolve(OPTIMIZER_FILE), buffers, Map.of("format", FORMAT, "optimizer", optimizer.kind()));
            extraFiles.write(tmp);
        });
    }

    private ObjectNode stateJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", FORMAT);
        o.put("format_version", FORMAT_VERSION);
        o.put("global_step", globalStep);
        o.put("epoch", position.epoch());
        o.put("epoch_example", position.example());
        o.put("optimizer", optimizer.kind());
        o.put("optimizer_step", optimizer.step());
        ObjectNode rngs = o.putObject("rng");
        rngStates.forEach((name, state) -> {
            ArrayNode a = rngs.putArray(name);
            for (long s : state) {
                a.add(String.format("%016x", s));
            }
        });
        return o;
    }

    /**
     * Reads and validates a checkpoint directory. Tensors are copied to the heap (the files are
     * closed again).
     *
     * @throws BadInputException if the directory or a file is missing or invalid, the format
     *                           version is unknown, or a field or tensor is not what it must be
     */
    public static Checkpoint load(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": no such checkpoint directory");
        }
        Path stateFile = requireFile(dir, STATE_FILE);
        Path configFile = requireFile(dir, CONFIG_FILE);
        Path trainableFile = requireFile(dir, TRAINABLE_FILE);
        Path optimizerFile = requireFile(dir, OPTIMIZER_FILE);

        JsonNode state = readJson(stateFile);
        String where = stateFile.toString();
        if (!state.isObject()) {
            throw new BadInputException(where + ": expected a JSON object");
        }
        JsonNode format = state.get("format");
        if (format == null || !FORMAT.equals(format.asText(null))) {
            throw new BadInputException(where + ": field \"format\" must be \"" + FORMAT + "\", got " + format
                    + " (not a lorakit training checkpoint)");
        }
        long version = nonNegative(state, "format_version", where);
        if (version != FORMAT_VERSION) {
            throw new BadInputException(where + ": format_version " + version + " is not supported (this lorakit reads "
                    + "version " + FORMAT_VERSION + (version > FORMAT_VERSION ? "; it was written by a newer lorakit)" : ")"));
        }
        long globalStep = nonNegative(state, "global_step", where);
        Batcher.Position position = new Batcher.Position(toInt(state, "epoch", where), toInt(state, "epoch_example", where));
        JsonNode kind = state.get("optimizer");
        if (kind == null || !kind.isTextual()) {
            throw new BadInputException(where + ": field \"optimizer\" must be a string, got " + kind);
        }
        long optimizerStep = nonNegative(state, "optimizer_step", where);
        Map<String, long[]> rngs = readRngs(state.get("rng"), where);

        TrainConfig config = TrainConfig.fromJson(readJson(configFile), configFile.toString());
        Map<String, Tensor> trainable = readF32(trainableFile, false);
        Map<String, Tensor> buffers = readF32(optimizerFile, true);
        Map<String, float[]> optimizerBuffers = new LinkedHashMap<>();
        buffers.forEach((name, t) -> optimizerBuffers.put(name, t.floatArray()));
        OptimizerState optimizer = new OptimizerState(kind.asText(), optimizerStep, optimizerBuffers);
        return new Checkpoint(config, globalStep, position, trainable, optimizer, rngs);
    }

    /**
     * Checks that the trainable tensors are exactly the expected ones, with the expected shapes.
     *
     * @param dir      the checkpoint directory, for messages
     * @param expected name to shape of every trainable tensor of this run
     * @throws BadInputException naming the first missing, extra or misshapen tensor
     */
    public void requireTrainable(Path dir, Map<String, Shape> expected) {
        Path file = dir.resolve(TRAINABLE_FILE);
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            Tensor t = trainable.get(e.getKey());
            if (t == null) {
                throw new BadInputException(file + ": no tensor \"" + e.getKey() + "\" (the checkpoint was made for other"
                        + " target modules or another model)");
            }
            if (!t.shape().equals(e.getValue())) {
                throw new BadInputException(file + ": tensor \"" + e.getKey() + "\" has shape " + t.shape() + ", expected "
                        + e.getValue() + " (the checkpoint was made with another rank or model)");
            }
        }
        for (String name : trainable.keySet()) {
            if (!expected.containsKey(name)) {
                throw new BadInputException(file + ": tensor \"" + name + "\" is not trainable in this run (the checkpoint"
                        + " was made for other target modules or another model)");
            }
        }
    }

    /**
     * Loads the saved optimizer state into {@code target}.
     *
     * @param dir the checkpoint directory, for messages
     * @throws BadInputException if the state does not fit the optimizer (kind, buffers, sizes)
     */
    public void restoreOptimizer(Path dir, Optimizer target) {
        try {
            target.importState(optimizer);
        } catch (BadInputException e) {
            throw new BadInputException(dir.resolve(OPTIMIZER_FILE) + ": " + e.getMessage(), e);
        }
    }

    /**
     * A generator continuing the saved state {@code name}.
     *
     * @throws BadInputException if the checkpoint has no such state
     */
    public TrainRng rng(Path dir, String name) {
        long[] s = rngStates.get(name);
        if (s == null) {
            throw new BadInputException(dir.resolve(STATE_FILE) + ": no RNG state \"" + name + "\" (has "
                    + rngStates.keySet() + ")");
        }
        return TrainRng.fromState(s);
    }

    private static Path requireFile(Path dir, String name) {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f)) {
            throw new BadInputException(f + ": no such file (an incomplete checkpoint, or not a lorakit training"
                    + " checkpoint directory)");
        }
        return f;
    }

    private static JsonNode readJson(Path file) {
        try {
            JsonNode n = JSON.readTree(Files.readString(file));
            if (n == null) {
                throw new BadInputException(file + ": empty file; expected a JSON object");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static long nonNegative(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw new BadInputException(where + ": field \"" + field + "\" must be an integer >= 0, got " + v);
        }
        return v.longValue();
    }

    private static int toInt(JsonNode node, String field, String where) {
        long v = nonNegative(node, field, where);
        if (v > Integer.MAX_VALUE) {
            throw new BadInputException(where + ": field \"" + field + "\" is too large: " + v);
        }
        return (int) v;
    }

    private static Map<String, long[]> readRngs(JsonNode rng, String where) {
        if (rng == null || !rng.isObject()) {
            throw new BadInputException(where + ": field \"rng\" must be an object of named RNG states, got " + rng);
        }
        Map<String, long[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : rng.properties()) {
            String field = "rng." + e.getKey();
            JsonNode a = e.getValue();
            if (!a.isArray() || a.size() != 4) {
                throw new BadInputException(where + ": field \"" + field + "\" must be an array of 4 hex strings, got " + a);
            }
            long[] s = new long[4];
            for (int i = 0; i < 4; i++) {
                String hex = a.get(i).asText("");
                if (!a.get(i).isTextual() || !hex.matches("[0-9a-f]{16}")) {
                    throw new BadInputException(where + ": field \"" + field + "\"[" + i
                            + "] must be 16 lowercase hex digits, got " + a.get(i));
                }
                s[i] = Long.parseUnsignedLong(hex, 16);
            }
            if ((s[0] | s[1] | s[2] | s[3]) == 0) {
                throw new BadInputException(where + ": field \"" + field + "\" is all zeros, which is not a valid RNG state");
            }
            out.put(e.getKey(), s);
        }
        return out;
    }

    /** Every tensor of a safetensors file as a heap F32 copy; 1-D only if {@code flat}. */
    private static Map<String, Tensor> readF32(Path file, boolean flat) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo info : f.infos()) {
                if (info.dtype() != DType.F32) {
                    throw new BadInputException(file + ": tensor \"" + info.name() + "\" is " + info.dtype()
                            + "; a checkpoint holds F32 tensors only");
                }
                if (flat && info.shape().rank() != 1) {
                    throw new BadInputException(file + ": tensor \"" + info.name() + "\" has shape " + info.shape()
                            + "; optimizer buffers are 1-D");
                }
                out.put(info.name(), f.get(info.name()).copy());
            }
        }
        return out;
    }
}
