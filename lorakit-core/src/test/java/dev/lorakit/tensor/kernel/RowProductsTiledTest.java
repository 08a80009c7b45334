package dev.lorakit.tensor.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RowProductsTiledTest {
    /**
     * combineTiled equals the scalar fma chain over i ascending bit for bit, for shapes that
     * exercise every path: 4-row, 2-row and single-row blocks, several row tiles (n > 64 at
     * len >= 512) and column tiles (len > 512), vector groups, single vectors and scalar tails.
     */
    @ParameterizedTest
    @CsvSource({"1, 1, 1", "7, 3, 5", "9, 300, 1100", "4, 16, 4096", "13, 70, 144", "2, 1000, 33", "6, 5, 0"})
    void equalsTheScalarFmaChain(int m, int n, int len) {
        Random rng = new Random(m * 1000L + n * 10L + len);
        double[] coeff = new double[3 + m * n];
        double[] rows = new double[5 + n * len];
        for (int i = 0; i < coeff.length; i++) {
            coeff[i] = rng.nextGaussian();
        }
        for (int i = 0; i < rows.length; i++) {
            rows[i] = rng.nextGaussian();
        }
        double[] expected = new double[2 + m * len];
        Arrays.fill(expected, 7.0);
        for (int j = 0; j < m; j++) {
            for (int k = 0; k < len; k++) {
                double acc = 0.0;
                for (int i = 0; i < n; i++) {
                    acc = Math.fma(coeff[3 + j * n + i], rows[5 + i * len + k], acc);
                }
                expected[2 + j * len + k] = acc;
            }
        }
        double[] out = new double[2 + m * len];
        Arrays.fill(out, 7.0); // overwritten, not accumulated; the first two values untouched
        RowProducts.combineTiled(coeff, 3, m, n, rows, 5, len, out, 2);
        assertArrayEquals(expected, out);
        assertEquals(7.0, out[0]);
    }

    @ParameterizedTest
    @CsvSource({"3, 4, 5"})
    void refusesShortArrays(int m, int n, int len) {
        assertThrows(IllegalArgumentException.class,
                () -> RowProducts.combineTiled(new double[m * n - 1], 0, m, n, new double[n * len], 0, len,
                        new double[m * len], 0));
        assertThrows(IllegalArgumentException.class,
                () -> RowProducts.combineTiled(new double[m * n], 0, m, n, new double[n * len], 0, len,
                        new double[m * len], 1));
    }
}
