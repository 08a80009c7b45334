package dev.lorakit.train;

import java.util.List;

/**
 * Gradient clipping by the global L2 norm over all parameters, with the semantics of
 * torch.nn.utils.clip_grad_norm_: {@code norm = sqrt(sum of g^2)} over every gradient element
 * (accumulated in float64, parameter by parameter in list order, so the result is
 * deterministic); if {@code max_norm / (norm + 1e-6) < 1}, every gradient is multiplied by that
 * factor. One difference: a non-finite norm leaves the gradients unchanged (torch would turn them
 * into NaN or zeros), and is returned so the trainer can report it and skip the step.
 */
public final class GradientClipping {
    /** torch's guard against division by zero. */
    public static final double EPSILON = 1e-6;

    private GradientClipping() {
    }

    /** The global L2 norm of all gradients (float64 accumulation). */
    public static double globalNorm(List<NamedParameter> params) {
        double sum = 0;
        for (NamedParameter p : params) {
            float[] g = p.grads();
            int end = p.gradsOffset() + p.size();
            double s = 0;
            for (int i = p.gradsOffset(); i < end; i++) {
                s += (double) g[i] * g[i];
            }
            sum += s;
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales the gradients so their global norm is at most about {@code maxNorm}.
     *
     * @param maxNorm the largest norm allowed; {@code <= 0} or infinite means no clipping
     * @return the norm before clipping
     */
    public static double clip(List<NamedParameter> params, double maxNorm) {
        double norm = globalNorm(params);
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm) || !Double.isFinite(norm)) {
            return norm;
        }
        double coef = maxNorm / (norm + EPSILON);
        if (coef < 1.0) {
            for (NamedParameter p : params) {
                float[] g = p.grads();
                int end = p.gradsOffset() + p.size();
                for (int i = p.gradsOffset(); i < end; i++) {
                    g[i] = (float) (g[i] * coef);
                }
            }
        }
        return norm;
    }
}
