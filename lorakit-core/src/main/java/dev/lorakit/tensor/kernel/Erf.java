package dev.lorakit.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt, which Java's
 * Math lacks and exact GELU needs: a float32 Vector-API version and a float64 scalar twin.
 *
 * <p><b>Vector version</b> ({@link #erf(FloatVector)}), absolute error below 1e-7 over all
 * floats (measured about 6e-8, i.e. about one float ulp near 1). With a = |x|:
 * <ul>
 *   <li>a &lt;= 1: erf(a) = a + a * Q(a^2), Q a degree-6 polynomial (Q(0) = 2/sqrt(pi) - 1, so the
 *       leading term a is exact and rounding errors stay proportional to the small part);</li>
 *   <li>1 &lt; a: erfc(a) = exp(P(min(a, 4))), P a degree-7 polynomial, erf(a) = 1 - erfc(a);
 *       beyond a = 4 the float result is 1 (erfc(4) = 1.5e-8 is below half an ulp of 1);</li>
 *   <li>erf(-x) = -erf(x) by copying the sign bit; NaN stays NaN.</li>
 * </ul>
 * The coefficients were fitted for lorakit by iteratively reweighted least squares against a
 * 40-digit reference (minimising the error of Q relative to erf(a)/a, and of P weighted by erfc),
 * then checked with float32 evaluation on a fine grid; float32 rounding dominates the error.
 *
 * <p><b>Scalar twin</b> ({@link #erf(double)}), accurate to a few 1e-16 absolute: a series of
 * positive terms for |x| &lt; 2.5, a continued fraction for erfc when 2.5 &lt;= |x| &lt; 6, and +-1 beyond
 * (erfc(6) = 2e-17).
 */
public final class Erf {
    /** Q(z) coefficients, constant term first: erf(a) = a + a * Q(a^2) for a in [0, 1]. */
    private static final float Q0 = 0.12837916612625122f;
    private static final float Q1 = -0.3761262595653534f;
    private static final float Q2 = 0.1128358542919159f;
    private static final float Q3 = -0.026853816583752632f;
    private static final float Q4 = 0.00518833426758647f;
    private static final float Q5 = -0.0008010246092453599f;
    private static final float Q6 = 7.854022260289639e-05f;

    /** P(a) coefficients, constant term first: erfc(a) = exp(P(a)) for a in [1, 4]. */
    private static final float P0 = 0.0001880401250673458f;
    private static final float P1 = -1.1295784711837769f;
    private static final float P2 = -0.6332198977470398f;
    private static final float P3 = -0.10841857641935349f;
    private static final float P4 = 0.025208257138729095f;
    private static final float P5 = -0.004204561468213797f;
    private static final float P6 = 0.0004413363349158317f;
    private static final float P7 = -2.1686846594093367e-05f;

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;

    private Erf() {
    }

    /** erf of each lane, float32, absolute error below 1e-7 (see the class comment). */
    public static FloatVector erf(FloatVector x) {
        FloatVector a = x.abs();
        // a <= 1: a + a * Q(a^2)
        FloatVector z = a.mul(a);
        FloatVector q = z.fma(Q6, Q5);
        q = q.fma(z, c(x, Q4));
        q = q.fma(z, c(x, Q3));
        q = q.fma(z, c(x, Q2));
        q = q.fma(z, c(x, Q1));
        q = q.fma(z, c(x, Q0));
        FloatVector small = a.fma(q, a);
        // a > 1: 1 - exp(P(min(a, 4)))
        FloatVector t = a.min(4f);
        FloatVector p = t.fma(P7, P6);
        p = p.fma(t, c(x, P5));
        p = p.fma(t, c(x, P4));
        p = p.fma(t, c(x, P3));
        p = p.fma(t, c(x, P2));
        p = p.fma(t, c(x, P1));
        p = p.fma(t, c(x, P0));
        FloatVector big = VectorExp.exp(p).neg().add(1f);
        VectorMask<Float> isBig = a.compare(VectorOperators.GT, 1f);
        FloatVector r = small.blend(big, isBig);
        // erf is odd: give the result the sign of x (NaN lanes stay NaN: small is NaN there).
        return r.reinterpretAsInts()
                .or(x.reinterpretAsInts().and(0x80000000))
                .reinterpretAsFloats();
    }

    /** A vector of the species of x with every lane v. */
    private static FloatVector c(FloatVector x, float v) {
        return FloatVector.broadcast(x.species(), v);
    }

    /** erf(x) in float64, absolute error about 1e-15; the scalar twin of {@link #erf(FloatVector)}. */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        double r;
        if (a < 2.5) {
            r = series(a);
        } else if (a < 6) {
            r = 1 - erfcContinuedFraction(a);
        } else {
            r = 1;
        }
        return Math.copySign(r, x);
    }

    /**
     * erf(a) = 2/sqrt(pi) exp(-a^2) sum_n 2^n a^(2n+1) / (1 * 3 * ... * (2n+1)), a series of
     * positive terms (no cancellation), summed until the terms no longer change the result.
     */
    private static double series(double a) {
        double z = 2 * a * a;
        double term = a;
        double sum = a;
        for (int n = 1; n < 500; n++) {
            term *= z / (2 * n + 1);
            double next = sum + term;
            if (next == sum) {
                break;
            }
            sum = next;
        }
        return TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
    }

    /**
     * erfc(a) for a &gt;= 2.5 from the continued fraction
     * erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))),
     * evaluated with the modified Lentz method.
     */
    private static double erfcContinuedFraction(double a) {
        final double tiny = 1e-300;
        double f = a;
        double c = a;
        double d = 0;
        for (int k = 1; k < 500; k++) {
            double ak = k * 0.5;
            d = a + ak * d;
            if (d == 0) {
                d = tiny;
            }
            c = a + ak / c;
            if (c == 0) {
                c = tiny;
            }
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) {
                break;
            }
        }
        return Math.exp(-a * a) * ONE_OVER_SQRT_PI / f;
    }
}
