package dev.lorakit.io.hf;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The Hugging Face model classes lorakit can load, with the names config.json uses for them
 * ({@code architectures} entry and {@code model_type}). All three are the same decoder: RMSNorm,
 * rotary attention with grouped KV heads, SwiGLU MLP; they differ in attention biases and
 * sliding-window settings (see {@link ModelConfig#hasBias}).
 */
public enum ModelArchitecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2");

    private final String className;
    private final String modelType;

    ModelArchitecture(String className, String modelType) {
        this.className = className;
        this.modelType = modelType;
    }

    /** The {@code architectures} entry, e.g. "LlamaForCausalLM". */
    public String className() {
        return className;
    }

    /** The {@code model_type} value, e.g. "llama". */
    public String modelType() {
        return modelType;
    }

    /** The architecture with this class name, if supported. */
    public static Optional<ModelArchitecture> fromClassName(String name) {
        return Arrays.stream(values()).filter(a -> a.className.equals(name)).findFirst();
    }

    /** The architecture with this model_type, if supported. */
    public static Optional<ModelArchitecture> fromModelType(String type) {
        return Arrays.stream(values()).filter(a -> a.modelType.equals(type)).findFirst();
    }

    /** "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM", for messages. */
    public static String supportedNames() {
        return Arrays.stream(values()).map(ModelArchitecture::className).collect(Collectors.joining(", "));
    }
}
