package dev.lorakit.io.hf;

import java.util.Arrays;
import java.util.Optional;

/**
 * The seven linear projections of a Llama-family decoder layer, the modules LoRA adapts:
 * attention q/k/v/o under {@code self_attn} and the SwiGLU MLP's gate/up/down under {@code mlp}.
 * Weights are stored [out, in] (PyTorch Linear).
 */
public enum Projection {
    Q_PROJ("q_proj", true),
    K_PROJ("k_proj", true),
    V_PROJ("v_proj", true),
    O_PROJ("o_proj", true),
    GATE_PROJ("gate_proj", false),
    UP_PROJ("up_proj", false),
    DOWN_PROJ("down_proj", false);

    private final String moduleName;
    private final boolean attention;

    Projection(String moduleName, boolean attention) {
        this.moduleName = moduleName;
        this.attention = attention;
    }

    /** The module's own name: "q_proj", "gate_proj", ... */
    public String moduleName() {
        return moduleName;
    }

    /** The parent module: "self_attn" for q/k/v/o, "mlp" for gate/up/down. */
    public String parentName() {
        return attention ? "self_attn" : "mlp";
    }

    /** True for q/k/v/o. */
    public boolean isAttention() {
        return attention;
    }

    /** The full module path in layer {@code layer}, e.g. "model.layers.3.self_attn.q_proj". */
    public String modulePath(int layer) {
        return "model.layers." + layer + "." + parentName() + "." + moduleName;
    }

    /** The weight tensor name, e.g. "model.layers.3.self_attn.q_proj.weight". */
    public String weightName(int layer) {
        return modulePath(layer) + ".weight";
    }

    /** The bias tensor name, e.g. "model.layers.3.self_attn.q_proj.bias". */
    public String biasName(int layer) {
        return modulePath(layer) + ".bias";
    }

    /** Output features (rows of the weight) for a model. */
    public int outFeatures(ModelConfig c) {
        return switch (this) {
            case Q_PROJ -> c.numAttentionHeads() * c.headDim();
            case K_PROJ, V_PROJ -> c.numKeyValueHeads() * c.headDim();
            case O_PROJ, DOWN_PROJ -> c.hiddenSize();
            case GATE_PROJ, UP_PROJ -> c.intermediateSize();
        };
    }

    /** Input features (columns of the weight) for a model. */
    public int inFeatures(ModelConfig c) {
        return switch (this) {
            case Q_PROJ, K_PROJ, V_PROJ, GATE_PROJ, UP_PROJ -> c.hiddenSize();
            case O_PROJ -> c.numAttentionHeads() * c.headDim();
            case DOWN_PROJ -> c.intermediateSize();
        };
    }

    /** How {@link #outFeatures} and {@link #inFeatures} derive from config.json, for messages. */
    String shapeMeaning() {
        return switch (this) {
            case Q_PROJ -> "[num_attention_heads*head_dim, hidden_size]";
            case K_PROJ, V_PROJ -> "[num_key_value_heads*head_dim, hidden_size]";
            case O_PROJ -> "[hidden_size, num_attention_heads*head_dim]";
            case GATE_PROJ, UP_PROJ -> "[intermediate_size, hidden_size]";
            case DOWN_PROJ -> "[hidden_size, intermediate_size]";
        };
    }

    /** The projection with this module name ("q_proj", ...), if any. */
    public static Optional<Projection> fromModuleName(String name) {
        return Arrays.stream(values()).filter(p -> p.moduleName.equals(name)).findFirst();
    }
}
