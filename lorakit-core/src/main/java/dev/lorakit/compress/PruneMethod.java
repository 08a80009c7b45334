package dev.lorakit.compress;

import dev.lorakit.BadInputException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How unstructured and N:M pruning score a weight W[i][j] (row i = output, column j = input):
 * {@link #MAGNITUDE} by |W_ij|; {@link #WANDA} (Sun et al. 2023, "A Simple and Effective Pruning
 * Approach for Large Language Models") by |W_ij| * ||X_j||_2, the weight times the L2 norm of its
 * input feature over the calibration tokens ({@link ActivationNorms}).
 */
public enum PruneMethod {
    /** Score |W_ij|. */
    MAGNITUDE("magnitude"),
    /** Score |W_ij| * ||X_j||_2 (needs calibration data). */
    WANDA("wanda");

    private final String optionName;

    PruneMethod(String optionName) {
        this.optionName = optionName;
    }

    /** The name on the command line and in config.json: "magnitude", "wanda". */
    public String optionName() {
        return optionName;
    }

    /** True if the scores need input-feature norms from calibration data. */
    public boolean needsCalibration() {
        return this == WANDA;
    }

    /** The method named {@code value} (case-insensitive), or a BadInputException naming {@code option}. */
    public static PruneMethod parse(String option, String value) {
        for (PruneMethod m : values()) {
            if (m.optionName.equals(value == null ? null : value.toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new BadInputException(option + ": expected " + Arrays.stream(values()).map(PruneMethod::optionName)
                .collect(Collectors.joining(" or ")) + ", got \"" + value + "\"");
    }
}
