package dev.lorakit.train;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.peft.TargetModules;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The trainable side of a LoRA run: one {@link LoraParameters} (A and B with gradients) per
 * adapted projection, named as PEFT names the adapter's tensors
 * ({@code base_model.model.<module>.lora_A.weight}); weight decay applies to every factor. The
 * output is a PEFT adapter (adapter_config.json + adapter_model.safetensors).
 */
public final class LoraParameterSet implements TrainableParameters {
    private final List<LoraParameters> loras;
    private final List<NamedParameter> params;

    /** The given LoRAs, in order. */
    public LoraParameterSet(List<LoraParameters> loras) {
        this.loras = List.copyOf(loras);
        List<NamedParameter> named = new ArrayList<>();
        for (LoraParameters p : this.loras) {
            named.add(NamedParameter.of(PeftKeys.loraA(p.module()), p.a(), p.gradA()));
            named.add(NamedParameter.of(PeftKeys.loraB(p.module()), p.b(), p.gradB()));
        }
        this.params = List.copyOf(named);
    }

    /**
     * A run's starting point: copies of --init-adapter's modules, or fresh PEFT-initialised LoRAs
     * on the configured projections of every layer (A drawn from a generator seeded with the
     * run's seed, layer by layer, projection by projection).
     */
    public static LoraParameterSet initial(ModelConfig mc, TrainConfig cfg) {
        List<LoraParameters> params = new ArrayList<>();
        if (cfg.initAdapter() != null) {
            try (LoraAdapter init = LoraAdapter.open(Path.of(cfg.initAdapter()))) {
                for (LoraModule m : init.modules()) {
                    params.add(LoraParameters.copyOf(m));
                }
            }
            return new LoraParameterSet(params);
        }
        Random rnd = new Random(cfg.seed());
        for (int layer = 0; layer < mc.numHiddenLayers(); layer++) {
            for (Projection p : Projection.values()) {
                if (cfg.targets().contains(p.moduleName())) {
                    params.add(LoraParameters.init(mc, layer, p, cfg.rank(), (float) cfg.loraScaling(), rnd));
                }
            }
        }
        return new LoraParameterSet(params);
    }

    /** The LoRAs, in order. */
    public List<LoraParameters> loras() {
        return loras;
    }

    @Override
    public List<NamedParameter> parameters() {
        return params;
    }

    @Override
    public Map<String, Tensor> tensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (LoraParameters p : loras) {
            out.put(PeftKeys.loraA(p.module()), p.aTensor());
            out.put(PeftKeys.loraB(p.module()), p.bTensor());
        }
        return out;
    }

    /**
     * Writes the adapter files into {@code out} (each file replaced atomically; the log and
     * checkpoint beside them stay): r and alpha as trained, rsLoRA as configured; with
     * --init-adapter, that adapter's config.
     */
    @Override
    public void writeOutput(Path out, Path modelDir, TrainConfig cfg) throws IOException {
        List<String> names = loras.stream().map(LoraParameters::module).toList();
        LoraConfig lc;
        if (cfg.initAdapter() != null) {
            try (LoraAdapter init = LoraAdapter.open(Path.of(cfg.initAdapter()))) {
                lc = init.config();
            }
        } else {
            lc = LoraConfig.builder().r(cfg.rank()).loraAlpha(cfg.alpha()).useRslora(cfg.rslora())
                    .loraDropout(cfg.loraDropout()).targetModules(TargetModules.suffixesOf(names))
                    .baseModelNameOrPath(modelDir.toString()).build();
        }
        List<LoraModule> modules = new ArrayList<>();
        for (LoraParameters p : loras) {
            modules.add(LoraModule.of(p.module(), p.aTensor(), p.bTensor(), lc));
        }
        Path tmp = Files.createTempDirectory(out.toAbsolutePath().getParent(), "." + out.getFileName() + ".adapter.");
        Files.delete(tmp);
        try {
            LoraAdapterWriter.write(tmp, lc, modules);
            for (String f : List.of(PeftKeys.WEIGHTS_FILE, PeftKeys.CONFIG_FILE)) {
                Files.move(tmp.resolve(f), out.resolve(f), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            AtomicFiles.deleteRecursively(tmp);
        }
    }
}
