package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.KernelTestData.close;

import org.junit.jupiter.api.Test;

/**
 * silu' and gelu' (vector and scalar) against central finite differences of silu and gelu in
 * float64: f'(x) ~ (f(x+h) - f(x-h)) / 2h with h = 1e-5, whose truncation and rounding error
 * (~1e-10) is far below the float32 results' tolerance of 1e-6 (1 + |f'(x)|).
 */
class DerivativesTest {
    private static final double H = 1e-5;

    private static float[] grid() {
        int n = 2001;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (-12 + 24.0 * i / (n - 1));
        }
        return x;
    }

    @Test
    void dsiluMatchesFiniteDifferences() {
        float[] x = grid();
        float[] v = new float[x.length];
        float[] s = new float[x.length];
        VectorKernels.dsilu(x, 0, v, 0, x.length);
        ScalarKernels.dsilu(x, 0, s, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            double fd = (ScalarKernels.silu(x[i] + H) - ScalarKernels.silu(x[i] - H)) / (2 * H);
            close(fd, v[i], 1e-6 * (1 + Math.abs(fd)), "vector silu'(" + x[i] + ")");
            close(fd, s[i], 1e-6 * (1 + Math.abs(fd)), "scalar silu'(" + x[i] + ")");
        }
    }

    @Test
    void dgeluMatchesFiniteDifferences() {
        float[] x = grid();
        float[] v = new float[x.length];
        float[] s = new float[x.length];
        VectorKernels.dgelu(x, 0, v, 0, x.length);
        ScalarKernels.dgelu(x, 0, s, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            double fd = (ScalarKernels.gelu(x[i] + H) - ScalarKernels.gelu(x[i] - H)) / (2 * H);
            close(fd, v[i], 1e-6 * (1 + Math.abs(fd)), "vector gelu'(" + x[i] + ")");
            close(fd, s[i], 1e-6 * (1 + Math.abs(fd)), "scalar gelu'(" + x[i] + ")");
        }
    }
}
