package dev.lorakit.compress;

import java.nio.file.Path;

/**
 * What one {@link ModelCompressor#compress} run produced, with the figures a report needs.
 *
 * @param output the written model directory
 * @param record what config.json records
 * @param parameters weights in the output (logical elements of every tensor)
 * @param weightBytes bytes of every output tensor's data
 * @param inputWeightBytes bytes of every input tensor's data
 * @param projectionParameters weights of the q/k/v/o/gate/up/down projections in the output
 * @param projectionBytes bytes of those projections' data
 * @param diskBytes size of all files of the output directory
 * @param calibrationSeconds wall time of the calibration forward passes (0 without)
 * @param seconds wall time of the whole run
 */
public record CompressionResult(Path output, CompressionRecord record, long parameters, long weightBytes,
                                long inputWeightBytes, long projectionParameters, long projectionBytes, long diskBytes,
                                double calibrationSeconds, double seconds) {
    /** Stored bits per weight over all tensors. */
    public double bitsPerWeight() {
        return parameters == 0 ? 0 : 8.0 * weightBytes / parameters;
    }

    /** Stored bits per weight over the seven projections. */
    public double projectionBitsPerWeight() {
        return projectionParameters == 0 ? 0 : 8.0 * projectionBytes / projectionParameters;
    }
}
