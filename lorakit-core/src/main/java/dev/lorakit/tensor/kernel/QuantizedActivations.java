package dev.lorakit.tensor.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activations quantized to 8 bits in blocks of 32, the way llama.cpp quantizes the inputs of its
 * Q4_0 dot products (its Q8_0 activation blocks), for the Q4_0 decode kernel of
 * {@link RowGroupMatVec}. For each block of 32 inputs x:
 * <pre>
 *   amax = max |x_j|,  d = amax / 127  (d = 0 if it would be below 2^-126),  id = d != 0 ? 1 / d : 0
 *   v_j  = x_j * id,   q_j = (int) (v_j + copySign(0.5, v_j))     (q in -127..127)
 *   sum  = q_0 + ... + q_31
 * </pre>
 * every step a float32 operation in exactly this order, so {@link #quantize} (Vector API) and
 * {@link #quantizeScalar} (the reference) agree bit for bit. q_j is v_j rounded to the nearest
 * integer, halves away from zero (up to the rounding of the float addition), so x_j is
 * represented by q_j d with |x_j - q_j d| &lt;= d / 2 (1 + 2^-22) for finite inputs; blocks
 * whose d would be subnormal (all |x_j| &lt; 127 * 2^-126) become zeros, whose 1 / d would
 * overflow. Unlike llama.cpp, d stays float32 (it rounds d to fp16). NaN inputs give NaN scales,
 * so the products that use them are NaN.
 *
 * <p>One instance holds the quantized rows of a small batch and is reused by the calling thread.
 */
final class QuantizedActivations {
    static final int BLOCK = 32;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Shorts matching the float lanes one to one. */
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(16 * L));
    /** The smallest block scale kept: 1 / d must not overflow (below it the block is zeros). */
    private static final float MIN_SCALE = 0x1p-126f;
    private static final ThreadLocal<QuantizedActivations> CACHE = ThreadLocal.withInitial(QuantizedActivations::new);

    /** q_j of input row b at q[b * k + j] (as shorts: the kernels broadcast them into 16-bit lanes). */
    short[] q = new short[0];
    /** d of block c of input row b at d[b * k / 32 + c]. */
    float[] d = new float[0];
    /** sum of the block's q (for Q4_0's "- 8" term), at the same index as d. */
    int[] sum = new int[0];
    /** Inputs per row (k). */
    int k;

    private QuantizedActivations() {
    }

    /** A new instance (not this thread's), sized for rows x k. */
    static QuantizedActivations create(int rows, int k) {
        QuantizedActivations a = new QuantizedActivations();
        a.k = k;
        a.q = new short[rows * k];
        a.d = new float[rows * (k / BLOCK)];
        a.sum = new int[a.d.length];
        return a;
    }

    /** This thread's instance, sized for rows x k (k a multiple of 32). */
    static QuantizedActivations forThread(int rows, int k) {
        QuantizedActivations a = CACHE.get();
        a.k = k;
        if (a.q.length < rows * k) {
            a.q = new short[rows * k];
        }
        int blocks = rows * (k / BLOCK);
        if (a.d.length < blocks) {
            a.d = new float[blocks];
            a.sum = new int[blocks];
        }
        return a;
    }

    /** Quantizes rows x[xOff + b*k ..] for b &lt; rows with the Vector API (needs 8 or 16 float lanes). */
    void quantize(float[] x, int xOff, int rows) {
        int blocks = k / BLOCK;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < blocks; c++) {
                int src = xOff + r * k + c * BLOCK;
                FloatVector amax = FloatVector.zero(F);
                for (int j = 0; j < BLOCK; j += L) {
                    amax = amax.max(FloatVector.fromArray(F, x, src + j).abs());
                }
                float dd = amax.reduceLanes(VectorOperators.MAX) / 127f;
                if (dd < MIN_SCALE) {
                    dd = 0f; // (NaN stays NaN)
                }
                float id = dd != 0f ? 1f / dd : 0f;
                int s = 0;
                for (int j = 0; j < BLOCK; j += L) {
                    FloatVector v = FloatVector.fromArray(F, x, src + j).mul(id);
                    // copySign(0.5, v): v's sign bit on 0.5's bits
                    FloatVector half = v.reinterpretAsInts().and(0x80000000).or(Float.floatToRawIntBits(0.5f)).reinterpretAsFloats();
                    IntVector qi = (IntVector) v.add(half).convertShape(VectorOperators.F2I, I, 0);
                    ((ShortVector) qi.convertShape(VectorOperators.I2S, SH, 0)).intoArray(q, r * k + c * BLOCK + j);
                    s += qi.reduceLanes(VectorOperators.ADD);
                }
                d[r * blocks + c] = dd;
                sum[r * blocks + c] = s;
            }
        }
    }

    /** The scalar reference of {@link #quantize}: the same float32 operations, one element at a time. */
    void quantizeScalar(float[] x, int xOff, int rows) {
        int blocks = k / BLOCK;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < blocks; c++) {
                int src = xOff + r * k + c * BLOCK;
                float amax = 0f;
                for (int j = 0; j < BLOCK; j++) {
                    amax = Math.max(amax, Math.abs(x[src + j]));
                }
                float dd = amax / 127f;
                if (dd < MIN_SCALE) {
                    dd = 0f;
                }
                float id = dd != 0f ? 1f / dd : 0f;
                int s = 0;
                for (int j = 0; j < BLOCK; j++) {
                    float v = x[src + j] * id;
                    int qj = (int) (v + Math.copySign(0.5f, v));
                    q[r * k + c * BLOCK + j] = (short) qj;
                    s += qj;
                }
                d[r * blocks + c] = dd;
                sum[r * blocks + c] = s;
            }
        }
    }
}
