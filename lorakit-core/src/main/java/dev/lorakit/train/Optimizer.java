package dev.lorakit.train;

import java.util.List;

/**
 * Updates named parameters from their gradients, one step at a time, like a torch.optim
 * optimizer: it is created over a fixed list of parameters and each {@link #step(double)} reads
 * their gradients and writes their values. The learning rate comes with each step (from a
 * {@link LearningRateSchedule}). The state that carries between steps can be exported and
 * imported for checkpoints.
 */
public interface Optimizer {
    /** The name written into checkpoints and configs ("adamw", "sgd"). */
    String kind();

    /** The parameters this optimizer updates, in order. */
    List<NamedParameter> parameters();

    /** Applies one update with learning rate {@code lr} from the current gradients (which it leaves unchanged). */
    void step(double lr);

    /** Updates made so far. */
    long stepCount();

    /** A deep copy of the state. */
    OptimizerState exportState();

    /**
     * Continues from a saved state.
     *
     * @throws dev.lorakit.BadInputException if the state is for another optimizer kind, lacks a
     *                                       buffer, has an extra one, or one of the wrong size
     */
    void importState(OptimizerState state);

    /** Sets every parameter's gradient to zero. */
    default void zeroGrad() {
        for (NamedParameter p : parameters()) {
            p.zeroGrad();
        }
    }
}
