package dev.lorakit.io.recovery;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a recovery module set into a directory (normally the task's PEFT adapter directory):
 * {@value RecoveryConfig#WEIGHTS_FILE} then {@value RecoveryConfig#CONFIG_FILE}, each replaced
 * atomically (the config last, so a reader never sees a config without its tensors). Other
 * files of the directory stay.
 */
public final class RecoveryAdapterWriter {
    private RecoveryAdapterWriter() {
    }

    /**
     * Writes the files after checking that the modules are exactly the config's, with its ranks
     * and scales.
     *
     * @param dir an existing directory
     */
    public static void write(Path dir, RecoveryConfig config, List<RecoveryModule> modules) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        for (RecoveryModule m : modules) {
            RecoveryConfig.ModuleEntry e = config.modules().get(m.name());
            if (e == null || !seen.add(m.name())) {
                throw new IllegalArgumentException("module " + m.name() + " is not in the recovery config, or appears twice");
            }
            if (e.rank() != m.rank() || Double.compare(e.scaling(), m.scaling()) != 0) {
                throw new IllegalArgumentException("module " + m.name() + ": rank " + m.rank() + ", scaling " + m.scaling()
                        + " but the config says " + e.rank() + ", " + e.scaling());
            }
            tensors.put(RecoveryConfig.keyD(m.name()), m.d());
            tensors.put(RecoveryConfig.keyU(m.name()), m.u());
        }
        if (seen.size() != config.modules().size()) {
            throw new IllegalArgumentException("the recovery config lists " + config.modules().size() + " modules but "
                    + seen.size() + " were given");
        }
        SafetensorsWriter.write(dir.resolve(RecoveryConfig.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve(RecoveryConfig.CONFIG_FILE), config.toJson());
    }
}
