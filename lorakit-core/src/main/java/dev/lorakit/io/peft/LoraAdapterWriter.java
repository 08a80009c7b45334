package dev.lorakit.io.peft;

import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a PEFT LoRA adapter directory that PEFT loads as is: adapter_config.json with every
 * key PEFT 0.19 writes ({@link LoraConfig#toJson}) and adapter_model.safetensors with keys
 * {@code base_model.model.<module>.lora_A.weight} / {@code .lora_B.weight} in the modules'
 * order and dtypes, metadata {"format": "pt"}.
 *
 * <p>The directory is built in a temporary sibling and renamed into place
 * ({@link AtomicFiles#writeDirectory}), replacing an existing directory of that name whole.
 * Because of that, writing over an input would destroy it: pass the inputs to
 * {@link #write(Path, LoraConfig, List, Collection)} (or call {@link #requireNotAnInput}) and the
 * writer refuses an output that is, or contains, one of them.
 */
public final class LoraAdapterWriter {
    private static final double SCALING_TOLERANCE = 1e-12;

    private LoraAdapterWriter() {
    }

    /**
     * Writes the adapter after checking that the modules agree with the config: each module is
     * targeted by it and has the rank and scaling it gives (so reading the directory back, in
     * lorakit or PEFT, computes exactly these modules' updates).
     */
    public static void write(Path dir, LoraConfig config, List<LoraModule> modules) throws IOException {
        Map<String, Tensor> tensors = tensors(config, modules);
        String json = config.toJson();
        AtomicFiles.writeDirectory(dir, tmp -> {
            AtomicFiles.writeString(tmp.resolve(PeftKeys.CONFIG_FILE), json);
            SafetensorsWriter.write(tmp.resolve(PeftKeys.WEIGHTS_FILE), tensors,
                    Map.of(PeftKeys.FORMAT_KEY, PeftKeys.FORMAT_PT));
        });
    }

    /** As {@link #write(Path, LoraConfig, List)}, first refusing an output that is or contains an input. */
    public static void write(Path dir, LoraConfig config, List<LoraModule> modules, Collection<Path> inputs)
            throws IOException {
        requireNotAnInput(dir, inputs);
        write(dir, config, modules);
    }

    /**
     * Throws a BadInputException if writing the directory {@code output} would replace or delete
     * any of {@code inputs} (files or directories): the output is an input, or an ancestor of
     * one. Paths are compared after resolving symbolic links.
     */
    public static void requireNotAnInput(Path output, Collection<Path> inputs) {
        AtomicFiles.requireNotAnInput(output, inputs, "the adapter");
    }

    /** The tensors to write, in module order, after checking the modules against the config. */
    static Map<String, Tensor> tensors(LoraConfig config, List<LoraModule> modules) {
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("an adapter needs at least one module");
        }
        Set<String> seen = new HashSet<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (LoraModule m : modules) {
            String name = m.name();
            if (!seen.add(name)) {
                throw new IllegalArgumentException("module \"" + name + "\" appears twice");
            }
            if (name.startsWith(PeftKeys.PREFIX) || name.endsWith(".weight")) {
                throw new IllegalArgumentException("module name \"" + name + "\" must be relative to the base model"
                        + " (e.g. model.layers.0.self_attn.q_proj), not a tensor key");
            }
            if (!config.targets(name)) {
                throw new IllegalArgumentException("module \"" + name + "\" is not selected by target_modules "
                        + config.targetModules() + "; PEFT would not load it");
            }
            if (m.rank() != config.rank(name)) {
                throw new IllegalArgumentException("module \"" + name + "\" has rank " + m.rank()
                        + " but the config gives it rank " + config.rank(name));
            }
            double expected = config.scaling(name);
            if (Math.abs(m.scaling() - expected) > SCALING_TOLERANCE * Math.abs(expected)) {
                throw new IllegalArgumentException("module \"" + name + "\" has scaling " + m.scaling()
                        + " but the config gives it " + expected + " (alpha " + config.alpha(name) + ", rank "
                        + config.rank(name) + (config.useRslora() ? ", rsLoRA" : "") + ")");
            }
            tensors.put(PeftKeys.loraA(name), m.a());
            tensors.put(PeftKeys.loraB(name), m.b());
        }
        return tensors;
    }
}
