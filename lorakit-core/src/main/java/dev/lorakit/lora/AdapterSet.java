package dev.lorakit.lora;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.recovery.RecoveryAdapter;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.io.recovery.RecoveryModule;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Several PEFT adapters opened for one base model, each with its user scale, validated against
 * the model's config (every module must be one of the model's projections, with its shape),
 * and grouped by module as {@link LoraBranch}es whose scale is user scale x alpha/r. An adapter
 * directory that also holds CA-LoRA recovery files ({@value RecoveryConfig#CONFIG_FILE} +
 * {@value RecoveryConfig#WEIGHTS_FILE}, written by {@code lorakit adapt}) contributes
 * {@link RecoveryBranch}es too, scale = user scale x the module's recovery scaling. Keeps the
 * adapters' files mapped until closed.
 */
public final class AdapterSet implements AutoCloseable {
    private final List<LoraAdapter> adapters;
    private final List<RecoveryAdapter> recoveryAdapters;
    private final Map<String, List<LoraBranch>> byModule;
    private final Map<String, List<RecoveryBranch>> recoveryByModule;

    private AdapterSet(List<LoraAdapter> adapters, List<RecoveryAdapter> recoveryAdapters,
                       Map<String, List<LoraBranch>> byModule, Map<String, List<RecoveryBranch>> recoveryByModule) {
        this.adapters = adapters;
        this.recoveryAdapters = recoveryAdapters;
        this.byModule = byModule;
        this.recoveryByModule = recoveryByModule;
    }

    /** Opens and validates the adapters (and their recovery files) against the config; nothing stays open on failure. */
    public static AdapterSet open(List<AdapterRef> refs, ModelConfig config) {
        List<LoraAdapter> opened = new ArrayList<>();
        List<RecoveryAdapter> openedRecovery = new ArrayList<>();
        Map<String, List<LoraBranch>> byModule = new LinkedHashMap<>();
        Map<String, List<RecoveryBranch>> recoveryByModule = new LinkedHashMap<>();
        try {
            for (AdapterRef ref : refs) {
                LoraAdapter adapter = LoraAdapter.open(ref.dir());
                opened.add(adapter);
                if (RecoveryConfig.isPresent(ref.dir())) {
                    RecoveryAdapter rec = RecoveryAdapter.open(ref.dir());
                    openedRecovery.add(rec);
                    for (RecoveryModule m : rec.modules()) {
                        checkModule(ref, config, m.name(), m.inFeatures(), m.outFeatures());
                        recoveryByModule.computeIfAbsent(m.name(), k -> new ArrayList<>())
                                .add(new RecoveryBranch(m.name(), m.d(), m.u(), (float) (ref.scale() * m.scaling())));
                    }
                }
                for (LoraModule m : adapter.modules()) {
                    Optional<ProjectionModule> pm = ProjectionModule.parse(m.name());
                    if (pm.isEmpty() || pm.get().layer() >= config.numHiddenLayers()) {
                        throw new BadInputException(ref.dir() + ": module " + m.name() + " is not a projection of this model "
                                + "(expected model.layers.N.{self_attn.q,k,v,o,mlp.gate,up,down}_proj with N < "
                                + config.numHiddenLayers() + ")");
                    }
                    Projection p = pm.get().projection();
                    if (m.inFeatures() != p.inFeatures(config) || m.outFeatures() != p.outFeatures(config)) {
                        throw new BadInputException(ref.dir() + ": module " + m.name() + " has LoRA shape " + m.inFeatures()
                                + " -> " + m.outFeatures() + " but the model's layer is " + p.inFeatures(config) + " -> "
                                + p.outFeatures(config) + " (adapter trained for another base model?)");
                    }
                    // PEFT forces fan_in_fan_out off for torch.nn.Linear layers, which every Llama projection is.
                    byModule.computeIfAbsent(m.name(), k -> new ArrayList<>())
                            .add(new LoraBranch(m.name(), m.a(), m.b(), (float) (ref.scale() * m.scaling())));
                }
            }
            return new AdapterSet(opened, openedRecovery, byModule, recoveryByModule);
        } catch (RuntimeException | Error e) {
            opened.forEach(LoraAdapter::close);
            openedRecovery.forEach(RecoveryAdapter::close);
            throw e;
        }
    }

    /**
     * Checks a recovery module against the model: one of the seven projections of a layer it
     * has, with the layer's shape.
     */
    private static void checkModule(AdapterRef ref, ModelConfig config, String module, int in, int out) {
        String what = RecoveryConfig.WEIGHTS_FILE + ": recovery module";
        Optional<ProjectionModule> pm = ProjectionModule.parse(module);
        if (pm.isEmpty() || pm.get().layer() >= config.numHiddenLayers()) {
            throw new BadInputException(ref.dir() + ": " + what + " " + module + " is not a projection of this model "
                    + "(expected model.layers.N.{self_attn.q,k,v,o,mlp.gate,up,down}_proj with N < "
                    + config.numHiddenLayers() + ")");
        }
        Projection p = pm.get().projection();
        if (in != p.inFeatures(config) || out != p.outFeatures(config)) {
            throw new BadInputException(ref.dir() + ": " + what + " " + module + " has shape " + in + " -> " + out
                    + " but the model's layer is " + p.inFeatures(config) + " -> " + p.outFeatures(config)
                    + " (trained for another base model?)");
        }
    }

    /** The LoRA branches of a module (module path like model.layers.0.self_attn.q_proj), possibly none. */
    public List<LoraBranch> branches(String module) {
        return byModule.getOrDefault(module, List.of());
    }

    /** The recovery branches of a module, possibly none. */
    public List<RecoveryBranch> recoveryBranches(String module) {
        return recoveryByModule.getOrDefault(module, List.of());
    }

    /** Every branch of a module: its LoRA branches, then its recovery branches. */
    public List<AdapterBranch> allBranches(String module) {
        List<AdapterBranch> out = new ArrayList<>(branches(module));
        out.addAll(recoveryBranches(module));
        return out;
    }

    /** Every module that carries at least one LoRA branch, in first-seen order. */
    public List<String> modules() {
        return List.copyOf(byModule.keySet());
    }

    /** Every module that carries at least one recovery branch, in first-seen order. */
    public List<String> recoveryModules() {
        return List.copyOf(recoveryByModule.keySet());
    }

    /** The opened adapters, in the order given. */
    public List<LoraAdapter> adapters() {
        return Collections.unmodifiableList(adapters);
    }

    @Override
    public void close() {
        adapters.forEach(LoraAdapter::close);
        recoveryAdapters.forEach(RecoveryAdapter::close);
    }
}
