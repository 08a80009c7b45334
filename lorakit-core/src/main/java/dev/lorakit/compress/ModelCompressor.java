package dev.lorakit.compress;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.TensorSource;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.safetensors.SafetensorsCheckpoint;
import dev.lorakit.io.safetensors.SafetensorsIndex;
import dev.lorakit.io.safetensors.SafetensorsStreamWriter;
import dev.lorakit.io.safetensors.ShardedSafetensorsWriter;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import dev.lorakit.tensor.quant.BlockFormat;
import dev.lorakit.tensor.quant.BlockQuantizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code lorakit compress}: writes a compressed copy of a Hugging Face model directory that
 * lorakit loads like any model. In order:
 * <ol>
 *   <li>structured FFN-channel pruning ({@link FfnPruning}): gate/up rows and down columns of the
 *       dropped channels are removed and config.json's intermediate_size shrinks;</li>
 *   <li>unstructured or N:M pruning of the seven projections ({@link WeightPruning}): zeros in
 *       dense weights of the stored dtype;</li>
 *   <li>block quantization of the seven projections (and optionally an untied lm_head) to Q8_0 or
 *       Q4_0 ({@link BlockQuantizer}); zeros stay exactly zero (Q8_0: round(0 / d) = 0; Q4_0:
 *       (int) (0 / d + 8.5) = 8, which dequantizes to (8 - 8) d = 0, negative zero when d &lt; 0).</li>
 * </ol>
 * Wanda scores and activation-weighted channel scores come from one calibration pass through
 * the uncompressed model ({@link ActivationNorms}). Embeddings, norms and biases are copied
 * unchanged.
 *
 * <p>Every check (options against the model's dimensions, the calibration file, the output path)
 * happens before anything is written. The output directory is built in a temporary sibling and
 * renamed into place ({@link AtomicFiles#writeDirectory}); tensors are produced one at a time and
 * streamed to their offsets, so peak memory is about one projection in float32 plus its
 * compressed copy. config.json keeps every field of the input's and records the compression
 * ({@link CompressionRecord}); generation_config.json and the tokenizer files are copied.
 */
public final class ModelCompressor {
    /** Files copied verbatim from the input directory when present. */
    public static final List<String> SIDE_FILES = List.of("generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja", "chat_template.json", "tokenizer.model");
    /** Data bytes per output shard (larger outputs are sharded with an index). */
    public static final long MAX_SHARD_BYTES = 4L << 30;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> SHARD_METADATA = Map.of("format", "pt");

    private final Path modelDir;
    private final CompressOptions options;
    private final HfModelDirectory model;
    private final ModelConfig config;
    private ActivationNorms norms;     // with calibration
    private FfnPruning ffn;            // with structured pruning
    private long prunedElements;       // elements of element-wise pruned weights
    private long zeros;                // exact zeros among them after pruning

    private ModelCompressor(Path modelDir, CompressOptions options, HfModelDirectory model) {
        this.modelDir = modelDir;
        this.options = options;
        this.model = model;
        this.config = model.config();
    }

    /**
     * Compresses the model at {@code modelDir} into {@code out} (atomically; never onto an input).
     *
     * @throws BadInputException for anything wrong with the inputs or options, before writing
     */
    public static CompressionResult compress(Path modelDir, CompressOptions options, Path out, CompressionListener listener)
            throws IOException {
        long start = System.nanoTime();
        List<Path> inputs = new ArrayList<>(List.of(modelDir));
        if (options.calibration() != null) {
            inputs.add(options.calibration());
        }
        AtomicFiles.requireNotAnInput(out, inputs, "the compressed model");
        try (HfModelDirectory model = HfModelDirectory.open(modelDir)) {
            model.validateWeights();
            ModelCompressor c = new ModelCompressor(modelDir, options, model);
            ObjectNode configTree = c.readConfigTree();
            c.checkAgainstModel();
            CompressionRecord.Calibration calibration = null;
            double calibrationSeconds = 0;
            if (options.needsCalibration()) {
                CalibrationSet set = CalibrationSet.read(options.calibration(), modelDir, c.config,
                        options.calibrationSamples(), options.calibrationSeqLen());
                long t0 = System.nanoTime();
                listener.calibrationStarted(set.sequences().size());
                try (LlamaModel lm = LlamaModel.open(modelDir, List.of())) {
                    c.norms = ActivationNorms.collect(lm, set.sequences(), i -> listener.sequenceDone());
                }
                calibrationSeconds = (System.nanoTime() - t0) / 1e9;
                calibration = new CompressionRecord.Calibration(options.calibration().getFileName().toString(),
                        set.sequences().size(), set.tokens(), set.seqLen());
            }
            if (options.prunesFfnChannels()) {
                c.ffn = c.selectChannels();
            }
            // The config as it will be written (zero fraction still unknown): checked before any work.
            String draft = c.configJson(configTree, c.record(calibration, 0));
            ModelConfig.parse(out.resolve(ModelConfig.FILE_NAME).toString(), draft);

            List<SafetensorsStreamWriter.Entry> entries = c.outputEntries();
            listener.writingStarted(entries.size());
            CompressionRecord[] record = new CompressionRecord[1];
            final CompressionRecord.Calibration cal = calibration;
            AtomicFiles.writeDirectory(out, tmp -> {
                c.writeWeights(tmp, entries, listener);
                record[0] = c.record(cal, c.prunedElements == 0 ? 0 : (double) c.zeros / c.prunedElements);
                AtomicFiles.writeString(tmp.resolve(ModelConfig.FILE_NAME), c.configJson(configTree, record[0]));
                if (c.ffn != null) {
                    AtomicFiles.writeString(tmp.resolve(FfnPruning.FILE_NAME), c.ffn.toJson());
                }
                for (String f : SIDE_FILES) {
                    Path src = modelDir.resolve(f);
                    if (Files.isRegularFile(src)) {
                        Files.copy(src, tmp.resolve(f));
                    }
                }
            });
            long params = 0;
            long bytes = 0;
            long projParams = 0;
            long projBytes = 0;
            for (SafetensorsStreamWriter.Entry e : entries) {
                params += e.shape().size();
                bytes += e.byteSize();
                if (projection(e.name()).isPresent()) {
                    projParams += e.shape().size();
                    projBytes += e.byteSize();
                }
            }
            long inputBytes = 0;
            for (String name : model.weights().names()) {
                inputBytes += model.weights().info(name).byteSize();
            }
            return new CompressionResult(out, record[0], params, bytes, inputBytes, projParams, projBytes, directoryBytes(out),
                    calibrationSeconds, (System.nanoTime() - start) / 1e9);
        }
    }

    /** config.json as a tree, refusing a model that is already compressed. */
    private ObjectNode readConfigTree() throws IOException {
        Path file = modelDir.resolve(ModelConfig.FILE_NAME);
        JsonNode root = JSON.readTree(Files.readString(file)); // already validated by HfModelDirectory.open
        for (String key : List.of(CompressionRecord.QUANTIZATION_KEY, CompressionRecord.PRUNING_KEY)) {
            if (root.hasNonNull(key)) {
                throw new BadInputException(file + ": field \"" + key + "\" is present: the model is already compressed "
                        + "(compress the original model instead)");
            }
        }
        return (ObjectNode) root;
    }

    /** Every option checked against the model's dimensions and dtypes. */
    private void checkAgainstModel() {
        int intermediate = config.intermediateSize();
        Integer keep = options.ffnKeep();
        if (keep != null && keep >= intermediate) {
            throw new BadInputException("--ffn-keep: expected 1 to " + (intermediate - 1) + " channels (intermediate_size of "
                    + modelDir + " is " + intermediate + "), got " + keep);
        }
        TensorSource weights = model.weights();
        DType q = options.quantize();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            for (Projection p : Projection.values()) {
                String name = p.weightName(l);
                TensorInfo info = weights.info(name);
                if (!info.dtype().isCompute()) {
                    throw new BadInputException(modelDir + ": tensor \"" + name + "\" is already " + info.dtype()
                            + "; compress expects an uncompressed model (F32, F16 or BF16 projections)");
                }
                int in = p == Projection.DOWN_PROJ && keep != null ? keep : p.inFeatures(config);
                if (options.pattern() != null && in % options.pattern().m() != 0) {
                    throw new BadInputException("--pattern " + options.pattern() + ": tensor \"" + name + "\" has input dimension "
                            + in + (p == Projection.DOWN_PROJ && keep != null ? " (--ffn-keep)" : "") + ", not a multiple of "
                            + options.pattern().m());
                }
            }
        }
        if (q != null && quantizedProjections().isEmpty()) {
            throw new BadInputException("--quantize " + q.name().toLowerCase(Locale.ROOT) + ": no projection of " + modelDir
                    + " has an input dimension that is a multiple of the block size " + BlockFormat.BLOCK);
        }
        if (options.quantizeLmHead()) {
            if (config.tieWordEmbeddings()) {
                throw new BadInputException("--include lm_head: " + modelDir + " ties lm_head to model.embed_tokens.weight, and "
                        + "quantized embeddings are not supported by the loader");
            }
            TensorInfo head = weights.info(WeightLayout.LM_HEAD);
            if (!head.dtype().isCompute()) {
                throw new BadInputException(modelDir + ": tensor \"" + WeightLayout.LM_HEAD + "\" is already " + head.dtype());
            }
            if (config.hiddenSize() % BlockFormat.BLOCK != 0) {
                throw new BadInputException("--include lm_head: hidden_size " + config.hiddenSize()
                        + " is not a multiple of the block size " + BlockFormat.BLOCK);
            }
        }
    }

    /** The kept FFN channels of every layer. */
    private FfnPruning selectChannels() {
        List<int[]> kept = new ArrayList<>();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            Tensor down = model.weight(Projection.DOWN_PROJ.weightName(l));
            double[] scores = norms != null
                    ? FfnPruning.activationScores(down, norms.sumOfSquares(Projection.DOWN_PROJ.modulePath(l)))
                    : FfnPruning.weightScores(model.weight(Projection.GATE_PROJ.weightName(l)),
                    model.weight(Projection.UP_PROJ.weightName(l)), down);
            kept.add(FfnPruning.topChannels(scores, options.ffnKeep()));
        }
        return new FfnPruning(config.intermediateSize(), options.ffnKeep(),
                norms != null ? FfnPruning.Score.ACTIVATION_WEIGHTED : FfnPruning.Score.WEIGHT_NORMS, kept);
    }

    /** A projection's input dimension in the output (down_proj's is --ffn-keep when given). */
    private int inputDimension(Projection p) {
        return p == Projection.DOWN_PROJ && options.ffnKeep() != null ? options.ffnKeep() : p.inFeatures(config);
    }

    /**
     * The projections --quantize applies to: those whose input dimension is a multiple of the block
     * size. The others keep their dtype (as llama.cpp falls back for rows that do not fill whole
     * blocks), and the record lists them.
     */
    private List<Projection> quantizedProjections() {
        return Arrays.stream(Projection.values()).filter(p -> inputDimension(p) % BlockFormat.BLOCK == 0).toList();
    }

    /** The output tensors (name, dtype, logical shape), in the input's order. */
    private List<SafetensorsStreamWriter.Entry> outputEntries() {
        List<SafetensorsStreamWriter.Entry> out = new ArrayList<>();
        TensorSource weights = model.weights();
        for (String name : weights.names()) {
            TensorInfo info = weights.info(name);
            Shape shape = info.shape();
            DType dtype = info.dtype();
            Optional<ProjectionModule> pm = projection(name);
            if (pm.isPresent()) {
                Projection p = pm.get().projection();
                if (ffn != null && (p == Projection.GATE_PROJ || p == Projection.UP_PROJ)) {
                    shape = Shape.of(ffn.keptSize(), shape.dim(1));
                } else if (ffn != null && p == Projection.DOWN_PROJ) {
                    shape = Shape.of(shape.dim(0), ffn.keptSize());
                }
                if (options.quantize() != null && quantizedProjections().contains(p)) {
                    dtype = options.quantize();
                }
            } else if (name.equals(WeightLayout.LM_HEAD) && options.quantizeLmHead()) {
                dtype = options.quantize();
            }
            out.add(new SafetensorsStreamWriter.Entry(name, dtype, shape));
        }
        return out;
    }

    /** Produces and streams every tensor into shards of at most {@link #MAX_SHARD_BYTES} (plus an index). */
    private void writeWeights(Path dir, List<SafetensorsStreamWriter.Entry> entries, CompressionListener listener)
            throws IOException {
        List<List<SafetensorsStreamWriter.Entry>> shards = new ArrayList<>();
        List<SafetensorsStreamWriter.Entry> current = new ArrayList<>();
        long currentBytes = 0;
        for (SafetensorsStreamWriter.Entry e : entries) {
            if (!current.isEmpty() && currentBytes + e.byteSize() > MAX_SHARD_BYTES) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e);
            currentBytes += e.byteSize();
        }
        shards.add(current);
        Map<String, String> weightMap = new TreeMap<>();
        long total = 0;
        for (int s = 0; s < shards.size(); s++) {
            String file = shards.size() == 1 ? SafetensorsCheckpoint.SINGLE_FILE
                    : ShardedSafetensorsWriter.shardName(s + 1, shards.size());
            try (SafetensorsStreamWriter w = SafetensorsStreamWriter.create(dir.resolve(file), shards.get(s), SHARD_METADATA)) {
                for (SafetensorsStreamWriter.Entry e : shards.get(s)) {
                    w.write(e.name(), produce(e));
                    weightMap.put(e.name(), file);
                    total += e.byteSize();
                    listener.tensorDone(e.name());
                }
                w.finish();
            }
        }
        if (shards.size() > 1) {
            AtomicFiles.writeString(dir.resolve(SafetensorsIndex.FILE_NAME), ShardedSafetensorsWriter.indexJson(total, weightMap));
        }
    }

    /** One output tensor: the input's, sliced, pruned and quantized as the options say. */
    private Tensor produce(SafetensorsStreamWriter.Entry e) {
        Tensor src = model.weights().get(e.name());
        Optional<ProjectionModule> pm = projection(e.name());
        if (pm.isEmpty()) {
            return e.dtype() == src.dtype() ? src : src.to(e.dtype()); // lm_head may be quantized
        }
        int layer = pm.get().layer();
        Projection p = pm.get().projection();
        boolean sliced = ffn != null && (p == Projection.GATE_PROJ || p == Projection.UP_PROJ || p == Projection.DOWN_PROJ);
        if (!sliced && !options.prunesWeights()) {
            return e.dtype() == src.dtype() ? src : BlockQuantizer.quantize(src, e.dtype()); // quantization alone
        }
        Tensor w;
        if (sliced) {
            int[] kept = ffn.keptChannels(layer);
            w = p == Projection.DOWN_PROJ ? ChannelSlicing.columns(src, kept) : ChannelSlicing.rows(src, kept);
        } else {
            w = src.to(DType.F32);
        }
        if (options.prunesWeights()) {
            prune(w, pm.get());
        }
        if (e.dtype().isQuantized()) {
            return BlockQuantizer.quantize(w, e.dtype());
        }
        return e.dtype() == DType.F32 ? w : w.to(e.dtype());
    }

    /** Element-wise pruning of a heap F32 weight in place, counting its zeros. */
    private void prune(Tensor w, ProjectionModule pm) {
        float[] values = w.floatArray();
        int rows = w.dim(0);
        int cols = w.dim(1);
        float[] inputNorms = null;
        if (options.prune().needsCalibration()) {
            inputNorms = norms.norms(pm.path());
            if (ffn != null && pm.projection() == Projection.DOWN_PROJ) {
                int[] kept = ffn.keptChannels(pm.layer());
                float[] sliced = new float[kept.length];
                for (int i = 0; i < kept.length; i++) {
                    sliced[i] = inputNorms[kept[i]];
                }
                inputNorms = sliced;
            }
        }
        if (options.pattern() != null) {
            WeightPruning.pruneNm(values, rows, cols, inputNorms, options.pattern());
        } else {
            WeightPruning.pruneRows(values, rows, cols, inputNorms, options.sparsity());
        }
        long z = 0;
        for (float v : values) {
            if (v == 0f) {
                z++;
            }
        }
        zeros += z;
        prunedElements += values.length;
    }

    private CompressionRecord record(CompressionRecord.Calibration calibration, double zeroFraction) {
        List<String> projections = Arrays.stream(Projection.values()).map(Projection::moduleName).toList();
        CompressionRecord.Quantization quantization = null;
        if (options.quantize() != null) {
            List<Projection> quantized = quantizedProjections();
            List<String> modules = new ArrayList<>(quantized.stream().map(Projection::moduleName).toList());
            if (options.quantizeLmHead()) {
                modules.add("lm_head");
            }
            List<String> kept = Arrays.stream(Projection.values()).filter(p -> !quantized.contains(p))
                    .map(Projection::moduleName).toList();
            quantization = new CompressionRecord.Quantization(options.quantize(), modules, kept);
        }
        CompressionRecord.Pruning pruning = options.prune() == null ? null : new CompressionRecord.Pruning(options.prune(),
                options.sparsity(), options.pattern(), projections, zeroFraction);
        CompressionRecord.Structured structured = ffn == null ? null : new CompressionRecord.Structured(ffn.score(),
                ffn.originalSize(), ffn.keptSize(), FfnPruning.FILE_NAME);
        return new CompressionRecord(quantization, pruning, calibration, structured);
    }

    /** The input's config.json with the new intermediate_size and the compression record, 2-space indented. */
    private String configJson(ObjectNode input, CompressionRecord record) {
        ObjectNode root = input.deepCopy();
        if (ffn != null) {
            root.put("intermediate_size", ffn.keptSize());
        }
        record.writeTo(root);
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER))
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"));
        try {
            return JSON.writer(printer).writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The projection whose weight this tensor is, if it is one. */
    private static Optional<ProjectionModule> projection(String tensorName) {
        if (!tensorName.endsWith(".weight") || !tensorName.startsWith("model.layers.")) {
            return Optional.empty();
        }
        return ProjectionModule.parse(tensorName.substring(0, tensorName.length() - ".weight".length()));
    }


    private static long directoryBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            long n = 0;
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    n += Files.size(f);
                }
            }
            return n;
        }
    }
}
