package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.tensor.TensorInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit inspect PATH}: describes a safetensors file, a PEFT adapter or a model directory. */
@Command(name = "inspect",
        description = {"Describe a PEFT LoRA adapter directory (modules, ranks, alphas, effective scalings, dtypes,",
                "parameters, per-module ||dW||_F), a Hugging Face model directory (architecture, sizes, parameter",
                "count, dtype), or any .safetensors file (tensors, shapes, dtypes)."},
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
        if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".safetensors")) {
            inspectSafetensors(out);
            return 0;
        }
        throw new BadInputException(path + ": not something lorakit can inspect (expected an adapter directory with "
                + "adapter_config.json, a model directory with config.json, or a .safetensors file)");
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
