package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.perf.DecodeBenchmark;
import dev.lorakit.perf.MemoryBandwidth;
import dev.lorakit.tensor.Parallel;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code lorakit bench}: measures this machine's memory bandwidth and a model's prefill and
 * decode speed, and reports decode against the bandwidth floor (weight bytes / bandwidth).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure memory bandwidth, prefill and decode speed of a model (with adapters: also their overhead).",
        footer = {"", "Examples:", "  lorakit synth model --preset tinyllama --dtype bf16 -o /tmp/tinyllama",
                "  lorakit bench --model /tmp/tinyllama", "  lorakit bench --model /tmp/tinyllama --adapter /tmp/lora16 --json"})
public final class BenchCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt-tokens", defaultValue = "256", description = "Prefill length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "32", description = "Decode steps timed per repetition (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--batch", defaultValue = "1", description = "Sequences decoded together (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--reps", defaultValue = "3", description = "Timed repetitions after one warm-up (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--bandwidth-mib", defaultValue = "1024", description = "Buffer size of the bandwidth test (default: ${DEFAULT-VALUE}).")
    int bandwidthMib;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (promptTokens < 1 || decodeTokens < 1 || batch < 1 || reps < 1 || bandwidthMib < 64) {
            throw new BadInputException("--prompt-tokens, --decode-tokens, --batch, --reps must be >= 1 and --bandwidth-mib >= 64");
        }
        PrintWriter out = spec.commandLine().getOut();
        MemoryBandwidth.Result bw = MemoryBandwidth.measure((long) bandwidthMib << 20, 7);
        ObjectNode root = Json.object();
        root.put("threads", Parallel.threads());
        root.put("bandwidth_copy_gb_per_s", bw.copyBytesPerSecond() / 1e9);
        root.put("bandwidth_read_gb_per_s", bw.readBytesPerSecond() / 1e9);
        if (!global.json) {
            out.printf(Locale.ROOT, "memory bandwidth (%d threads, median of 7): STREAM copy %.1f GB/s, read %.1f GB/s%n",
                    Parallel.threads(), bw.copyBytesPerSecond() / 1e9, bw.readBytesPerSecond() / 1e9);
        }
        DecodeBenchmark.Result base = null;
        long weightBytes;
        try (LlamaModel model = LlamaModel.open(modelOptions.model, List.of())) {
            weightBytes = decodeWeightBytes(model);
            if (!modelOptions.adapters.isEmpty()) {
                base = DecodeBenchmark.run(model, promptTokens, decodeTokens, batch, reps, 1);
            }
        }
        DecodeBenchmark.Result r;
        try (LlamaModel model = modelOptions.open()) {
            r = DecodeBenchmark.run(model, promptTokens, decodeTokens, batch, reps, 1);
            ModelConfig c = model.config();
            double floor = weightBytes / bw.best();
            double decodeTokS = batch / r.decodeSecondsPerStep();
            double prefillTokS = promptTokens / r.prefillSeconds();
            double prefillGflops = 2.0 * linearParameters(c) * promptTokens / r.prefillSeconds() / 1e9;
            root.put("model", modelOptions.model.toString());
            root.put("weight_bytes_per_decode_step", weightBytes);
            root.put("bandwidth_floor_ms", floor * 1e3);
            root.put("batch", batch);
            root.put("decode_ms_per_step", r.decodeSecondsPerStep() * 1e3);
            root.put("decode_tokens_per_s", decodeTokS);
            root.put("decode_vs_floor", r.decodeSecondsPerStep() / floor);
            root.put("prefill_tokens", promptTokens);
            root.put("prefill_tokens_per_s", prefillTokS);
            root.put("prefill_gflops", prefillGflops);
            if (!global.json) {
                out.printf(Locale.ROOT, "model %s: %s of weights read per decode step -> floor %.1f ms at %.1f GB/s%n",
                        modelOptions.model, Units.bytes(weightBytes), floor * 1e3, bw.best() / 1e9);
                out.printf(Locale.ROOT, "decode (batch %d): %.1f ms/step, %.2f tokens/s, %.2fx the bandwidth floor%n",
                        batch, r.decodeSecondsPerStep() * 1e3, decodeTokS, r.decodeSecondsPerStep() / floor);
                out.printf(Locale.ROOT, "prefill (%d tokens): %.2f s, %.1f tokens/s, %.1f GFLOP/s effective (linear layers)%n",
                        promptTokens, r.prefillSeconds(), prefillTokS, prefillGflops);
            }
            if (base != null) {
                double overhead = r.decodeSecondsPerStep() / base.decodeSecondsPerStep() - 1;
                double prefillOverhead = r.prefillSeconds() / base.prefillSeconds() - 1;
                root.put("base_decode_ms_per_step", base.decodeSecondsPerStep() * 1e3);
                root.put("adapter_decode_overhead", overhead);
                root.put("adapter_prefill_overhead", prefillOverhead);
                if (!global.json) {
                    out.printf(Locale.ROOT, "adapters %s%s: decode %+.1f %% (%.1f -> %.1f ms/step), prefill %+.1f %%%n",
                            modelOptions.adapters, modelOptions.mergeAdapters ? " (merged)" : " (unmerged)", 100 * overhead,
                            base.decodeSecondsPerStep() * 1e3, r.decodeSecondsPerStep() * 1e3, 100 * prefillOverhead);
                }
            }
        }
        if (global.json) {
            Json.print(out, root);
        }
        return 0;
    }

    /** Bytes a decode step streams: every tensor but the embedding table (one row is read), unless tied to the head. */
    static long decodeWeightBytes(LlamaModel model) {
        TensorSource w = model.directory().weights();
        long bytes = 0;
        for (String name : w.names()) {
            if (name.equals(WeightLayout.EMBED_TOKENS) && !model.config().tieWordEmbeddings()) {
                continue;
            }
            bytes += w.info(name).byteSize();
        }
        return bytes;
    }

    /** Parameters of the linear layers and LM head (the 2 x params x tokens FLOP of a forward). */
    static long linearParameters(ModelConfig c) {
        long perLayer = (long) c.hiddenSize() * c.queryDim() * 2 + 2L * c.hiddenSize() * c.keyValueDim()
                + 3L * c.hiddenSize() * c.intermediateSize();
        return perLayer * c.numHiddenLayers() + (long) c.vocabSize() * c.hiddenSize();
    }
}
