package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import dev.lorakit.merge.LoraMerger;
import dev.lorakit.merge.MergeInputs;
import dev.lorakit.merge.MergeMethod;
import dev.lorakit.merge.MergeMethods;
import dev.lorakit.merge.MergeOptions;
import dev.lorakit.merge.MergeResult;
import dev.lorakit.tensor.DType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * One merge as the demo runs it: the method with lorakit's defaults (seeded), float32 factors,
 * and the demo's input weights: 1/n for {@code fusion} (the paper's parameter-averaging baseline:
 * fusion sums the factors, so weights 1 would multiply the update by about n^2), 1 for every other
 * method (cat, svd and magnitude are task arithmetic with lambda = 1: cat's adapter is exactly the
 * sum of the inputs; lego, ties, dare-ties and knots average by construction).
 */
public final class DemoMerge {
    private DemoMerge() {
    }

    /** The demo's weight of each of {@code n} inputs for {@code method}. */
    public static List<Double> weights(String method, int n) {
        return Collections.nCopies(n, method.equals("fusion") ? 1.0 / n : 1.0);
    }

    /** The method as the demo configures it; {@code rank} null = the method's default rank. */
    public static MergeMethod method(String name, long seed, Integer rank) {
        return MergeMethods.create(name, MergeOptions.defaults().withSeed(seed).withRank(rank));
    }

    /**
     * Checks that {@code method} applies to {@code adapters} (with the demo's weights): null if so,
     * else the reason (the method's own one-line message, e.g. fusion's "needs equal ranks").
     */
    public static String notApplicable(MergeMethod method, List<Path> adapters) {
        try (MergeInputs inputs = MergeInputs.open(adapters, weights(method.name(), adapters.size()))) {
            try {
                method.check(inputs.plan());
                return null;
            } catch (BadInputException e) {
                return e.getMessage();
            }
        }
    }

    /** Merges {@code adapters} with {@code method} into the PEFT directory {@code output}. */
    public static MergeResult run(MergeMethod method, List<Path> adapters, Path output) {
        try (MergeInputs inputs = MergeInputs.open(adapters, weights(method.name(), adapters.size()))) {
            return LoraMerger.merge(inputs, method, DType.F32, output, null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The figures of a merge for the report. */
    static SystemResult.MergeSummary summary(MergeResult r) {
        return new SystemResult.MergeSummary(r.rank(), r.plan().weights(), r.meanRelativeError(), r.maxRelativeError(),
                r.seconds());
    }
}
