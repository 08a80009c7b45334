package dev.lorakit.merge;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * What merging one module produced, for the report and the summary table.
 *
 * @param name module name
 * @param inputs indices of the inputs that had the module
 * @param rank the method's rank for this module (before zero padding to the adapter's rank)
 * @param relativeError ||dW_merged - exact sum||_F / ||exact sum||_F
 * @param seconds wall time of the merge of this module (reading, merging, error)
 * @param figures the method's key figures
 */
public record ModuleResult(String name, List<Integer> inputs, int rank, double relativeError, double seconds,
                           ObjectNode figures) {
}
