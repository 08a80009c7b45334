package dev.lorakit.train;

import dev.lorakit.BadInputException;
import dev.lorakit.tensor.Parallel;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Adam with decoupled weight decay, as torch.optim.AdamW (amsgrad off). For step t (1-based),
 * per element:
 * <pre>
 *   p     = p * (1 - lr * weight_decay)
 *   m     = beta1 * m + (1 - beta1) * g
 *   v     = beta2 * v + (1 - beta2) * g^2
 *   p     = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * which is {@code p -= lr * mhat / (sqrt(vhat) + eps)} with eps added as torch adds it. The decay
 * line applies only to parameters with {@link NamedParameter#decay()} (matrices; not RMSNorm
 * weights or biases, like a torch param group with weight_decay 0 for them). The
 * moments m, v are stored in float32 (as torch stores them for float32 parameters); each
 * element's arithmetic runs in float64 and is rounded once per stored value. Every element is
 * independent, so the result does not depend on the thread count.
 */
public final class AdamW implements Optimizer {
    /** The kind name in checkpoints. */
    public static final String KIND = "adamw";
    /** Suffix of a parameter's first-moment buffer in {@link OptimizerState}. */
    public static final String EXP_AVG = ".exp_avg";
    /** Suffix of a parameter's second-moment buffer in {@link OptimizerState}. */
    public static final String EXP_AVG_SQ = ".exp_avg_sq";
    private static final int PARALLEL_GRAIN = 1 << 15;

    private final List<NamedParameter> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final float[][] expAvg;
    private final float[][] expAvgSq;
    private long step;

    /**
     * @param params      the parameters (distinct names)
     * @param beta1       first-moment decay in [0, 1) (torch default 0.9)
     * @param beta2       second-moment decay in [0, 1) (torch default 0.999)
     * @param eps         added to the denominator, > 0 (torch default 1e-8)
     * @param weightDecay decoupled decay, >= 0 (torch AdamW default 0.01, Hugging Face Trainer default 0)
     */
    public AdamW(List<NamedParameter> params, double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps > 0) || !(weightDecay >= 0) || Double.isInfinite(weightDecay) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be > 0 and weight decay >= 0, got " + eps + ", " + weightDecay);
        }
        this.params = List.copyOf(params);
        requireDistinctNames(this.params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.expAvg = new float[this.params.size()][];
        this.expAvgSq = new float[this.params.size()][];
        for (int i = 0; i < this.params.size(); i++) {
            expAvg[i] = new float[this.params.get(i).size()];
            expAvgSq[i] = new float[this.params.get(i).size()];
        }
    }

    static void requireDistinctNames(List<NamedParameter> params) {
        Set<String> seen = new HashSet<>();
        for (NamedParameter p : params) {
            if (!seen.add(p.name())) {
                throw new IllegalArgumentException("two parameters are named " + p.name());
            }
        }
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
        long t = ++step;
        double biasCorrection1 = 1 - Math.pow(beta1, t);
        double biasCorrection2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
        double stepSize = lr / biasCorrection1;
        for (int k = 0; k < params.size(); k++) {
            NamedParameter p = params.get(k);
            double decay = p.decay() ? 1 - lr * weightDecay : 1;
            float[] m = expAvg[k];
            float[] v = expAvgSq[k];
            float[] values = p.values();
            float[] grads = p.grads();
            int vo = p.valuesOffset();
            int go = p.gradsOffset();
            Parallel.forRange(p.size(), PARALLEL_GRAIN, (from, to) -> {
                for (int i = from; i < to; i++) {
                    double g = grads[go + i];
                    double value = values[vo + i] * decay;
                    float mi = (float) (beta1 * m[i] + (1 - beta1) * g);
                    float vi = (float) (beta2 * v[i] + (1 - beta2) * g * g);
                    m[i] = mi;
                    v[i] = vi;
                    double denom = Math.sqrt(vi) / biasCorrection2Sqrt + eps;
                    values[vo + i] = (float) (value - stepSize * mi / denom);
                }
            });
        }
    }

    @Override
    public OptimizerState exportState() {
        Map<String, float[]> buffers = new LinkedHashMap<>();
        for (int k = 0; k < params.size(); k++) {
            buffers.put(params.get(k).name() + EXP_AVG, expAvg[k]);
            buffers.put(params.get(k).name() + EXP_AVG_SQ, expAvgSq[k]);
        }
        return new OptimizerState(KIND, step, buffers);
    }

    @Override
    public void importState(OptimizerState state) {
        requireKind(state, KIND);
        Set<String> expected = new HashSet<>();
        for (int k = 0; k < params.size(); k++) {
            NamedParameter p = params.get(k);
            for (String suffix : List.of(EXP_AVG, EXP_AVG_SQ)) {
                String name = p.name() + suffix;
                expected.add(name);
                float[] buf = state.buffers().get(name);
                if (buf == null) {
                    throw new BadInputException("optimizer state: no buffer \"" + name + "\" for trainable parameter "
                            + p.name() + " (the checkpoint was made for other adapter modules)");
                }
                if (buf.length != p.size()) {
                    throw new BadInputException("optimizer state: buffer \"" + name + "\" has " + buf.length
                            + " elements but parameter " + p.name() + " has " + p.size());
                }
            }
        }
        for (String name : state.buffers().keySet()) {
            if (!expected.contains(name)) {
                throw new BadInputException("optimizer state: buffer \"" + name + "\" belongs to no trainable parameter"
                        + " (the checkpoint was made for other adapter modules)");
            }
        }
        for (int k = 0; k < params.size(); k++) {
            String name = params.get(k).name();
            expAvg[k] = state.buffers().get(name + EXP_AVG).clone();
            expAvgSq[k] = state.buffers().get(name + EXP_AVG_SQ).clone();
        }
        step = state.step();
    }

    static void requireKind(OptimizerState state, String kind) {
        if (!state.kind().equals(kind)) {
            throw new BadInputException("optimizer state: saved by optimizer \"" + state.kind() + "\", but this run uses \""
                    + kind + "\" (resume with the same --optimizer)");
        }
    }
}
