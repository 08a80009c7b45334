package dev.lorakit.lora;

import dev.lorakit.BadInputException;
import java.nio.file.Path;

/**
 * An adapter to apply and its user scale (multiplies the adapter's own alpha/r scaling), as the
 * CLI spells it: {@code DIR} or {@code DIR:SCALE}.
 *
 * @param dir the PEFT adapter directory
 * @param scale user scale, 1 by default
 */
public record AdapterRef(Path dir, double scale) {
    public AdapterRef {
        if (!Double.isFinite(scale)) {
            throw new BadInputException("adapter " + dir + ": scale must be a finite number, got " + scale);
        }
    }

    /** Parses {@code DIR[:SCALE]}; a trailing {@code :number} is the scale. */
    public static AdapterRef parse(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon > 0 && colon < spec.length() - 1) {
            String tail = spec.substring(colon + 1);
            try {
                return new AdapterRef(Path.of(spec.substring(0, colon)), Double.parseDouble(tail));
            } catch (NumberFormatException e) {
                // not a scale: the colon belongs to the path
            }
        }
        return new AdapterRef(Path.of(spec), 1.0);
    }
}
