package dev.lorakit.io.hf;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One projection module of one layer, e.g. (3, Q_PROJ) for
 * {@code model.layers.3.self_attn.q_proj}: the unit LoRA adapters attach to.
 *
 * @param layer decoder layer index, from 0
 * @param projection which of the seven projections
 */
public record ProjectionModule(int layer, Projection projection) {
    private static final Pattern MODULE = Pattern.compile(
            "(?:.*\\.)?layers\\.(0|[1-9][0-9]{0,8})\\.(self_attn|mlp)\\.([a-z_]+)");

    public ProjectionModule {
        Objects.requireNonNull(projection, "projection");
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0, got " + layer);
        }
    }

    /**
     * Parses a module path. Accepts the Hugging Face path {@code model.layers.N.<parent>.<proj>}
     * and the same path under any dotted prefix (PEFT's {@code base_model.model.model.layers...})
     * or without one ({@code layers.N...}); the parent must match the projection (self_attn for
     * q/k/v/o, mlp for gate/up/down). Names of tensors ({@code ...q_proj.weight}) are not modules.
     *
     * @return the module, or empty if the name is not a projection module path
     */
    public static Optional<ProjectionModule> parse(String moduleName) {
        Matcher m = MODULE.matcher(moduleName);
        if (!m.matches()) {
            return Optional.empty();
        }
        Optional<Projection> p = Projection.fromModuleName(m.group(3));
        if (p.isEmpty() || !p.get().parentName().equals(m.group(2))) {
            return Optional.empty();
        }
        return Optional.of(new ProjectionModule(Integer.parseInt(m.group(1)), p.get()));
    }

    /** The Hugging Face module path, e.g. "model.layers.3.self_attn.q_proj". */
    public String path() {
        return projection.modulePath(layer);
    }

    /** The weight tensor name, e.g. "model.layers.3.self_attn.q_proj.weight". */
    public String weightName() {
        return projection.weightName(layer);
    }

    @Override
    public String toString() {
        return path();
    }
}
