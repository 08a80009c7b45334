package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.Tensor;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit forward}: the float32 logits of every position, for comparison with other implementations. */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Run one forward pass and write the float32 logits of every position as tensor \"logits\" [T, vocab].",
        footer = {"", "Examples:", "  lorakit forward --model examples/tiny/model --input-ids 0,72,105 -o logits.safetensors",
                "  lorakit forward --model M --adapter A:0.5 --text \"Hello\" -o out.safetensors --json"})
public final class ForwardCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--input-ids", split = ",", paramLabel = "ID,ID,...", description = "Token ids, comma-separated.")
        List<Integer> ids;

        @Option(names = "--text", description = "Text to tokenize with the model's tokenizer (BOS added per its config).")
        String text;
    }

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.safetensors", description = "Output file (written atomically).")
    Path output;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (Files.isDirectory(output)) {
            throw new BadInputException(output + ": is a directory; expected a .safetensors file path");
        }
        long t0 = System.nanoTime();
        try (LlamaModel model = modelOptions.open()) {
            int[] ids;
            if (input.ids != null) {
                ids = input.ids.stream().mapToInt(Integer::intValue).toArray();
            } else {
                try (TextTokenizer tok = TextTokenizer.load(modelOptions.model)) {
                    ids = tok.encode(input.text);
                }
            }
            if (ids.length == 0) {
                throw new BadInputException("--input-ids / --text: no tokens to run");
            }
            long t1 = System.nanoTime();
            float[] logits = model.logits(ids);
            long t2 = System.nanoTime();
            int vocab = model.config().vocabSize();
            for (float v : logits) {
                if (!Float.isFinite(v)) {
                    throw new IllegalStateException("the forward pass produced a non-finite logit; the model weights may be corrupt");
                }
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("logits", Tensor.ofFloats(logits, ids.length, vocab));
            out.put("input_ids", idsTensor(ids));
            SafetensorsWriter.write(output, out, Map.of("model", modelOptions.model.toString(),
                    "adapters", String.join(";", modelOptions.adapters), "merged", Boolean.toString(modelOptions.mergeAdapters)));
            PrintWriter pw = spec.commandLine().getOut();
            double loadS = (t1 - t0) / 1e9;
            double fwdS = (t2 - t1) / 1e9;
            if (global.json) {
                ObjectNode root = Json.object();
                root.put("output", output.toString());
                root.put("tokens", ids.length);
                root.put("vocab_size", vocab);
                root.put("load_seconds", loadS);
                root.put("forward_seconds", fwdS);
                root.put("tokens_per_second", ids.length / fwdS);
                Json.print(pw, root);
            } else {
                pw.printf(Locale.ROOT, "wrote logits [%d, %d] to %s (load %.2f s, forward %.3f s, %.1f tokens/s)%n",
                        ids.length, vocab, output, loadS, fwdS, ids.length / fwdS);
            }
        }
        return 0;
    }

    private static Tensor idsTensor(int[] ids) {
        Tensor t = Tensor.zeros(dev.lorakit.tensor.DType.I64, ids.length);
        for (int i = 0; i < ids.length; i++) {
            t.segment().set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 8L * i, ids[i]);
        }
        return t;
    }
}
