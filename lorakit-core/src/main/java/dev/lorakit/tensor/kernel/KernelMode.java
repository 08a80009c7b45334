package dev.lorakit.tensor.kernel;

/**
 * Chooses between the Vector API kernels and their scalar twins. The system property
 * {@code lorakit.kernels=scalar} selects the scalar reference everywhere (for debugging and for
 * checking a result against the oracle); the default is the vector kernels.
 */
public final class KernelMode {
    /** True when the scalar reference kernels are selected. */
    public static final boolean SCALAR = "scalar".equalsIgnoreCase(System.getProperty("lorakit.kernels", "vector"));

    private KernelMode() {
    }
}
