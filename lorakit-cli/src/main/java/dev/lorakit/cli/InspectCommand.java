package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.compress.CompressionRecord;
import dev.lorakit.io.TensorSource;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.hf.RopeScaling;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.recovery.RecoveryAdapter;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.io.recovery.RecoveryModule;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.peft.TargetModules;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.TensorInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit inspect PATH}: describes a safetensors file, a PEFT adapter or a model directory. */
@Command(name = "inspect",
        description = {"Describe an adapter, a model directory or a .safetensors file.", "",
                "Adapters: modules, ranks, alphas, effective scalings, dtypes, parameters, per-module ||dW||_F",
                "(and CA-LoRA recovery modules when the directory has them).",
                "Model directories: architecture, sizes, parameter count by dtype, bits per weight, compression, weight validation.",
                ".safetensors files: tensors, shapes, dtypes, metadata."},
        mixinStandardHelpOptions = true,
        footer = {"", "Examples:", "  lorakit inspect my-adapter/", "  lorakit inspect model.safetensors --json"})
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH", description = "Adapter directory, model directory or .safetensors file.")
    Path path;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (!Files.exists(path)) {
            throw new BadInputException(path + ": no such file or directory");
        }
        if (Files.isDirectory(path) && Files.exists(path.resolve(PeftKeys.CONFIG_FILE))) {
            inspectAdapter(out);
            return 0;
        }
        if (Files.isDirectory(path) && Files.exists(path.resolve(ModelConfig.FILE_NAME))) {
            inspectModel(out);
            return 0;
        }
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".safetensors")) {
            inspectSafetensors(out);
            return 0;
        }
        throw new BadInputException(path + ": not something lorakit can inspect (expected an adapter directory with "
                + "adapter_config.json, a model directory with config.json, or a .safetensors file)");
    }

    private void inspectAdapter(PrintWriter out) {
        try (LoraAdapter adapter = LoraAdapter.open(path)) {
            LoraConfig c = adapter.config();
            List<LoraModule> modules = adapter.modules();
            double[] norms = new double[modules.size()];
            try (Progress progress = Progress.start("||dW||", modules.size(), global)) {
                for (int i = 0; i < norms.length; i++) {
                    norms[i] = modules.get(i).deltaFrobeniusNorm();
                    progress.step(1);
                }
            }
            if (global.json) {
                ObjectNode root = Json.object();
                root.put("kind", "adapter");
                root.put("path", path.toString());
                root.put("peft_type", "LORA");
                root.put("base_model_name_or_path", c.baseModelNameOrPath());
                root.put("r", c.r());
                root.put("lora_alpha", c.loraAlpha());
                root.put("use_rslora", c.useRslora());
                root.put("target_modules", describe(c.targetModules()));
                ObjectNode rp = root.putObject("rank_pattern");
                c.rankPattern().forEach(rp::put);
                ObjectNode ap = root.putObject("alpha_pattern");
                c.alphaPattern().forEach(ap::put);
                root.put("module_count", modules.size());
                root.put("parameters", adapter.parameterCount());
                root.put("bytes", adapter.byteSize());
                ArrayNode arr = root.putArray("modules");
                for (int i = 0; i < modules.size(); i++) {
                    LoraModule m = modules.get(i);
                    ObjectNode n = arr.addObject();
                    n.put("name", m.name());
                    n.put("rank", m.rank());
                    n.put("alpha", m.alpha());
                    n.put("scaling", m.scaling());
                    n.put("dtype", m.a().dtype().name());
                    n.put("in_features", m.inFeatures());
                    n.put("out_features", m.outFeatures());
                    n.put("parameters", m.parameterCount());
                    n.put("bytes", m.byteSize());
                    n.put("delta_frobenius_norm", norms[i]);
                }
                if (RecoveryConfig.isPresent(path)) {
                    try (RecoveryAdapter rec = RecoveryAdapter.open(path)) {
                        ObjectNode r = root.putObject("recovery");
                        r.put("r", rec.config().rank());
                        r.put("scaling", rec.config().scaling());
                        ArrayNode t = r.putArray("target_modules");
                        rec.config().targetModules().forEach(t::add);
                        r.put("module_count", rec.modules().size());
                        r.put("parameters", rec.modules().stream().mapToLong(RecoveryModule::parameterCount).sum());
                        r.put("bytes", rec.modules().stream().mapToLong(RecoveryModule::byteSize).sum());
                    }
                }
                Json.print(out, root);
                return;
            }
            out.println("PEFT LoRA adapter " + path);
            out.println("  base model:     " + c.baseModelNameOrPath());
            out.println("  r / lora_alpha: " + c.r() + " / " + fmt(c.loraAlpha()) + (c.useRslora() ? "  (rsLoRA: scaling = alpha/sqrt(r))" : "  (scaling = alpha/r)"));
            out.println("  targets:        " + describe(c.targetModules()));
            if (!c.rankPattern().isEmpty()) {
                out.println("  rank_pattern:   " + c.rankPattern());
            }
            if (!c.alphaPattern().isEmpty()) {
                out.println("  alpha_pattern:  " + c.alphaPattern());
            }
            out.println("  modules: " + modules.size() + ", parameters: " + Units.count(adapter.parameterCount()) + " ("
                    + adapter.parameterCount() + "), size: " + Units.bytes(adapter.byteSize()));
            if (RecoveryConfig.isPresent(path)) {
                try (RecoveryAdapter rec = RecoveryAdapter.open(path)) {
                    long params = rec.modules().stream().mapToLong(RecoveryModule::parameterCount).sum();
                    long bytes = rec.modules().stream().mapToLong(RecoveryModule::byteSize).sum();
                    out.println("  CA-LoRA recovery s*U*GELU(D*x): " + rec.modules().size() + " modules on "
                            + String.join(",", rec.config().targetModules()) + ", r " + rec.config().rank() + ", scaling "
                            + fmt(rec.config().scaling()) + ", parameters: " + Units.count(params) + " (" + params + "), size: "
                            + Units.bytes(bytes));
                }
            }
            out.println();
            TextTable table = new TextTable("module", ">rank", ">alpha", ">scaling", "dtype", ">in", ">out", ">params", ">||dW||_F");
            for (int i = 0; i < modules.size(); i++) {
                LoraModule m = modules.get(i);
                table.row(m.name(), m.rank(), fmt(m.alpha()), fmt(m.scaling()), m.a().dtype(), m.inFeatures(), m.outFeatures(),
                        m.parameterCount(), String.format(Locale.ROOT, "%.4g", norms[i]));
            }
            table.print(out);
        }
    }

    private void inspectModel(PrintWriter out) {
        try (HfModelDirectory model = HfModelDirectory.open(path)) {
            model.validateWeights();
            ModelConfig c = model.config();
            TensorSource w = model.weights();
            Map<DType, Long> paramsByDtype = new TreeMap<>();
            long bytes = 0;
            long projParams = 0;
            long projBytes = 0;
            for (String name : w.names()) {
                TensorInfo t = w.info(name);
                paramsByDtype.merge(t.dtype(), t.shape().size(), Long::sum);
                bytes += t.byteSize();
                if (isProjectionWeight(name)) {
                    projParams += t.shape().size();
                    projBytes += t.byteSize();
                }
            }
            double bitsPerWeight = bitsPerWeight(bytes, model.parameterCount());
            double projBitsPerWeight = bitsPerWeight(projBytes, projParams);
            Optional<CompressionRecord> compression = CompressionRecord.read(path);
            long params = model.parameterCount();
            RopeScaling rs = c.ropeScaling();
            String rope = rs == null ? "none" : rs.kind() == RopeScaling.Kind.LINEAR ? "linear x" + fmt(rs.factor())
                    : "llama3 x" + fmt(rs.factor()) + " (low " + fmt(rs.lowFreqFactor()) + ", high " + fmt(rs.highFreqFactor())
                    + ", original context " + rs.originalMaxPositionEmbeddings() + ")";
            if (global.json) {
                ObjectNode root = Json.object();
                root.put("kind", "model");
                root.put("path", path.toString());
                root.put("architecture", c.architecture().className());
                root.put("hidden_size", c.hiddenSize());
                root.put("intermediate_size", c.intermediateSize());
                root.put("num_hidden_layers", c.numHiddenLayers());
                root.put("num_attention_heads", c.numAttentionHeads());
                root.put("num_key_value_heads", c.numKeyValueHeads());
                root.put("head_dim", c.headDim());
                root.put("vocab_size", c.vocabSize());
                root.put("max_position_embeddings", c.maxPositionEmbeddings());
                root.put("rope_theta", c.ropeTheta());
                if (rs == null) {
                    root.putNull("rope_scaling");
                } else {
                    rs.writeTo(root.putObject("rope_scaling"));
                }
                root.put("tie_word_embeddings", c.tieWordEmbeddings());
                root.put("torch_dtype", c.torchDtype().name());
                root.put("parameters", params);
                root.put("weight_bytes", bytes);
                root.put("bits_per_weight", bitsPerWeight);
                root.put("projection_parameters", projParams);
                root.put("projection_bytes", projBytes);
                root.put("projection_bits_per_weight", projBitsPerWeight);
                ObjectNode dt = root.putObject("parameters_by_dtype");
                paramsByDtype.forEach((k, v) -> dt.put(k.name(), v));
                if (compression.isPresent()) {
                    compression.get().writeTo(root.putObject("compression"));
                }
                root.put("tensor_count", w.names().size());
                root.put("tokenizer", model.tokenizerJson().isPresent());
                Json.print(out, root);
                return;
            }
            out.println("Hugging Face model " + path);
            out.println("  architecture:  " + c.architecture().className() + (c.tieWordEmbeddings() ? " (tied embeddings)" : ""));
            out.println("  layers:        " + c.numHiddenLayers() + ", hidden " + c.hiddenSize() + ", FFN " + c.intermediateSize());
            out.println("  attention:     " + c.numAttentionHeads() + " heads, " + c.numKeyValueHeads() + " KV heads, head dim "
                    + c.headDim());
            out.println("  vocabulary:    " + c.vocabSize() + ", context " + c.maxPositionEmbeddings() + ", rope theta "
                    + fmt(c.ropeTheta()) + ", rope scaling " + rope);
            out.println("  parameters:    " + Units.count(params) + " (" + params + "), weights " + Units.bytes(bytes) + " in "
                    + w.names().size() + " tensors");
            StringBuilder dts = new StringBuilder();
            paramsByDtype.forEach((k, v) -> dts.append(dts.isEmpty() ? "" : ", ").append(k).append(' ').append(Units.count(v)));
            out.println("  dtypes:        " + dts + " (config torch_dtype " + c.torchDtype().torchName() + ")");
            out.println(String.format(Locale.ROOT, "  bits/weight:   %.2f overall, %.2f in the q/k/v/o/gate/up/down projections "
                    + "(%s of %s)", bitsPerWeight, projBitsPerWeight, Units.bytes(projBytes), Units.bytes(bytes)));
            compression.ifPresent(r -> out.println("  compression:   " + describe(r)));
            out.println("  tokenizer:     " + model.tokenizerJson().map(Path::toString).orElse("none"));
            out.println("  weights:       all " + w.names().size() + " tensors present with the expected shapes");
        }
    }

    private static boolean isProjectionWeight(String name) {
        return name.endsWith(".weight")
                && ProjectionModule.parse(name.substring(0, name.length() - ".weight".length())).isPresent();
    }

    private static double bitsPerWeight(long bytes, long params) {
        return params == 0 ? 0 : 8.0 * bytes / params;
    }

    /** One line: what lorakit compress did. */
    static String describe(CompressionRecord r) {
        List<String> parts = new ArrayList<>();
        if (r.quantization() != null) {
            parts.add(r.quantization().format().name().toLowerCase(Locale.ROOT) + " (" + String.join(",", r.quantization().modules())
                    + (r.quantization().unquantized().isEmpty() ? "" : "; not quantized: " + String.join(",", r.quantization().unquantized()))
                    + ")");
        }
        if (r.pruning() != null) {
            CompressionRecord.Pruning p = r.pruning();
            parts.add(p.method().optionName() + " " + (p.pattern() != null ? p.pattern() + " per input group"
                    : p.sparsity() + " per output row") + String.format(Locale.ROOT, ", %.1f %% zeros", 100 * p.zeroFraction()));
        }
        if (r.structured() != null) {
            parts.add("FFN channels " + r.structured().originalIntermediateSize() + " -> " + r.structured().intermediateSize()
                    + " (" + r.structured().score().jsonName() + ", " + r.structured().keptChannelsFile() + ")");
        }
        if (r.calibration() != null) {
            parts.add("calibration " + r.calibration().samples() + " x " + r.calibration().file() + " ("
                    + r.calibration().tokens() + " tokens)");
        }
        return String.join("; ", parts);
    }

    static String describe(TargetModules t) {
        return switch (t) {
            case TargetModules.Names n -> String.join(",", n.names());
            case TargetModules.Regex r -> "regex " + r.pattern();
            case TargetModules.AllLinear a -> "all-linear";
        };
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.6g", v);
    }

    private void inspectSafetensors(PrintWriter out) {
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            long params = 0;
            long bytes = 0;
            for (TensorInfo t : f.infos()) {
                params += t.shape().size();
                bytes += t.byteSize();
            }
            if (global.json) {
                ObjectNode root = Json.object();
                root.put("kind", "safetensors");
                root.put("path", path.toString());
                root.put("tensor_count", f.infos().size());
                root.put("parameters", params);
                root.put("data_bytes", bytes);
                ObjectNode meta = root.putObject("metadata");
                f.metadata().forEach(meta::put);
                ArrayNode arr = root.putArray("tensors");
                for (TensorInfo t : f.infos()) {
                    ObjectNode n = arr.addObject();
                    n.put("name", t.name());
                    n.put("dtype", t.dtype().name());
                    ArrayNode shape = n.putArray("shape");
                    for (long d : t.shape().toLongs()) {
                        shape.add(d);
                    }
                    n.put("bytes", t.byteSize());
                }
                Json.print(out, root);
                return;
            }
            out.println("safetensors file " + path);
            out.println("  tensors: " + f.infos().size() + ", parameters: " + Units.count(params) + " (" + params
                    + "), data: " + Units.bytes(bytes));
            for (Map.Entry<String, String> m : f.metadata().entrySet()) {
                out.println("  metadata " + m.getKey() + " = " + m.getValue());
            }
            TextTable table = new TextTable("tensor", "dtype", "shape", ">bytes");
            for (TensorInfo t : f.infos()) {
                table.row(t.name(), t.dtype(), t.shape(), t.byteSize());
            }
            out.println();
            table.print(out);
        }
    }
}
