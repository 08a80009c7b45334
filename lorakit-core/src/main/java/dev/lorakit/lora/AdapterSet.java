package dev.lorakit.lora;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Several PEFT adapters opened for one base model, each with its user scale, validated against
 * the model's config (every module must be one of the model's projections, with its shape),
 * and grouped by module as {@link LoraBranch}es whose scale is user scale x alpha/r. Keeps the
 * adapters' files mapped until closed.
 */
public final class AdapterSet implements AutoCloseable {
    private final List<LoraAdapter> adapters;
    private final Map<String, List<LoraBranch>> byModule;

    private AdapterSet(List<LoraAdapter> adapters, Map<String, List<LoraBranch>> byModule) {
        this.adapters = adapters;
        this.byModule = byModule;
    }

    /** Opens and validates the adapters against the config; nothing stays open on failure. */
    public static AdapterSet open(List<AdapterRef> refs, ModelConfig config) {
        List<LoraAdapter> opened = new ArrayList<>();
        Map<String, List<LoraBranch>> byModule = new LinkedHashMap<>();
        try {
            for (AdapterRef ref : refs) {
                LoraAdapter adapter = LoraAdapter.open(ref.dir());
                opened.add(adapter);
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
            return new AdapterSet(opened, byModule);
        } catch (RuntimeException | Error e) {
            opened.forEach(LoraAdapter::close);
            throw e;
        }
    }

    /** The LoRA branches of a module (module path like model.layers.0.self_attn.q_proj), possibly none. */
    public List<LoraBranch> branches(String module) {
        return byModule.getOrDefault(module, List.of());
    }

    /** Every module that carries at least one branch, in first-seen order. */
    public List<String> modules() {
        return List.copyOf(byModule.keySet());
    }

    /** The opened adapters, in the order given. */
    public List<LoraAdapter> adapters() {
        return Collections.unmodifiableList(adapters);
    }

    @Override
    public void close() {
        adapters.forEach(LoraAdapter::close);
    }
}
