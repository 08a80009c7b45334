package dev.lorakit.merge;

import dev.lorakit.tensor.kernel.RowProducts;

/**
 * How far a merged update is from the exact weighted sum of the inputs:
 * {@code ||dW_merged - sum_t c_t B_t A_t||_F / ||sum_t c_t B_t A_t||_F}, computed from inner
 * products of the factors' rows, never from a dense matrix.
 *
 * <p>With M = [b_1..b_k][a_1..a_k]^T and S likewise over the N input MSUs (coefficients folded
 * into the b's), {@code ||M - S||^2 = ||M||^2 - 2 <M, S> + ||S||^2} and every term is a sum of
 * products of row inner products, e.g. {@code <M, S> = sum_ji (bm_j . bs_i)(am_j . as_i)}.
 * Cost O((k + N)^2 (dIn + dOut)). Cancellation limits the resolution to about 1e-7 relative
 * (the square root of float64 epsilon): an exact merge reports an error of that order, not 0.
 */
public final class ReconstructionError {
    private ReconstructionError() {
    }

    /**
     * The relative error of {@code merged} against the module's exact sum; +infinity if the sum
     * is 0 but merged is not. Exactly 0 when {@code merged} is the module's own
     * {@link ModuleFactors#exactSum()} instance. Uses the module's cached Gram matrices.
     */
    public static double relative(ModuleFactors module, LowRankUpdate merged) {
        LowRankUpdate exact = module.exactSum();
        if (merged == exact) {
            return 0;
        }
        double[] ga = module.gramA();
        double[] gb = module.gramB();
        double ss = 0;
        for (int i = 0; i < ga.length; i++) {
            ss += ga[i] * gb[i];
        }
        double mm = selfInner(merged);
        double ms = productInner(merged, exact);
        double diff = Math.max(0, mm - 2 * ms + ss);
        if (ss <= 0) {
            return diff <= 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        return Math.sqrt(diff / ss);
    }

    /** ||B A||_F^2 from the symmetric Grams of the rows. */
    private static double selfInner(LowRankUpdate u) {
        int k = u.rank();
        if (k == 0) {
            return 0;
        }
        double[] aa = new double[k * k];
        double[] bb = new double[k * k];
        RowProducts.gram(u.a(), k, u.dIn(), aa);
        RowProducts.gram(u.bt(), k, u.dOut(), bb);
        double s = 0;
        for (int i = 0; i < k * k; i++) {
            s += aa[i] * bb[i];
        }
        return s;
    }

    /** The Frobenius norm of {@code B A} without forming it. */
    public static double frobeniusNorm(LowRankUpdate u) {
        return Math.sqrt(Math.max(0, selfInner(u)));
    }

    /** The Frobenius inner product {@code <B_x A_x, B_y A_y>} = sum_ij (bx_i . by_j)(ax_i . ay_j). */
    public static double productInner(LowRankUpdate x, LowRankUpdate y) {
        if (x.dIn() != y.dIn() || x.dOut() != y.dOut()) {
            throw new IllegalArgumentException("updates of different shapes: [" + x.dOut() + ", " + x.dIn() + "] vs ["
                    + y.dOut() + ", " + y.dIn() + "]");
        }
        int kx = x.rank();
        int ky = y.rank();
        if (kx == 0 || ky == 0) {
            return 0;
        }
        double[] aa = new double[kx * ky];
        double[] bb = new double[kx * ky];
        RowProducts.cross(x.a(), 0, kx, y.a(), 0, ky, x.dIn(), aa);
        RowProducts.cross(x.bt(), 0, kx, y.bt(), 0, ky, x.dOut(), bb);
        double s = 0;
        for (int i = 0; i < kx * ky; i++) {
            s += aa[i] * bb[i];
        }
        return s;
    }
}
