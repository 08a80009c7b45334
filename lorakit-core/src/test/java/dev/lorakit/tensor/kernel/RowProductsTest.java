package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RowProductsTest {
    private static double[] random(Random rng, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextGaussian();
        }
        return x;
    }

    @ParameterizedTest
    @CsvSource({"1,1,1", "2,2,8", "3,5,7", "5,3,17", "4,4,64", "7,9,100", "16,16,131"})
    void crossEqualsNaiveInnerProducts(int nx, int ny, int len) {
        Random rng = new Random(nx * 1000L + ny * 10L + len);
        double[] x = random(rng, 3 + nx * len);
        double[] y = random(rng, 5 + ny * len);
        double[] out = new double[nx * ny];
        RowProducts.cross(x, 3, nx, y, 5, ny, len, out);
        for (int i = 0; i < nx; i++) {
            for (int j = 0; j < ny; j++) {
                double s = 0;
                double abs = 0;
                for (int k = 0; k < len; k++) {
                    s += x[3 + i * len + k] * y[5 + j * len + k];
                    abs += Math.abs(x[3 + i * len + k] * y[5 + j * len + k]);
                }
                assertEquals(s, out[i * ny + j], 1e-14 * abs + 1e-300, "(" + i + ", " + j + ")");
                assertEquals(out[i * ny + j], RowProducts.dot(x, 3 + i * len, y, 5 + j * len, len), 1e-14 * abs + 1e-300);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1,1", "2,3,8", "3,5,13", "4,2,64"})
    void gramIsSymmetric(int n, int unused, int len) {
        Random rng = new Random(n + len);
        double[] x = random(rng, n * len);
        double[] g = new double[n * n];
        RowProducts.gram(x, n, len, g);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(g[i * n + j], g[j * n + i], 1e-12 * (Math.abs(g[i * n + i]) + Math.abs(g[j * n + j])));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1,1", "2,3,8", "3,5,13", "4,2,65"})
    void combineIsTheMatrixProduct(int m, int n, int len) {
        Random rng = new Random(m * 31L + n * 7L + len);
        double[] c = random(rng, m * n);
        c[0] = 0; // the zero-skip path
        double[] rows = random(rng, 2 + n * len);
        double[] out = random(rng, m * len); // overwritten, not accumulated
        RowProducts.combine(c, m, n, rows, 2, len, out);
        for (int j = 0; j < m; j++) {
            for (int k = 0; k < len; k++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += c[j * n + i] * rows[2 + i * len + k];
                }
                assertEquals(s, out[j * len + k], 1e-12);
            }
        }
    }
}
