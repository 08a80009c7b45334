package dev.lorakit.demo;

/**
 * Progress of a demo run, for a progress bar. Work is counted in units of one example evaluated by
 * one model (an output ensemble of n models costs n units per example); merges are stages without
 * units. Called from the thread running the demo.
 */
public interface DemoListener {
    /** A listener that ignores everything. */
    DemoListener NONE = new DemoListener() {
    };

    /** The run's total units, known once the inputs are located. */
    default void planned(long units) {
    }

    /** The current stage, e.g. "merge lego" or "eval ensemble: uppercase". */
    default void stage(String description) {
    }

    /** {@code units} more units done. */
    default void advance(long units) {
    }
}
