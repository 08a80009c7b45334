package dev.lorakit.merge;

import java.nio.file.Path;
import java.util.List;

/**
 * The shape of a merge before any factor is read: the inputs and, per module, its size and the
 * rank of every input that has it. Methods check it up front ({@link MergeMethod#check}), so a
 * bad combination fails before work starts.
 *
 * @param inputs adapter directories in command-line order
 * @param weights the user weight of every input
 * @param modules every module present in at least one input, in first-appearance order
 */
public record MergePlan(List<Path> inputs, List<Double> weights, List<Module> modules) {
    public MergePlan {
        inputs = List.copyOf(inputs);
        weights = List.copyOf(weights);
        modules = List.copyOf(modules);
    }

    /**
     * One module of the plan.
     *
     * @param name module name relative to the base model
     * @param dIn input features
     * @param dOut output features
     * @param inputs indices of the inputs that have it, ascending
     * @param ranks the rank of each of those inputs (same order)
     */
    public record Module(String name, int dIn, int dOut, List<Integer> inputs, List<Integer> ranks) {
        public Module {
            inputs = List.copyOf(inputs);
            ranks = List.copyOf(ranks);
        }

        /** N: the total rank of the inputs that have this module. */
        public int totalRank() {
            return ranks.stream().mapToInt(Integer::intValue).sum();
        }

        /** The largest input rank. */
        public int maxRank() {
            return ranks.stream().mapToInt(Integer::intValue).max().orElse(0);
        }

        /** The largest rank a [dOut, dIn] matrix can have. */
        public int fullRank() {
            return Math.min(dIn, dOut);
        }
    }
}
