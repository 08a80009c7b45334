package dev.lorakit.merge;

import dev.lorakit.BadInputException;
import java.util.List;

/** The merge methods by the names the CLI spells, built from the user's options. */
public final class MergeMethods {
    /** Every method name, in the order the help text lists them. */
    public static final List<String> NAMES = List.of("lego", "cat", "svd", "fusion", "ties", "dare-linear", "dare-ties",
            "magnitude", "knots");

    private MergeMethods() {
    }

    /** The method called {@code name}, configured by {@code options}; a BadInputException for an unknown name. */
    public static MergeMethod create(String name, MergeOptions options) {
        return switch (name) {
            case "lego" -> new LegoMerge(options);
            case "cat" -> {
                if (options.rank() != null) {
                    throw new BadInputException("--rank: cat is exact, its rank is the sum of the input ranks;"
                            + " use --method svd to truncate the exact sum to rank " + options.rank());
                }
                yield new CatMerge();
            }
            case "svd" -> new SvdMerge(options.rank());
            case "fusion" -> {
                if (options.rank() != null) {
                    throw new BadInputException("--rank: fusion keeps the inputs' common rank;"
                            + " use --method svd to truncate the exact sum to rank " + options.rank());
                }
                yield new FusionMerge();
            }
            case "ties" -> new TiesMerge(options);
            case "dare-linear" -> DareMerge.linear(options);
            case "dare-ties" -> DareMerge.ties(options);
            case "magnitude" -> new MagnitudeMerge(options);
            case "knots" -> new KnotsMerge(options);
            default -> throw new BadInputException("--method: unknown method \"" + name + "\"; expected one of "
                    + String.join(", ", NAMES));
        };
    }
}
