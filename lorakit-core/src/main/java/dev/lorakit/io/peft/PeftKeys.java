package dev.lorakit.io.peft;

/**
 * Names of the files and tensors in a PEFT LoRA adapter directory. PEFT's
 * {@code save_pretrained} strips the adapter name ("default") from every key, so a LoRA factor
 * of module {@code model.layers.0.self_attn.q_proj} is stored as
 * {@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight} ([r, in]) and
 * {@code ....lora_B.weight} ([out, r]).
 */
public final class PeftKeys {
    /** The config file of an adapter directory. */
    public static final String CONFIG_FILE = "adapter_config.json";
    /** The safetensors weights file of an adapter directory. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** The pickle weights file older PEFT versions wrote (never read: pickle can run code). */
    public static final String PICKLE_WEIGHTS_FILE = "adapter_model.bin";
    /** Prefix of every key: PeftModel.base_model (the LoRA wrapper) .model (the base model). */
    public static final String PREFIX = "base_model.model.";
    /** Suffix of the down-projection factor A [r, in]. */
    public static final String LORA_A_SUFFIX = ".lora_A.weight";
    /** Suffix of the up-projection factor B [out, r]. */
    public static final String LORA_B_SUFFIX = ".lora_B.weight";
    /** The safetensors metadata PEFT writes. */
    public static final String FORMAT_KEY = "format";
    /** The value of {@link #FORMAT_KEY} PEFT writes. */
    public static final String FORMAT_PT = "pt";

    private PeftKeys() {
    }

    /** The key of factor A of a module (name relative to the base model). */
    public static String loraA(String moduleName) {
        return PREFIX + moduleName + LORA_A_SUFFIX;
    }

    /** The key of factor B of a module (name relative to the base model). */
    public static String loraB(String moduleName) {
        return PREFIX + moduleName + LORA_B_SUFFIX;
    }
}
