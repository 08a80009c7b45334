package dev.lorakit.demo;

import dev.lorakit.adapt.AdaptConfig;
import dev.lorakit.train.LlamaTrainingModel;

/**
 * The seven rows of the CA-LoRA ablation grid (specs/ca-lora.md, "What the evaluation must
 * show"). The first two are evaluated as they are; the other five are {@code lorakit adapt} runs
 * on the compressed model with the same training budget, differing only in the ingredients.
 */
public enum CaLoraRow {
    /** The uncompressed model with the existing LoRA: the upper reference. */
    UNCOMPRESSED("uncompressed+lora", "uncompressed model + LoRA", false, false, false, false),
    /** The compressed model with the existing LoRA plugged in unchanged. */
    PLUGGED("plugged", "compressed + LoRA plugged in", false, false, false, false),
    /** The compressed model with a LoRA of the same shape trained from a fresh PEFT initialisation. */
    FRESH("fresh", "compressed + fresh LoRA", true, false, false, false),
    /** The inherited LoRA trained further (inheritance only). */
    INHERIT("inherit", "inherited LoRA, trained", true, true, false, false),
    /** Inheritance plus recovery modules. */
    RECOVERY("inherit+recovery", "+ recovery modules", true, true, true, false),
    /** Inheritance plus distillation from the uncompressed model. */
    DISTILL("inherit+distill", "+ distillation", true, true, false, true),
    /** Full CA-LoRA: inheritance, recovery modules and distillation. */
    CA_LORA("ca-lora", "full CA-LoRA", true, true, true, true);

    private final String key;
    private final String description;
    private final boolean trained;
    private final boolean inherit;
    private final boolean recovery;
    private final boolean distill;

    CaLoraRow(String key, String description, boolean trained, boolean inherit, boolean recovery, boolean distill) {
        this.key = key;
        this.description = description;
        this.trained = trained;
        this.inherit = inherit;
        this.recovery = recovery;
        this.distill = distill;
    }

    /** The row's name in the report and the table. */
    public String key() {
        return key;
    }

    /** What the row is, in words. */
    public String description() {
        return description;
    }

    /** Whether the row is a training run (rows 3-7). */
    public boolean trained() {
        return trained;
    }

    /**
     * The adapt options of a trained row: its ingredients; recovery modules on all seven projections
     * with the LoRA's rank, distillation with lambda 1 on the final normed hidden state (the spec's defaults).
     */
    public AdaptConfig adaptConfig(String teacher, String adapter) {
        if (!trained) {
            throw new IllegalStateException(key + " is not trained");
        }
        return new AdaptConfig(teacher, adapter, inherit, false, recovery, null, AdaptConfig.ALL_PROJECTIONS, distill, 1.0,
                LlamaTrainingModel.FINAL_HIDDEN);
    }
}
