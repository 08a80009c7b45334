package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import dev.lorakit.compress.CompressOptions;
import dev.lorakit.compress.NmSparsity;
import dev.lorakit.compress.PruneMethod;
import dev.lorakit.tensor.DType;

/**
 * One compression of the ca-lora scenario, named as on the command line: {@code q8_0} or
 * {@code q4_0} (block quantization of the seven projections), an N:M pattern such as {@code 2:4}
 * (magnitude semi-structured pruning), or both joined by {@code +} ({@code q4_0+2:4}: pruned,
 * then quantized, the order {@link dev.lorakit.compress.ModelCompressor} always uses).
 *
 * @param name the setting's name, as given
 * @param options what {@code lorakit compress} does for it
 */
public record CompressionSetting(String name, CompressOptions options) {
    /** The setting called {@code name}; a BadInputException naming the accepted forms otherwise. */
    public static CompressionSetting parse(String name) {
        DType quantize = null;
        NmSparsity pattern = null;
        for (String part : name.split("\\+", -1)) {
            if (part.equals("q8_0") || part.equals("q4_0")) {
                if (quantize != null) {
                    throw bad(name, "two quantization formats");
                }
                quantize = CompressOptions.quantFormat(part);
            } else if (part.matches("\\d+:\\d+")) {
                if (pattern != null) {
                    throw bad(name, "two N:M patterns");
                }
                try {
                    pattern = NmSparsity.parse(part);
                } catch (BadInputException e) {
                    throw bad(name, e.getMessage());
                }
            } else {
                throw bad(name, "unknown part \"" + part + "\"");
            }
        }
        CompressOptions.Builder b = CompressOptions.builder().quantize(quantize);
        if (pattern != null) {
            b.prune(PruneMethod.MAGNITUDE).pattern(pattern);
        }
        return new CompressionSetting(name, b.build());
    }

    private static BadInputException bad(String name, String why) {
        return new BadInputException("--compressions: \"" + name + "\": " + why + "; expected q8_0, q4_0, an N:M pattern "
                + "such as 2:4 (magnitude pruning), or a quantization and a pattern joined by + (e.g. q4_0+2:4)");
    }
}
