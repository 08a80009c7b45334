package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * RowProducts at sizes that cross its cache chunks (cross: 512, combine: 256 values of a row)
 * and register blocks (4 rows) with ragged edges: the blocked kernels against plain loops.
 */
class RowProductsBlockingTest {
    private static double[] random(Random rng, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextGaussian();
        }
        return x;
    }

    @ParameterizedTest
    @CsvSource({"9,6,1030", "4,8,512", "13,5,1537", "1,7,600", "8,8,2051", "17,18,33"})
    void crossAcrossChunksEqualsPlainSums(int nx, int ny, int len) {
        Random rng = new Random(nx * 7919L + ny * 31L + len);
        double[] x = random(rng, 2 + nx * len);
        double[] y = random(rng, 1 + ny * len);
        double[] out = new double[nx * ny];
        RowProducts.cross(x, 2, nx, y, 1, ny, len, out);
        for (int i = 0; i < nx; i++) {
            for (int j = 0; j < ny; j++) {
                double s = 0;
                double abs = 0;
                for (int k = 0; k < len; k++) {
                    s += x[2 + i * len + k] * y[1 + j * len + k];
                    abs += Math.abs(x[2 + i * len + k] * y[1 + j * len + k]);
                }
                assertEquals(s, out[i * ny + j], 1e-14 * abs, "(" + i + ", " + j + ")");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"9,1030", "13,1537", "4,512", "6,3", "21,700"})
    void gramIsExactlySymmetricAndEqualsTheGeneralPath(int n, int len) {
        Random rng = new Random(n * 131L + len);
        double[] x = random(rng, n * len);
        double[] g = new double[n * n];
        RowProducts.gram(x, n, len, g);
        double[] viaCopy = new double[n * n];
        RowProducts.cross(x, 0, n, x.clone(), 0, n, len, viaCopy); // different arrays: the full, unmirrored path
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertEquals(g[i * n + j], g[j * n + i], 0.0, "symmetric (" + i + ", " + j + ")");
                assertEquals(viaCopy[i * n + j], g[i * n + j], 1e-13 * Math.sqrt(g[i * n + i] * g[j * n + j]));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"16,128,700", "5,9,257", "3,4,40", "7,130,513", "1,1,1", "4,2,16"})
    void combineIsBitwiseTheAscendingFmaSum(int m, int n, int len) {
        Random rng = new Random(m * 17L + n * 3L + len);
        double[] c = random(rng, m * n);
        double[] rows = random(rng, 3 + n * len);
        double[] out = random(rng, m * len); // overwritten
        RowProducts.combine(c, m, n, rows, 3, len, out);
        double[] expected = new double[m * len];
        for (int j = 0; j < m; j++) {
            for (int k = 0; k < len; k++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s = Math.fma(c[j * n + i], rows[3 + i * len + k], s);
                }
                expected[j * len + k] = s;
            }
        }
        assertArrayEquals(expected, out, 0.0);
    }
}
