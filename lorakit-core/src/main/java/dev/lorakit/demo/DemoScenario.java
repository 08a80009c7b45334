package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.List;

/**
 * The scenarios of the LoRA-LEGO paper that {@code lorakit demo} reproduces on the bundled world
 * (specs/lora-lego.md, "Scenarios").
 */
public enum DemoScenario {
    /** One rank-8 LoRA per task, merged once; the merged adapter evaluated on every task. */
    MULTI_TASK("multi-task"),
    /** The same with adapters of different ranks (4, 8, 16) on three tasks. */
    MIXED_RANK("mixed-rank"),
    /** One adapter compressed to every rank 1..r by merging it alone; accuracy on its task vs rank. */
    PRUNE("prune");

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
