package dev.lorakit.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * exp(x) for float vectors from plain IEEE lane arithmetic (add, multiply, fma, bit shifts), so
 * the result is the same bits whether the code is interpreted or JIT-compiled. The Vector API's
 * {@code lanewise(EXP)} is not: C2 calls a vector math library while the fallback calls Math.exp
 * per lane, and training that resumes in a fresh JVM must reproduce a warm run bit for bit.
 *
 * <p>Method: n = round(x log2 e), r = x - n ln2 (Cody-Waite, two constants), exp(r) by its
 * degree-7 Taylor polynomial (|r| <= ln2/2: truncation error < 6e-9 relative), times 2^n built in
 * the exponent bits (as two factors, so subnormal results come out right). x > 88.72 gives +inf,
 * x < -103.97 gives 0, NaN stays NaN. Error: about 2 ulp (subnormal results lose precision).
 */
final class VectorExp {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;
    private static final float LN2_LO = 1.42860682030941723212e-6f;
    private static final float MAX_X = 88.72283f;
    private static final float MIN_X = -103.97208f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer

    private VectorExp() {
    }

    private static FloatVector c(FloatVector like, float v) {
        return FloatVector.broadcast(like.species(), v);
    }

    static FloatVector exp(FloatVector x) {
        VectorMask<Float> over = x.compare(VectorOperators.GT, MAX_X);
        VectorMask<Float> under = x.compare(VectorOperators.LT, MIN_X);
        VectorMask<Float> nan = x.compare(VectorOperators.NE, x);
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        FloatVector t = xc.mul(LOG2E).add(ROUND);             // round(x log2e) in the low mantissa bits
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.mul(-LN2_HI).add(xc);               // exact: n ln2_hi has few significant bits
        r = n.fma(c(x, -LN2_LO), r);
        FloatVector p = c(x, 1f / 5040f);
        p = p.fma(r, c(x, 1f / 720f));
        p = p.fma(r, c(x, 1f / 120f));
        p = p.fma(r, c(x, 1f / 24f));
        p = p.fma(r, c(x, 1f / 6f));
        p = p.fma(r, c(x, 0.5f));
        p = p.fma(r, c(x, 1f));
        p = p.fma(r, c(x, 1f));
        // 2^n as two factors 2^n1 * 2^n2 (n in [-150, 128]) so neither leaves the normal exponent range
        IntVector n0 = t.reinterpretAsInts().sub(0x4B400000);
        IntVector n1 = n0.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = n0.sub(n1);
        FloatVector f1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector f2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = p.mul(f1).mul(f2);
        result = result.blend(Float.POSITIVE_INFINITY, over).blend(0f, under);
        return result.blend(x, nan);
    }
}
