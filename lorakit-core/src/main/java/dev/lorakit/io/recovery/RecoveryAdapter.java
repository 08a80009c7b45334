package dev.lorakit.io.recovery;

import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A CA-LoRA recovery module set opened for reading from a task directory (beside its PEFT
 * LoRA): {@value RecoveryConfig#CONFIG_FILE} as a {@link RecoveryConfig} and
 * {@value RecoveryConfig#WEIGHTS_FILE} memory-mapped, its modules exposed as
 * {@link RecoveryModule}s in config order, valid until {@link #close}. Opening checks that every
 * listed module has both factors with the listed rank, that the factors chain, and that the file
 * holds nothing else.
 */
public final class RecoveryAdapter implements AutoCloseable {
    private final Path directory;
    private final RecoveryConfig config;
    private final SafetensorsFile weights;
    private final List<RecoveryModule> modules;

    private RecoveryAdapter(Path directory, RecoveryConfig config, SafetensorsFile weights, List<RecoveryModule> modules) {
        this.directory = directory;
        this.config = config;
        this.weights = weights;
        this.modules = List.copyOf(modules);
    }

    /**
     * Opens and validates the recovery files of {@code dir}.
     *
     * @throws BadInputException naming the file and tensor or field that is wrong
     */
    public static RecoveryAdapter open(Path dir) {
        Path configFile = dir.resolve(RecoveryConfig.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new BadInputException(configFile + ": missing; a recovery module set holds " + RecoveryConfig.CONFIG_FILE
                    + " next to " + RecoveryConfig.WEIGHTS_FILE);
        }
        RecoveryConfig config = RecoveryConfig.read(configFile);
        Path weightsFile = dir.resolve(RecoveryConfig.WEIGHTS_FILE);
        if (!Files.isRegularFile(weightsFile)) {
            throw new BadInputException(weightsFile + ": missing; " + configFile + " describes recovery modules stored there");
        }
        SafetensorsFile weights = SafetensorsFile.open(weightsFile);
        try {
            return new RecoveryAdapter(dir, config, weights, readModules(weightsFile.toString(), config, weights));
        } catch (RuntimeException | Error e) {
            weights.close();
            throw e;
        }
    }

    private static List<RecoveryModule> readModules(String where, RecoveryConfig config, SafetensorsFile weights) {
        List<RecoveryModule> out = new ArrayList<>();
        Set<String> used = new HashSet<>();
        for (Map.Entry<String, RecoveryConfig.ModuleEntry> e : config.modules().entrySet()) {
            String module = e.getKey();
            String kd = RecoveryConfig.keyD(module);
            String ku = RecoveryConfig.keyU(module);
            for (String k : List.of(kd, ku)) {
                if (!weights.contains(k)) {
                    throw new BadInputException(where + ": no tensor \"" + k + "\" (module " + module + " is listed in "
                            + RecoveryConfig.CONFIG_FILE + ")");
                }
            }
            Tensor d = weights.get(kd);
            Tensor u = weights.get(ku);
            int r = e.getValue().rank();
            if (d.shape().rank() != 2 || d.dim(0) != r) {
                throw new BadInputException(where + ": tensor \"" + kd + "\" has shape " + d.shape() + ", expected [" + r
                        + ", in] (rank " + r + " in " + RecoveryConfig.CONFIG_FILE + ")");
            }
            if (u.shape().rank() != 2 || u.dim(1) != r) {
                throw new BadInputException(where + ": tensor \"" + ku + "\" has shape " + u.shape() + ", expected [out, " + r
                        + "] (rank " + r + " in " + RecoveryConfig.CONFIG_FILE + ")");
            }
            if (!d.dtype().isCompute() || !u.dtype().isCompute()) {
                throw new BadInputException(where + ": tensors of module " + module + " are " + d.dtype() + "/" + u.dtype()
                        + "; expected F32, F16 or BF16");
            }
            out.add(new RecoveryModule(module, d, u, e.getValue().scaling()));
            used.add(kd);
            used.add(ku);
        }
        for (String name : weights.names()) {
            if (!used.contains(name)) {
                throw new BadInputException(where + ": tensor \"" + name + "\" belongs to no module of "
                        + RecoveryConfig.CONFIG_FILE);
            }
        }
        return out;
    }

    /** The directory this was opened from. */
    public Path directory() {
        return directory;
    }

    public RecoveryConfig config() {
        return config;
    }

    /** The modules, in config order. */
    public List<RecoveryModule> modules() {
        return modules;
    }

    @Override
    public void close() {
        weights.close();
    }
}
