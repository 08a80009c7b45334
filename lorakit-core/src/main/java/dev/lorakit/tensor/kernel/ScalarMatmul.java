package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.Tensor;

/**
 * The scalar twin of {@link Matmul}: a plain triple loop over {@link Tensor#getFloat}, with a
 * float accumulator per output element (the oracle the packed kernel is tested against).
 */
public final class ScalarMatmul {
    private ScalarMatmul() {
    }

    /** C = op(A) op(B), or C += op(A) op(B) when accumulate; same contract as {@link Matmul#gemm}. */
    public static void gemm(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, boolean accumulate) {
        Matmul.Dims d = Matmul.Dims.of(a, transA, b, transB, c);
        float[] out = c.floatArray();
        int cOff = c.arrayOffset();
        for (int i = 0; i < d.m(); i++) {
            for (int j = 0; j < d.n(); j++) {
                float sum = 0f;
                for (int k = 0; k < d.k(); k++) {
                    float x = transA ? a.getFloat((long) k * d.lda() + i) : a.getFloat((long) i * d.lda() + k);
                    float y = transB ? b.getFloat((long) j * d.ldb() + k) : b.getFloat((long) k * d.ldb() + j);
                    sum += x * y;
                }
                int idx = cOff + i * d.n() + j;
                out[idx] = accumulate ? out[idx] + sum : sum;
            }
        }
    }
}
