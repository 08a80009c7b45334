package dev.lorakit.tensor.kernel;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Inner products between two sets of float64 rows (a Gram or cross-Gram matrix), the one dense
 * kernel the low-rank merge algebra needs: {@code out[i][j] = <x_i, y_j>} for rows x_i, y_j of
 * length {@code len}. Vectorised 2 x 2 register blocks; lanes are summed in a fixed order, so
 * the result does not depend on the JIT tier.
 */
public final class RowProducts {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private RowProducts() {
    }

    /**
     * {@code out[i * ny + j] = sum_k x[xOff + i*len + k] * y[yOff + j*len + k]} for i < nx, j < ny.
     * {@code out} must hold nx * ny values.
     */
    public static void cross(double[] x, int xOff, int nx, double[] y, int yOff, int ny, int len, double[] out) {
        if (out.length < nx * ny) {
            throw new IllegalArgumentException("out holds " + out.length + " values, need " + nx * ny);
        }
        double[] lanes = new double[L];
        double[] t = new double[4];
        int i = 0;
        for (; i + 1 < nx; i += 2) {
            int x0 = xOff + i * len;
            int x1 = x0 + len;
            int j = 0;
            for (; j + 1 < ny; j += 2) {
                block(x, x0, x1, y, yOff + j * len, yOff + (j + 1) * len, len, lanes, t);
                out[i * ny + j] = t[0];
                out[i * ny + j + 1] = t[1];
                out[(i + 1) * ny + j] = t[2];
                out[(i + 1) * ny + j + 1] = t[3];
            }
            for (; j < ny; j++) {
                out[i * ny + j] = dot(x, x0, y, yOff + j * len, len, lanes);
                out[(i + 1) * ny + j] = dot(x, x1, y, yOff + j * len, len, lanes);
            }
        }
        for (; i < nx; i++) {
            for (int j = 0; j < ny; j++) {
                out[i * ny + j] = dot(x, xOff + i * len, y, yOff + j * len, len, lanes);
            }
        }
    }

    /**
     * {@code out[i * n + j] = <x_i, x_j>} for the n rows of x: the upper triangle in 2 x 2 blocks,
     * mirrored, so the result is exactly symmetric at half the cost of {@link #cross}.
     */
    public static void gram(double[] x, int n, int len, double[] out) {
        if (out.length < n * n) {
            throw new IllegalArgumentException("out holds " + out.length + " values, need " + n * n);
        }
        double[] lanes = new double[L];
        double[] t = new double[4];
        int even = n & ~1;
        for (int i = 0; i < even; i += 2) {
            for (int j = i; j < even; j += 2) {
                block(x, i * len, (i + 1) * len, x, j * len, (j + 1) * len, len, lanes, t);
                out[i * n + j] = t[0];
                out[i * n + j + 1] = t[1];
                out[(i + 1) * n + j] = t[2];
                out[(i + 1) * n + j + 1] = t[3];
            }
        }
        if (even < n) {
            for (int i = 0; i < n; i++) {
                out[i * n + even] = dot(x, i * len, x, even * len, len, lanes);
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                out[i * n + j] = out[j * n + i];
            }
        }
    }

    /** The four inner products of rows (x0, x1) with rows (y0, y1): t = {x0.y0, x0.y1, x1.y0, x1.y1}. */
    private static void block(double[] x, int x0, int x1, double[] y, int y0, int y1, int len, double[] lanes,
                              double[] t) {
        DoubleVector s00 = DoubleVector.zero(S);
        DoubleVector s01 = DoubleVector.zero(S);
        DoubleVector s10 = DoubleVector.zero(S);
        DoubleVector s11 = DoubleVector.zero(S);
        int k = 0;
        for (; k <= len - L; k += L) {
            DoubleVector a0 = DoubleVector.fromArray(S, x, x0 + k);
            DoubleVector a1 = DoubleVector.fromArray(S, x, x1 + k);
            DoubleVector b0 = DoubleVector.fromArray(S, y, y0 + k);
            DoubleVector b1 = DoubleVector.fromArray(S, y, y1 + k);
            s00 = a0.fma(b0, s00);
            s01 = a0.fma(b1, s01);
            s10 = a1.fma(b0, s10);
            s11 = a1.fma(b1, s11);
        }
        double t00 = sum(s00, lanes);
        double t01 = sum(s01, lanes);
        double t10 = sum(s10, lanes);
        double t11 = sum(s11, lanes);
        for (; k < len; k++) {
            t00 += x[x0 + k] * y[y0 + k];
            t01 += x[x0 + k] * y[y1 + k];
            t10 += x[x1 + k] * y[y0 + k];
            t11 += x[x1 + k] * y[y1 + k];
        }
        t[0] = t00;
        t[1] = t01;
        t[2] = t10;
        t[3] = t11;
    }

    /**
     * Linear combinations of rows: {@code out[j*len + k] = sum_i coeff[j*n + i] * rows[rowsOff + i*len + k]}
     * for j < m (coeff is [m, n], rows [n, len], out [m, len]; out is overwritten). This is the
     * product {@code C X} with X stored as rows, e.g. centroids from cluster memberships or
     * {@code U^T Q^T} when mapping a small core back to full length.
     */
    public static void combine(double[] coeff, int m, int n, double[] rows, int rowsOff, int len, double[] out) {
        if (out.length < m * len || coeff.length < m * n) {
            throw new IllegalArgumentException("coeff holds " + coeff.length + " and out " + out.length
                    + " values; need " + m * n + " and " + m * len);
        }
        java.util.Arrays.fill(out, 0, m * len, 0.0);
        for (int j = 0; j < m; j++) {
            int o = j * len;
            for (int i = 0; i < n; i++) {
                double c = coeff[j * n + i];
                if (c == 0) {
                    continue;
                }
                int r = rowsOff + i * len;
                DoubleVector cv = DoubleVector.broadcast(S, c);
                int k = 0;
                for (; k <= len - L; k += L) {
                    DoubleVector acc = DoubleVector.fromArray(S, out, o + k);
                    cv.fma(DoubleVector.fromArray(S, rows, r + k), acc).intoArray(out, o + k);
                }
                for (; k < len; k++) {
                    out[o + k] += c * rows[r + k];
                }
            }
        }
    }

    /** One inner product of two rows. */
    public static double dot(double[] x, int xOff, double[] y, int yOff, int len) {
        return dot(x, xOff, y, yOff, len, new double[L]);
    }

    private static double dot(double[] x, int xOff, double[] y, int yOff, int len, double[] lanes) {
        DoubleVector s = DoubleVector.zero(S);
        int k = 0;
        for (; k <= len - L; k += L) {
            s = DoubleVector.fromArray(S, x, xOff + k).fma(DoubleVector.fromArray(S, y, yOff + k), s);
        }
        double t = sum(s, lanes);
        for (; k < len; k++) {
            t += x[xOff + k] * y[yOff + k];
        }
        return t;
    }

    /** Lane sum in index order (not reduceLanes, whose order differs between JIT tiers). */
    private static double sum(DoubleVector v, double[] lanes) {
        v.intoArray(lanes, 0);
        double t = 0;
        for (double d : lanes) {
            t += d;
        }
        return t;
    }
}
