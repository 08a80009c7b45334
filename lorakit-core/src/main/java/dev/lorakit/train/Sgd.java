package dev.lorakit.train;

import dev.lorakit.BadInputException;
import java.util.List;
import java.util.Map;

/**
 * Plain stochastic gradient descent as torch.optim.SGD without momentum: weight decay is the
 * classic L2 term added to the gradient, {@code p -= lr * (g + weight_decay * p)} (without momentum
 * the same update as decoupled decay), for parameters with {@link NamedParameter#decay()} only
 * (matrices; RMSNorm weights and biases get {@code p -= lr * g}). It keeps no buffers; its state
 * is the step count.
 */
public final class Sgd implements Optimizer {
    /** The kind name in checkpoints. */
    public static final String KIND = "sgd";

    private final List<NamedParameter> params;
    private final double weightDecay;
    private long step;

    /**
     * @param params      the parameters (distinct names)
     * @param weightDecay L2 weight decay, >= 0
     */
    public Sgd(List<NamedParameter> params, double weightDecay) {
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
        this.params = List.copyOf(params);
        AdamW.requireDistinctNames(this.params);
        this.weightDecay = weightDecay;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public List<NamedParameter> parameters() {
        return params;
    }

    @Override
    public long stepCount() {
        return step;
    }

    @Override
    public void step(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        }
        step++;
        for (NamedParameter p : params) {
            double wd = p.decay() ? weightDecay : 0;
            float[] values = p.values();
            float[] grads = p.grads();
            int vo = p.valuesOffset();
            int go = p.gradsOffset();
            for (int i = 0; i < p.size(); i++) {
                double value = values[vo + i];
                values[vo + i] = (float) (value - lr * (grads[go + i] + wd * value));
            }
        }
    }

    @Override
    public OptimizerState exportState() {
        return new OptimizerState(KIND, step, Map.of());
    }

    @Override
    public void importState(OptimizerState state) {
        AdamW.requireKind(state, KIND);
        if (!state.buffers().isEmpty()) {
            throw new BadInputException("optimizer state: SGD keeps no buffers, but the state has "
                    + state.buffers().keySet());
        }
        step = state.step();
    }
}
