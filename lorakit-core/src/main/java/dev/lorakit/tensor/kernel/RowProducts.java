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
        int i = 0;
        for (; i + 1 < nx; i += 2) {
            int x0 = xOff + i * len;
            int x1 = x0 + len;
            int j = 0;
            for (; j + 1 < ny; j += 2) {
                int y0 = yOff + j * len;
                int y1 = y0 + len;
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
                out[i * ny + j] = t00;
                out[i * ny + j + 1] = t01;
                out[(i + 1) * ny + j] = t10;
                out[(i + 1) * ny + j + 1] = t11;
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

    /** {@code out[i * n + j] = <x_i, x_j>} for the n rows of x (symmetric; both halves filled). */
    public static void gram(double[] x, int n, int len, double[] out) {
        cross(x, 0, n, x, 0, n, len, out);
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

    /** Columns of one tile of {@link #combineTiled} (4 KiB of a float64 row). */
    private static final int TILE_LEN = 512;
    /** Doubles in one tile of rows of {@link #combineTiled} (256 KiB: stays in L2 while every output row uses it). */
    private static final int TILE_DOUBLES = 1 << 15;
    /** Four output rows at a time when the CPU has 32 vector registers (512-bit vectors). */
    private static final boolean QUAD = L >= 8;

    /**
     * The product of {@link #combine} for large operands:
     * {@code out[outOff + j*len + k] = sum_i coeff[coeffOff + j*n + i] * rows[rowsOff + i*len + k]}
     * for j < m, k < len (coeff is [m, n], rows [n, len], out [m, len]; out is overwritten), i.e.
     * the matrix product {@code C X} with both operands row-major. Tiled so that a tile of rows
     * (at most 512 columns by 256 KiB) stays in cache while pairs of output rows accumulate
     * four vectors each in registers.
     *
     * <p>Every output value is the fused multiply-add chain over i in ascending order starting
     * from 0, {@code acc = Math.fma(coeff[j][i], rows[i][k], acc)}, whatever the tiling, the
     * vector width or the JIT tier: the result is reproducible bit for bit and one entry can be
     * recomputed alone with that scalar loop.
     */
    public static void combineTiled(double[] coeff, int coeffOff, int m, int n, double[] rows, int rowsOff, int len,
                                    double[] out, int outOff) {
        if (m < 0 || n < 0 || len < 0) {
            throw new IllegalArgumentException("m " + m + ", n " + n + ", len " + len);
        }
        if ((long) coeffOff + (long) m * n > coeff.length || (long) rowsOff + (long) n * len > rows.length
                || (long) outOff + (long) m * len > out.length) {
            throw new IllegalArgumentException("coeff " + coeff.length + ", rows " + rows.length + ", out " + out.length
                    + " values are too few for [" + m + ", " + n + "] x [" + n + ", " + len + "]");
        }
        if (n == 0) {
            java.util.Arrays.fill(out, outOff, outOff + m * len, 0.0);
            return;
        }
        int tileLen = Math.min(len, TILE_LEN);
        int tileRows = Math.max(16, TILE_DOUBLES / Math.max(1, tileLen));
        for (int k0 = 0; k0 < len; k0 += TILE_LEN) {
            int k1 = Math.min(len, k0 + TILE_LEN);
            for (int i0 = 0; i0 < n; i0 += tileRows) {
                int i1 = Math.min(n, i0 + tileRows);
                boolean first = i0 == 0;
                int j = 0;
                if (QUAD) {
                    for (; j + 3 < m; j += 4) {
                        tileQuad(coeff, coeffOff + j * n, n, rows, rowsOff, len, i0, i1, k0, k1, out, outOff + j * len, first);
                    }
                }
                for (; j + 1 < m; j += 2) {
                    tilePair(coeff, coeffOff + j * n, coeffOff + (j + 1) * n, rows, rowsOff, len, i0, i1, k0, k1,
                            out, outOff + j * len, outOff + (j + 1) * len, first);
                }
                if (j < m) {
                    tileSingle(coeff, coeffOff + j * n, rows, rowsOff, len, i0, i1, k0, k1, out, outOff + j * len, first);
                }
            }
        }
    }

    /**
     * Four output rows (coefficient rows c, c + n, c + 2n, c + 3n; output rows o, o + len, ...) by
     * four vectors: 16 accumulators, so only with 32 vector registers (AVX-512). Same
     * per-value fma chain as {@link #tilePair}.
     */
    private static void tileQuad(double[] coeff, int c, int n, double[] rows, int rowsOff, int len, int i0, int i1,
                                 int k0, int k1, double[] out, int o, boolean first) {
        int k = k0;
        for (; k + 4 * L <= k1; k += 4 * L) {
            DoubleVector a00 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + k);
            DoubleVector a01 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + k + L);
            DoubleVector a02 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + k + 2 * L);
            DoubleVector a03 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + k + 3 * L);
            DoubleVector a10 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + len + k);
            DoubleVector a11 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + len + k + L);
            DoubleVector a12 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + len + k + 2 * L);
            DoubleVector a13 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + len + k + 3 * L);
            DoubleVector a20 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 2 * len + k);
            DoubleVector a21 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 2 * len + k + L);
            DoubleVector a22 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 2 * len + k + 2 * L);
            DoubleVector a23 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 2 * len + k + 3 * L);
            DoubleVector a30 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 3 * len + k);
            DoubleVector a31 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 3 * len + k + L);
            DoubleVector a32 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 3 * len + k + 2 * L);
            DoubleVector a33 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o + 3 * len + k + 3 * L);
            for (int i = i0; i < i1; i++) {
                int r = rowsOff + i * len + k;
                DoubleVector r0 = DoubleVector.fromArray(S, rows, r);
                DoubleVector r1 = DoubleVector.fromArray(S, rows, r + L);
                DoubleVector r2 = DoubleVector.fromArray(S, rows, r + 2 * L);
                DoubleVector r3 = DoubleVector.fromArray(S, rows, r + 3 * L);
                DoubleVector p = DoubleVector.broadcast(S, coeff[c + i]);
                a00 = p.fma(r0, a00);
                a01 = p.fma(r1, a01);
                a02 = p.fma(r2, a02);
                a03 = p.fma(r3, a03);
                p = DoubleVector.broadcast(S, coeff[c + n + i]);
                a10 = p.fma(r0, a10);
                a11 = p.fma(r1, a11);
                a12 = p.fma(r2, a12);
                a13 = p.fma(r3, a13);
                p = DoubleVector.broadcast(S, coeff[c + 2 * n + i]);
                a20 = p.fma(r0, a20);
                a21 = p.fma(r1, a21);
                a22 = p.fma(r2, a22);
                a23 = p.fma(r3, a23);
                p = DoubleVector.broadcast(S, coeff[c + 3 * n + i]);
                a30 = p.fma(r0, a30);
                a31 = p.fma(r1, a31);
                a32 = p.fma(r2, a32);
                a33 = p.fma(r3, a33);
            }
            a00.intoArray(out, o + k);
            a01.intoArray(out, o + k + L);
            a02.intoArray(out, o + k + 2 * L);
            a03.intoArray(out, o + k + 3 * L);
            a10.intoArray(out, o + len + k);
            a11.intoArray(out, o + len + k + L);
            a12.intoArray(out, o + len + k + 2 * L);
            a13.intoArray(out, o + len + k + 3 * L);
            a20.intoArray(out, o + 2 * len + k);
            a21.intoArray(out, o + 2 * len + k + L);
            a22.intoArray(out, o + 2 * len + k + 2 * L);
            a23.intoArray(out, o + 2 * len + k + 3 * L);
            a30.intoArray(out, o + 3 * len + k);
            a31.intoArray(out, o + 3 * len + k + L);
            a32.intoArray(out, o + 3 * len + k + 2 * L);
            a33.intoArray(out, o + 3 * len + k + 3 * L);
        }
        if (k < k1) { // the columns left over: two pairs of rows
            tilePair(coeff, c, c + n, rows, rowsOff, len, i0, i1, k, k1, out, o, o + len, first);
            tilePair(coeff, c + 2 * n, c + 3 * n, rows, rowsOff, len, i0, i1, k, k1, out, o + 2 * len, o + 3 * len, first);
        }
    }

    /** Two output rows (coefficient rows c0, c1; output rows o0, o1) over rows [i0, i1) and columns [k0, k1). */
    private static void tilePair(double[] coeff, int c0, int c1, double[] rows, int rowsOff, int len, int i0, int i1,
                                 int k0, int k1, double[] out, int o0, int o1, boolean first) {
        int k = k0;
        for (; k + 4 * L <= k1; k += 4 * L) {
            DoubleVector a0 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k);
            DoubleVector a1 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k + L);
            DoubleVector a2 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k + 2 * L);
            DoubleVector a3 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k + 3 * L);
            DoubleVector b0 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o1 + k);
            DoubleVector b1 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o1 + k + L);
            DoubleVector b2 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o1 + k + 2 * L);
            DoubleVector b3 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o1 + k + 3 * L);
            for (int i = i0; i < i1; i++) {
                DoubleVector p = DoubleVector.broadcast(S, coeff[c0 + i]);
                DoubleVector q = DoubleVector.broadcast(S, coeff[c1 + i]);
                int r = rowsOff + i * len + k;
                DoubleVector r0 = DoubleVector.fromArray(S, rows, r);
                DoubleVector r1 = DoubleVector.fromArray(S, rows, r + L);
                DoubleVector r2 = DoubleVector.fromArray(S, rows, r + 2 * L);
                DoubleVector r3 = DoubleVector.fromArray(S, rows, r + 3 * L);
                a0 = p.fma(r0, a0);
                a1 = p.fma(r1, a1);
                a2 = p.fma(r2, a2);
                a3 = p.fma(r3, a3);
                b0 = q.fma(r0, b0);
                b1 = q.fma(r1, b1);
                b2 = q.fma(r2, b2);
                b3 = q.fma(r3, b3);
            }
            a0.intoArray(out, o0 + k);
            a1.intoArray(out, o0 + k + L);
            a2.intoArray(out, o0 + k + 2 * L);
            a3.intoArray(out, o0 + k + 3 * L);
            b0.intoArray(out, o1 + k);
            b1.intoArray(out, o1 + k + L);
            b2.intoArray(out, o1 + k + 2 * L);
            b3.intoArray(out, o1 + k + 3 * L);
        }
        for (; k + L <= k1; k += L) {
            DoubleVector a0 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k);
            DoubleVector b0 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o1 + k);
            for (int i = i0; i < i1; i++) {
                DoubleVector r0 = DoubleVector.fromArray(S, rows, rowsOff + i * len + k);
                a0 = DoubleVector.broadcast(S, coeff[c0 + i]).fma(r0, a0);
                b0 = DoubleVector.broadcast(S, coeff[c1 + i]).fma(r0, b0);
            }
            a0.intoArray(out, o0 + k);
            b0.intoArray(out, o1 + k);
        }
        for (; k < k1; k++) {
            double a0 = first ? 0.0 : out[o0 + k];
            double b0 = first ? 0.0 : out[o1 + k];
            for (int i = i0; i < i1; i++) {
                double r = rows[rowsOff + i * len + k];
                a0 = Math.fma(coeff[c0 + i], r, a0);
                b0 = Math.fma(coeff[c1 + i], r, b0);
            }
            out[o0 + k] = a0;
            out[o1 + k] = b0;
        }
    }

    /** One output row (the odd one out of {@link #tilePair}). */
    private static void tileSingle(double[] coeff, int c0, double[] rows, int rowsOff, int len, int i0, int i1,
                                   int k0, int k1, double[] out, int o0, boolean first) {
        int k = k0;
        for (; k + 4 * L <= k1; k += 4 * L) {
            DoubleVector a0 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k);
            DoubleVector a1 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k + L);
            DoubleVector a2 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k + 2 * L);
            DoubleVector a3 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k + 3 * L);
            for (int i = i0; i < i1; i++) {
                DoubleVector p = DoubleVector.broadcast(S, coeff[c0 + i]);
                int r = rowsOff + i * len + k;
                a0 = p.fma(DoubleVector.fromArray(S, rows, r), a0);
                a1 = p.fma(DoubleVector.fromArray(S, rows, r + L), a1);
                a2 = p.fma(DoubleVector.fromArray(S, rows, r + 2 * L), a2);
                a3 = p.fma(DoubleVector.fromArray(S, rows, r + 3 * L), a3);
            }
            a0.intoArray(out, o0 + k);
            a1.intoArray(out, o0 + k + L);
            a2.intoArray(out, o0 + k + 2 * L);
            a3.intoArray(out, o0 + k + 3 * L);
        }
        for (; k + L <= k1; k += L) {
            DoubleVector a0 = first ? DoubleVector.zero(S) : DoubleVector.fromArray(S, out, o0 + k);
            for (int i = i0; i < i1; i++) {
                a0 = DoubleVector.broadcast(S, coeff[c0 + i]).fma(DoubleVector.fromArray(S, rows, rowsOff + i * len + k), a0);
            }
            a0.intoArray(out, o0 + k);
        }
        for (; k < k1; k++) {
            double a0 = first ? 0.0 : out[o0 + k];
            for (int i = i0; i < i1; i++) {
                a0 = Math.fma(coeff[c0 + i], rows[rowsOff + i * len + k], a0);
            }
            out[o0 + k] = a0;
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
