package dev.lorakit.merge;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/** The reference for the low-rank algebra: EJML's SVD of a dense [rows, cols] matrix, sorted descending. */
final class DenseSvd {
    private final int rows;
    private final int cols;
    private final double[] values;
    private final DMatrixRMaj u;
    private final DMatrixRMaj v;

    private DenseSvd(int rows, int cols, double[] values, DMatrixRMaj u, DMatrixRMaj v) {
        this.rows = rows;
        this.cols = cols;
        this.values = values;
        this.u = u;
        this.v = v;
    }

    /** The SVD of {@code m} ([rows, cols] row-major; not modified). */
    static DenseSvd of(double[] m, int rows, int cols) {
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(rows, cols, true, true, true);
        if (!svd.decompose(new DMatrixRMaj(rows, cols, true, m.clone()))) {
            throw new IllegalStateException("dense SVD failed");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj w = svd.getW(null);
        DMatrixRMaj v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(u, false, w, v, false);
        double[] values = new double[Math.min(rows, cols)];
        for (int i = 0; i < values.length; i++) {
            values[i] = w.get(i, i);
        }
        return new DenseSvd(rows, cols, values, u, v);
    }

    /** Entry {@code row} of the j-th left singular vector. */
    double u(int row, int j) {
        return u.get(row, j);
    }

    /** Entry {@code col} of the j-th right singular vector. */
    double v(int col, int j) {
        return v.get(col, j);
    }

    /** All min(rows, cols) singular values, descending. */
    double[] values() {
        return values;
    }

    /** s_i, 0 beyond the last. */
    double value(int i) {
        return i < values.length ? values[i] : 0;
    }

    /** The best rank-k approximation sum_{j<k} s_j u_j v_j^T, dense [rows, cols]. */
    double[] bestRank(int k) {
        double[] out = new double[rows * cols];
        for (int j = 0; j < Math.min(k, values.length); j++) {
            for (int r = 0; r < rows; r++) {
                double us = u.get(r, j) * values[j];
                for (int c = 0; c < cols; c++) {
                    out[r * cols + c] += us * v.get(c, j);
                }
            }
        }
        return out;
    }

    /** ||x||_F. */
    static double norm(double[] x) {
        double s = 0;
        for (double d : x) {
            s += d * d;
        }
        return Math.sqrt(s);
    }

    /** ||x - y||_F. */
    static double distance(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += (x[i] - y[i]) * (x[i] - y[i]);
        }
        return Math.sqrt(s);
    }
}
