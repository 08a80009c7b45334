package dev.lorakit.merge;

import java.util.List;
import java.util.Random;

/** Small modules for the task-vector merge tests: hand-written matrices and seeded random factors. */
final class TaskVectorFixtures {
    private TaskVectorFixtures() {
    }

    /**
     * An input whose update is {@code weight * scaling * D} for the given dOut x dIn matrix D:
     * rank dOut, B = identity, A = D.
     */
    static ScaledFactors matrixInput(int input, double weight, double scaling, double[][] d) {
        int dOut = d.length;
        int dIn = d[0].length;
        double[] a = new double[dOut * dIn];
        double[] bt = new double[dOut * dOut];
        for (int o = 0; o < dOut; o++) {
            System.arraycopy(d[o], 0, a, o * dIn, dIn);
            bt[o * dOut + o] = 1;
        }
        return new ScaledFactors(input, weight, scaling, dOut, dIn, dOut, a, bt);
    }

    /** A module of weight-1, scaling-1 matrix inputs. */
    static ModuleFactors module(String name, double[][]... matrices) {
        ScaledFactors[] terms = new ScaledFactors[matrices.length];
        for (int t = 0; t < matrices.length; t++) {
            terms[t] = matrixInput(t, 1, 1, matrices[t]);
        }
        return new ModuleFactors(name, matrices[0][0].length, matrices[0].length, List.of(terms));
    }

    /** Random factors: A ~ N(0, 1/dIn), B ~ N(0, 1). */
    static ScaledFactors randomInput(Random rng, int input, int rank, int dIn, int dOut, double weight, double scaling) {
        double[] a = new double[rank * dIn];
        double[] bt = new double[rank * dOut];
        for (int i = 0; i < a.length; i++) {
            a[i] = rng.nextGaussian() / Math.sqrt(dIn);
        }
        for (int i = 0; i < bt.length; i++) {
            bt[i] = rng.nextGaussian();
        }
        return new ScaledFactors(input, weight, scaling, rank, dIn, dOut, a, bt);
    }

    /**
     * The task vector {@code c B A} flattened row-major, each entry the documented fma chain
     * {@code sum_j (c b_j[o]) a_j[i]} over j ascending (what the dense merge computes).
     */
    static double[] taskVector(ScaledFactors f) {
        double c = f.coefficient();
        double[] v = new double[f.dOut() * f.dIn()];
        for (int o = 0; o < f.dOut(); o++) {
            for (int i = 0; i < f.dIn(); i++) {
                double acc = 0.0;
                for (int j = 0; j < f.rank(); j++) {
                    acc = Math.fma(c * f.bt()[j * f.dOut() + o], f.a()[j * f.dIn() + i], acc);
                }
                v[o * f.dIn() + i] = acc;
            }
        }
        return v;
    }

    /** Flattens a matrix row-major. */
    static double[] flat(double[][] m) {
        double[] out = new double[m.length * m[0].length];
        for (int r = 0; r < m.length; r++) {
            System.arraycopy(m[r], 0, out, r * m[0].length, m[0].length);
        }
        return out;
    }

    /** Largest absolute entry difference. */
    static double maxDiff(double[] x, double[] y) {
        if (x.length != y.length) {
            throw new AssertionError("lengths " + x.length + " and " + y.length);
        }
        double d = 0;
        for (int i = 0; i < x.length; i++) {
            d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }
}
