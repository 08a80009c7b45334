package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.TargetModules;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticAdapter;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit synth}: writes random models and adapters of real shapes, and the task suite (tests, benchmarks, demos). */
@Command(name = "synth",
        description = "Write a random (untrained) model or LoRA adapter of a given shape, or the task suite, reproducible from a seed.",
        mixinStandardHelpOptions = true,
        subcommands = {SynthCommand.Model.class, SynthCommand.Adapter.class, SynthTasksCommand.class},
        footer = {"", "Examples:", "  lorakit synth model --preset tinyllama --dtype bf16 -o /tmp/tinyllama",
                "  lorakit synth adapter --model /tmp/tinyllama --rank 16 --alpha 32 -o /tmp/lora16",
                "  lorakit synth tasks --corpus build/corpus -o examples/tasks"})
public final class SynthCommand {

    static DType parseDtype(String s) {
        DType d = DType.fromTorchName(s);
        if (d == null) {
            d = DType.fromSafetensorsName(s);
        }
        if (d == null || !d.isCompute()) {
            throw new BadInputException("--dtype: expected f32, f16 or bf16, got \"" + s + "\"");
        }
        return d;
    }

    static ModelPreset preset(String name) {
        for (ModelPreset candidate : ModelPreset.values()) {
            if (candidate.cliName().equals(name.toLowerCase(Locale.ROOT))) {
                return candidate;
            }
        }
        throw new BadInputException("--preset: unknown preset \"" + name + "\" (expected tiny, base6m, bench20m, tinyllama or llama2-7b)");
    }

    static void refuseExistingFile(Path out) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new BadInputException(out + ": exists and is not a directory");
        }
    }

    /** {@code lorakit synth model}. */
    @Command(name = "model", mixinStandardHelpOptions = true,
            description = "Write a random Llama-architecture Hugging Face model directory.",
            footer = {"", "Presets: tiny (byte vocabulary, with tokenizer), base6m (5.9M, byte vocabulary, with tokenizer: the",
                    "shape of the bundled base model, for lorakit train --full), bench20m (25.6M, byte vocabulary),",
                    "tinyllama (1.1B), llama2-7b (6.7B; the weights",
                    "are generated in memory: set LORAKIT_JAVA_OPTS=-Xmx16g for bf16).",
                    "Example:", "  lorakit synth model --preset tiny -o examples/tiny/model"})
    static final class Model implements Callable<Integer> {
        @Option(names = "--preset", defaultValue = "tiny", description = "tiny, base6m, bench20m, tinyllama or llama2-7b (default: ${DEFAULT-VALUE}).")
        String preset;

        @Option(names = "--dtype", defaultValue = "bf16", description = "f32, f16 or bf16 (default: ${DEFAULT-VALUE}).")
        String dtype;

        @Option(names = "--init", defaultValue = "random",
                description = "random (activations of realistic scale, for kernels and benchmarks) or pretrain "
                        + "(N(0, 0.02), scaled residual outputs, unit norms: a starting point for train --full) (default: ${DEFAULT-VALUE}).")
        String init;

        @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = {"-o", "--output"}, required = true, description = "Output directory (replaced atomically).")
        Path output;

        @Mixin
        GlobalOptions global;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            ModelPreset p = preset(preset);
            DType dt = parseDtype(dtype);
            refuseExistingFile(output);
            ModelConfig config = p.config(dt);
            long t0 = System.nanoTime();
            SyntheticModel.Init how = switch (init.toLowerCase(Locale.ROOT)) {
                case "random" -> SyntheticModel.Init.RANDOM;
                case "pretrain" -> SyntheticModel.Init.PRETRAIN;
                default -> throw new BadInputException("--init: expected random or pretrain, got \"" + init + "\"");
            };
            SyntheticModel.write(output, config, dt, seed, SyntheticModel.DEFAULT_SHARD_BYTES,
                    config.vocabSize() == dev.lorakit.io.tokenizer.ByteTokenizerBuilder.VOCAB_SIZE, how);
            report(spec.commandLine().getOut(), global, "model", output, t0);
            return 0;
        }
    }

    /** {@code lorakit synth adapter}. */
    @Command(name = "adapter", mixinStandardHelpOptions = true,
            description = "Write a random PEFT LoRA adapter for a model directory's shapes (reads only its config.json).",
            footer = {"", "Example:", "  lorakit synth adapter --model examples/tiny/model --rank 8 --targets q_proj,v_proj -o /tmp/a"})
    static final class Adapter implements Callable<Integer> {
        @Option(names = "--model", description = "Base model directory (its config.json gives the shapes).")
        Path model;

        @Option(names = "--preset", description = "Instead of --model: a preset's shapes (tiny, base6m, bench20m, tinyllama, llama2-7b).")
        String preset;

        @Option(names = "--rank", defaultValue = "8", description = "LoRA rank r (default: ${DEFAULT-VALUE}).")
        int rank;

        @Option(names = "--alpha", description = "lora_alpha (default: 2 x rank).")
        Double alpha;

        @Option(names = "--rslora", description = "Use rsLoRA scaling alpha/sqrt(r).")
        boolean rslora;

        @Option(names = "--targets", defaultValue = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", split = ",",
                description = "Projections to adapt (default: all seven).")
        List<String> targets;

        @Option(names = "--dtype", defaultValue = "f32", description = "f32, f16 or bf16 (default: ${DEFAULT-VALUE}).")
        String dtype;

        @Option(names = "--std-b", defaultValue = "0.02", description = "Standard deviation of B's entries (default: ${DEFAULT-VALUE}).")
        double stdB;

        @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = {"-o", "--output"}, required = true, description = "Output directory (replaced atomically).")
        Path output;

        @Mixin
        GlobalOptions global;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            if (rank < 1) {
                throw new BadInputException("--rank: must be at least 1, got " + rank);
            }
            if ((model == null) == (preset == null)) {
                throw new BadInputException("give exactly one of --model DIR and --preset NAME");
            }
            ModelConfig base;
            if (preset != null) {
                base = preset(preset).config(DType.F32);
            } else {
                Path configFile = model.resolve(ModelConfig.FILE_NAME);
                if (!Files.isRegularFile(configFile)) {
                    throw new BadInputException(model + ": no config.json (expected a Hugging Face model directory)");
                }
                base = ModelConfig.read(configFile);
            }
            Set<Projection> projections = EnumSet.noneOf(Projection.class);
            List<String> names = new ArrayList<>();
            for (String t : targets) {
                Projection match = null;
                for (Projection p : Projection.values()) {
                    if (p.moduleName().equals(t.trim())) {
                        match = p;
                    }
                }
                if (match == null) {
                    throw new BadInputException("--targets: unknown projection \"" + t + "\" (expected q_proj, k_proj, v_proj, "
                            + "o_proj, gate_proj, up_proj, down_proj)");
                }
                projections.add(match);
                names.add(match.moduleName());
            }
            refuseExistingFile(output);
            if (model != null) {
                LoraAdapterWriter.requireNotAnInput(output, List.of(model));
            }
            LoraConfig lora = LoraConfig.builder().r(rank).loraAlpha(alpha == null ? 2.0 * rank : alpha).useRslora(rslora)
                    .targetModules(TargetModules.names(names.toArray(String[]::new)))
                    .baseModelNameOrPath(model != null ? model.toString() : preset).build();
            long t0 = System.nanoTime();
            SyntheticAdapter.write(output, base, lora, projections, parseDtype(dtype), seed, stdB);
            report(spec.commandLine().getOut(), global, "adapter", output, t0);
            return 0;
        }
    }

    static void report(PrintWriter out, GlobalOptions global, String kind, Path output, long t0) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (global.json) {
            ObjectNode root = Json.object();
            root.put("kind", kind);
            root.put("path", output.toString());
            root.put("seconds", seconds);
            Json.print(out, root);
        } else {
            out.printf(Locale.ROOT, "wrote random %s to %s in %.1f s%n", kind, output, seconds);
        }
    }
}
