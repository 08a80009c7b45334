package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.lora.MergedModelWriter;
import dev.lorakit.tensor.DType;
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

/** {@code lorakit export}: a Hugging Face model directory with adapters merged into the weights. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a Hugging Face model directory with LoRA adapters merged into its weights.",
        footer = {"", "Examples:", "  lorakit export --model examples/tiny/model --adapter examples/tiny/adapter -o /tmp/merged",
                "  lorakit export --model M --adapter A:0.5 --adapter B --dtype bf16 -o OUT"})
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base Hugging Face model directory.")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR[:SCALE]", description = "Adapter to merge (repeatable).")
    List<String> adapters = new ArrayList<>();

    @Option(names = "--dtype", description = "Output weight dtype: f32, f16 or bf16 (default: keep each tensor's dtype).")
    String dtype;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT_DIR", description = "Output directory (written atomically).")
    Path output;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        DType dt = null;
        if (dtype != null) {
            dt = DType.fromTorchName(dtype);
            if (dt == null) {
                dt = DType.fromSafetensorsName(dtype);
            }
            if (dt == null || !dt.isCompute()) {
                throw new BadInputException("--dtype: expected f32, f16 or bf16, got \"" + dtype + "\"");
            }
        }
        long t0 = System.nanoTime();
        int changed = MergedModelWriter.write(model, adapters.stream().map(AdapterRef::parse).toList(), output, dt);
        double s = (System.nanoTime() - t0) / 1e9;
        PrintWriter out = spec.commandLine().getOut();
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("output", output.toString());
            root.put("merged_tensors", changed);
            root.put("seconds", s);
            Json.print(out, root);
        } else {
            out.printf(Locale.ROOT, "wrote %s: %d weight tensors merged with %d adapter(s) in %.1f s%n", output, changed,
                    adapters.size(), s);
        }
        return 0;
    }
}
