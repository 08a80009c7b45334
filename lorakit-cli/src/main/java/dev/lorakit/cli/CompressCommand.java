package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.compress.CompressOptions;
import dev.lorakit.compress.CompressionListener;
import dev.lorakit.compress.CompressionRecord;
import dev.lorakit.compress.CompressionResult;
import dev.lorakit.compress.ModelCompressor;
import dev.lorakit.compress.NmSparsity;
import dev.lorakit.compress.PruneMethod;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit compress}: a quantized and/or pruned copy of a model directory that loads like any model. */
@Command(name = "compress", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a compressed copy of a Hugging Face model directory (quantized, pruned, or both).",
                "Methods compose in this order: structured FFN pruning, unstructured or N:M pruning, quantization.",
                "config.json records what was done (quantization_config, lorakit_pruning); generate, eval, forward",
                "and bench load the result like any model."},
        footer = {"", "Methods:",
                "  --quantize q8_0|q4_0     llama.cpp block quantization of q/k/v/o/gate/up/down (8.5 / 4.5 bits per weight);",
                "                           --include lm_head adds an untied lm_head (embeddings cannot be quantized);",
                "                           a projection whose input dimension is not a multiple of 32 keeps its dtype",
                "                           (config.json: quantization_config.modules_not_quantized)",
                "  --prune magnitude|wanda  zero weights by |W_ij| or by Wanda's |W_ij| * ||X_j||_2 (needs --calib), either",
                "                           --sparsity S: the lowest floor(S*in) of every output row (unstructured), or",
                "                           --pattern N:M: the M-N lowest of every M consecutive inputs (2:4 semi-structured)",
                "  --prune-structured ffn   remove FFN channels: keep the --ffn-keep F best per layer (gate/up rows, down",
                "                           columns; intermediate_size becomes F; kept channels listed in pruning.json).",
                "                           Score ||gate_c|| ||up_c|| ||down_:,c||, or ||h_c|| ||down_:,c|| with --calib",
                "", "Calibration (--calib FILE.jsonl): any training-data format (text, prompt/completion, messages,",
                "input_ids); the first --calib-samples examples, each cut to --calib-seq-len tokens, run once through",
                "the uncompressed model.",
                "", "Examples:",
                "  lorakit compress --model M --quantize q4_0 -o M-q4",
                "  lorakit compress --model M --prune wanda --sparsity 0.5 --calib data.jsonl --quantize q8_0 -o M-w50-q8",
                "  lorakit compress --model M --prune magnitude --pattern 2:4 -o M-24",
                "  lorakit compress --model M --prune-structured ffn --ffn-keep 4096 --calib data.jsonl -o M-ffn4096"})
public final class CompressCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Uncompressed Hugging Face model directory.")
    Path model;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT_DIR", description = "Output directory (written atomically).")
    Path output;

    @Option(names = "--quantize", paramLabel = "FORMAT", description = "Quantize the projections: q8_0 or q4_0.")
    String quantize;

    @Option(names = "--include", split = ",", paramLabel = "MODULE", description = "Also quantize: lm_head.")
    List<String> include = new ArrayList<>();

    @Option(names = "--prune", paramLabel = "METHOD", description = "Prune weights: magnitude or wanda.")
    String prune;

    @Option(names = "--sparsity", paramLabel = "S", description = "Unstructured pruning: fraction of each output row zeroed, in (0, 1).")
    Double sparsity;

    @Option(names = "--pattern", paramLabel = "N:M", description = "Semi-structured pruning: keep N of every M consecutive inputs (e.g. 2:4).")
    String pattern;

    @Option(names = "--prune-structured", paramLabel = "TARGET", description = "Structured pruning: ffn (remove FFN channels).")
    String pruneStructured;

    @Option(names = "--ffn-keep", paramLabel = "F", description = "FFN channels kept per layer (the new intermediate_size).")
    Integer ffnKeep;

    @Option(names = "--calib", paramLabel = "FILE.jsonl", description = "Calibration data (wanda; activation-weighted FFN scores).")
    Path calib;

    @Option(names = "--calib-samples", defaultValue = "32", paramLabel = "N", description = "Calibration examples used (default: ${DEFAULT-VALUE}).")
    int calibSamples;

    @Option(names = "--calib-seq-len", defaultValue = "256", paramLabel = "T", description = "Tokens per calibration example (default: ${DEFAULT-VALUE}).")
    int calibSeqLen;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CompressOptions options = options();
        CompressionResult r;
        try (Bars bars = new Bars()) {
            r = ModelCompressor.compress(model, options, output, bars);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("output", output.toString());
            root.put("parameters", r.parameters());
            root.put("weight_bytes", r.weightBytes());
            root.put("input_weight_bytes", r.inputWeightBytes());
            root.put("disk_bytes", r.diskBytes());
            root.put("bits_per_weight", r.bitsPerWeight());
            root.put("projection_parameters", r.projectionParameters());
            root.put("projection_bytes", r.projectionBytes());
            root.put("projection_bits_per_weight", r.projectionBitsPerWeight());
            root.put("calibration_seconds", r.calibrationSeconds());
            root.put("seconds", r.seconds());
            ObjectNode record = root.putObject("record");
            r.record().writeTo(record);
            Json.print(out, root);
            return 0;
        }
        CompressionRecord rec = r.record();
        List<String> done = new ArrayList<>();
        if (rec.structured() != null) {
            done.add("FFN " + rec.structured().originalIntermediateSize() + " -> " + rec.structured().intermediateSize()
                    + " channels (" + rec.structured().score().jsonName() + ")");
        }
        if (rec.pruning() != null) {
            CompressionRecord.Pruning p = rec.pruning();
            done.add(p.method().optionName() + " " + (p.pattern() != null ? p.pattern().toString() : p.sparsity().toString())
                    + String.format(Locale.ROOT, " (%.1f %% zeros)", 100 * p.zeroFraction()));
        }
        if (rec.quantization() != null) {
            done.add(rec.quantization().format().name().toLowerCase(Locale.ROOT) + " " + String.join(",", rec.quantization().modules())
                    + (rec.quantization().unquantized().isEmpty() ? "" : " (" + String.join(",", rec.quantization().unquantized())
                    + " kept: input dimension not a multiple of 32)"));
        }
        out.println("compressed " + model + ": " + String.join("; ", done));
        if (rec.calibration() != null) {
            out.printf(Locale.ROOT, "calibration: %d sequences, %d tokens of %s in %.1f s%n", rec.calibration().samples(),
                    rec.calibration().tokens(), rec.calibration().file(), r.calibrationSeconds());
        }
        out.printf(Locale.ROOT, "weights: %s -> %s (%.2f bits/weight; projections %.2f), %s on disk%n",
                Units.bytes(r.inputWeightBytes()), Units.bytes(r.weightBytes()), r.bitsPerWeight(), r.projectionBitsPerWeight(),
                Units.bytes(r.diskBytes()));
        out.printf(Locale.ROOT, "wrote %s in %.1f s%n", output, r.seconds());
        return 0;
    }

    private CompressOptions options() {
        if (pruneStructured != null && !pruneStructured.strip().equalsIgnoreCase("ffn")) {
            throw new BadInputException("--prune-structured: expected ffn (FFN channels), got \"" + pruneStructured + "\"");
        }
        if (pruneStructured != null && ffnKeep == null) {
            throw new BadInputException("--prune-structured ffn: needs --ffn-keep F (channels kept per layer)");
        }
        if (ffnKeep != null && pruneStructured == null) {
            throw new BadInputException("--ffn-keep: needs --prune-structured ffn");
        }
        return CompressOptions.builder()
                .quantize(quantize == null ? null : CompressOptions.quantFormat(quantize))
                .quantizeLmHead(CompressOptions.includesLmHead(include))
                .prune(prune == null ? null : PruneMethod.parse("--prune", prune))
                .sparsity(sparsity)
                .pattern(pattern == null ? null : NmSparsity.parse(pattern))
                .ffnKeep(ffnKeep)
                .calibration(calib)
                .calibrationSamples(calibSamples)
                .calibrationSeqLen(calibSeqLen)
                .build();
    }

    /** Progress bars for calibration and writing (silent unless on a terminal). */
    private final class Bars implements CompressionListener, AutoCloseable {
        private Progress current;

        @Override
        public void calibrationStarted(int sequences) {
            switchTo(Progress.start("calibrate", sequences, global));
        }

        @Override
        public void sequenceDone() {
            current.step(1);
        }

        @Override
        public void writingStarted(int tensors) {
            switchTo(Progress.start("compress", tensors, global));
        }

        @Override
        public void tensorDone(String name) {
            current.step(1);
        }

        private void switchTo(Progress next) {
            close();
            current = next;
        }

        @Override
        public void close() {
            if (current != null) {
                current.close();
                current = null;
            }
        }
    }
}
