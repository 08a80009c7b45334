package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * The scenarios {@code lorakit demo} runs on the bundled world: those of the LoRA-LEGO paper
 * (specs/lora-lego.md, "Scenarios") and the CA-LoRA ablation (specs/ca-lora.md).
 */
public enum DemoScenario {
    /** One rank-8 LoRA per task, merged once; the merged adapter evaluated on every task. */
    MULTI_TASK("multi-task"),
    /** The same with adapters of different ranks (4, 8, 16) on three tasks. */
    MIXED_RANK("mixed-rank"),
    /** One adapter compressed to every rank 1..r by merging it alone; accuracy on its task vs rank. */
    PRUNE("prune"),
    /**
     * Not LoRA-LEGO's: the CA-LoRA ablation grid (specs/ca-lora.md). The base model compressed, each
     * task's adapter plugged in, retrained fresh, inherited, with recovery modules, with distillation.
     */
    CA_LORA("ca-lora");

    private final String cliName;

    DemoScenario(String cliName) {
        this.cliName = cliName;
    }

    /** The name the CLI and the report use. */
    public String cliName() {
        return cliName;
    }

    /** The scenario called {@code name}; a BadInputException naming the choices otherwise. */
    public static DemoScenario parse(String name) {
        List<String> names = new ArrayList<>();
        for (DemoScenario s : values()) {
            if (s.cliName.equals(name)) {
                return s;
            }
            names.add(s.cliName);
        }
        throw new BadInputException("--scenario: unknown scenario \"" + name + "\"; expected one of " + String.join(", ", names));
    }
}
