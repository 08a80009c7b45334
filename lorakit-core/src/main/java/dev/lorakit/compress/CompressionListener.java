package dev.lorakit.compress;

/**
 * Progress callbacks of {@link ModelCompressor#compress} (for progress bars); every method
 * defaults to doing nothing. Called on the compressing thread.
 */
public interface CompressionListener {
    /** A listener that ignores everything. */
    CompressionListener NONE = new CompressionListener() {
    };

    /** Calibration is about to run {@code sequences} sequences through the model. */
    default void calibrationStarted(int sequences) {
    }

    /** One calibration sequence has run. */
    default void sequenceDone() {
    }

    /** Writing is about to produce {@code tensors} output tensors. */
    default void writingStarted(int tensors) {
    }

    /** One output tensor has been written. */
    default void tensorDone(String name) {
    }
}
