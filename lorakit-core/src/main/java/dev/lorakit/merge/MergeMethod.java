package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One way of merging the LoRAs of a module into a single low-rank update. Implementations are
 * stateless apart from their options and are called for many modules in parallel.
 *
 * <p>To add a method: implement this interface in its own file, register its CLI name in
 * {@link MergeMethods}, and add its identities to the tests (merging one adapter with weight 1
 * must give it back).
 */
public interface MergeMethod {
    /** The name the CLI spells, e.g. {@code lego}. */
    String name();

    /** Throws a BadInputException naming the problem if this method cannot merge the plan (e.g. unequal ranks for fusion). */
    default void check(MergePlan plan) {
    }

    /**
     * The rank this method's update for {@code module} will have at most. The merged adapter
     * uses the largest over all modules and pads the others with zero rank-1 terms.
     */
    int outputRank(MergePlan.Module module);

    /**
     * Merges one module. Key figures of the method (inertia, cluster sizes, kept fraction, ...)
     * go into {@code figures}, which becomes the module's entry in the report.
     */
    LowRankUpdate merge(ModuleFactors module, ObjectNode figures);
}
