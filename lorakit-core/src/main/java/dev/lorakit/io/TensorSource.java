package dev.lorakit.io;

import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.util.Map;
import java.util.SequencedSet;

/**
 * A read-only collection of named tensors (a safetensors file, a sharded checkpoint, ...).
 * Tensors returned by {@link #get} are views of memory-mapped files and stay valid until the
 * source is closed.
 */
public interface TensorSource extends AutoCloseable {
    /** Tensor names, in file order. */
    SequencedSet<String> names();

    /** True if a tensor of that name exists. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    /** Dtype, shape and location of a tensor, without touching its data. */
    TensorInfo info(String name);

    /** The named tensor (a mapped view); a clear {@link dev.lorakit.BadInputException} if absent. */
    Tensor get(String name);

    /** The string metadata ({@code __metadata__} of safetensors), possibly empty. */
    Map<String, String> metadata();

    /** Where the tensors come from, for messages (a file or directory path). */
    String description();

    @Override
    void close();
}
