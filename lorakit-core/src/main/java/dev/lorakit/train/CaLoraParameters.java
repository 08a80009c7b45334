package dev.lorakit.train;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.recovery.RecoveryAdapterWriter;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.io.recovery.RecoveryModule;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The trainable side of a CA-LoRA run (knowledge inheritance + recovery): the task's
 * {@link LoraParameters} (inherited from an existing adapter or freshly initialised) and the
 * {@link RecoveryParameters} beside a compressed model's projections, trained jointly. Names:
 * PEFT's for the LoRA factors, {@code base_model.model.<module>.recovery_D.weight} /
 * {@code .recovery_U.weight} for the recovery factors; LoRAs first, then recovery modules, in
 * the order given. Weight decay applies to every factor. The output is a PEFT adapter
 * (adapter_config.json + adapter_model.safetensors, with {@link #loraConfig()}) plus, when there
 * are recovery modules, {@value RecoveryConfig#WEIGHTS_FILE} + {@value RecoveryConfig#CONFIG_FILE}.
 */
public final class CaLoraParameters implements TrainableParameters {
    private final List<LoraParameters> loras;
    private final List<RecoveryParameters> recoveries;
    private final LoraConfig loraConfig;
    private final RecoveryConfig recoveryConfig;
    private final List<NamedParameter> params;

    /**
     * @param loras          the task LoRAs (at least one)
     * @param recoveries     the recovery modules (may be empty)
     * @param loraConfig     the adapter config the LoRAs are written with (their ranks and scalings must be its)
     * @param recoveryConfig the recovery config (its modules exactly {@code recoveries}), or null when there are none
     */
    public CaLoraParameters(List<LoraParameters> loras, List<RecoveryParameters> recoveries, LoraConfig loraConfig,
                            RecoveryConfig recoveryConfig) {
        this.loras = List.copyOf(loras);
        this.recoveries = List.copyOf(recoveries);
        this.loraConfig = Objects.requireNonNull(loraConfig, "loraConfig");
        if (this.loras.isEmpty()) {
            throw new IllegalArgumentException("CA-LoRA needs at least one LoRA module");
        }
        if ((recoveryConfig == null) != this.recoveries.isEmpty()) {
            throw new IllegalArgumentException("a recovery config is needed exactly when there are recovery modules");
        }
        if (recoveryConfig != null) {
            for (RecoveryParameters r : this.recoveries) {
                RecoveryConfig.ModuleEntry e = recoveryConfig.modules().get(r.module());
                if (e == null || e.rank() != r.rank() || (float) e.scaling() != r.scale()) {
                    throw new IllegalArgumentException(r.module() + ": recovery rank " + r.rank() + ", scale " + r.scale()
                            + " not as in the recovery config " + e);
                }
            }
            if (recoveryConfig.modules().size() != this.recoveries.size()) {
                throw new IllegalArgumentException("the recovery config lists other modules than the recovery parameters");
            }
        }
        this.recoveryConfig = recoveryConfig;
        List<NamedParameter> named = new ArrayList<>();
        for (LoraParameters p : this.loras) {
            named.add(NamedParameter.of(PeftKeys.loraA(p.module()), p.a(), p.gradA()));
            named.add(NamedParameter.of(PeftKeys.loraB(p.module()), p.b(), p.gradB()));
        }
        for (RecoveryParameters p : this.recoveries) {
            named.add(NamedParameter.of(RecoveryConfig.keyD(p.module()), p.d(), p.gradD()));
            named.add(NamedParameter.of(RecoveryConfig.keyU(p.module()), p.u(), p.gradU()));
        }
        this.params = List.copyOf(named);
    }

    /** The LoRAs, in order. */
    public List<LoraParameters> loras() {
        return loras;
    }

    /** The recovery modules, in order (empty without recovery). */
    public List<RecoveryParameters> recoveries() {
        return recoveries;
    }

    /** The config the adapter is written with. */
    public LoraConfig loraConfig() {
        return loraConfig;
    }

    /** The recovery config, or null without recovery modules. */
    public RecoveryConfig recoveryConfig() {
        return recoveryConfig;
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
        for (RecoveryParameters p : recoveries) {
            out.put(RecoveryConfig.keyD(p.module()), p.dTensor());
            out.put(RecoveryConfig.keyU(p.module()), p.uTensor());
        }
        return out;
    }

    /**
     * Writes the PEFT adapter files and the recovery files into {@code out}, each replaced
     * atomically (the log and checkpoint beside them stay). Without recovery modules, recovery
     * files left in {@code out} by an earlier run are deleted, so the directory never pairs this
     * LoRA with a stale recovery set.
     */
    @Override
    public void writeOutput(Path out, Path modelDir, TrainConfig cfg) throws IOException {
        List<LoraModule> modules = new ArrayList<>();
        for (LoraParameters p : loras) {
            modules.add(LoraModule.of(p.module(), p.aTensor(), p.bTensor(), loraConfig));
        }
        Path tmp = Files.createTempDirectory(out.toAbsolutePath().getParent(), "." + out.getFileName() + ".adapter.");
        Files.delete(tmp);
        try {
            LoraAdapterWriter.write(tmp, loraConfig, modules);
            if (recoveryConfig == null) {
                Files.deleteIfExists(out.resolve(RecoveryConfig.CONFIG_FILE));
                Files.deleteIfExists(out.resolve(RecoveryConfig.WEIGHTS_FILE));
            }
            for (String f : List.of(PeftKeys.WEIGHTS_FILE, PeftKeys.CONFIG_FILE)) {
                Files.move(tmp.resolve(f), out.resolve(f), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            AtomicFiles.deleteRecursively(tmp);
        }
        if (recoveryConfig != null) {
            List<RecoveryModule> rec = new ArrayList<>();
            for (RecoveryParameters p : recoveries) {
                rec.add(new RecoveryModule(p.module(), p.dTensor(), p.uTensor(),
                        recoveryConfig.modules().get(p.module()).scaling()));
            }
            RecoveryAdapterWriter.write(out, recoveryConfig, rec);
        }
    }
}
