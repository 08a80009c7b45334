package dev.lorakit.merge;

import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** Dense references for merge tests: a module's dW from files, exact weighted sums, norms. */
final class MergeFixtures {
    private MergeFixtures() {
    }

    /** scaling * B A of a module as dense [out, in] float64. */
    static double[] dense(LoraModule m) {
        int r = m.rank();
        int in = m.inFeatures();
        int out = m.outFeatures();
        double[] w = new double[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) {
                    s += (double) m.b().getFloat((long) o * r + k) * m.a().getFloat((long) k * in + i);
                }
                w[o * in + i] = m.scaling() * s;
            }
        }
        return w;
    }

    /** sum_t w_t dW_t of module {@code name} over the adapters that have it (zeros if none; size from the first). */
    static double[] weightedSum(List<Path> adapters, List<Double> weights, String name) {
        double[] sum = null;
        for (int t = 0; t < adapters.size(); t++) {
            try (LoraAdapter a = LoraAdapter.open(adapters.get(t))) {
                if (a.find(name).isEmpty()) {
                    continue;
                }
                double[] d = dense(a.module(name));
                if (sum == null) {
                    sum = new double[d.length];
                }
                for (int i = 0; i < d.length; i++) {
                    sum[i] += weights.get(t) * d[i];
                }
            }
        }
        return sum;
    }

    /** ||x - y||_F / ||y||_F. */
    static double relativeError(double[] x, double[] y) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < x.length; i++) {
            num += (x[i] - y[i]) * (x[i] - y[i]);
            den += y[i] * y[i];
        }
        return Math.sqrt(num / den);
    }

    /** Random module factors: n inputs with the given ranks, coefficients w_t * s_t from the arrays. */
    static ModuleFactors randomModule(long seed, int dIn, int dOut, int[] ranks, double[] weights, double[] scalings) {
        Random rng = new Random(seed);
        java.util.List<ScaledFactors> terms = new java.util.ArrayList<>();
        for (int t = 0; t < ranks.length; t++) {
            double[] a = new double[ranks[t] * dIn];
            double[] bt = new double[ranks[t] * dOut];
            for (int i = 0; i < a.length; i++) {
                a[i] = rng.nextGaussian() / Math.sqrt(dIn);
            }
            for (int i = 0; i < bt.length; i++) {
                bt[i] = rng.nextGaussian() * 0.1;
            }
            terms.add(new ScaledFactors(t, weights[t], scalings[t], ranks[t], dIn, dOut, a, bt));
        }
        return new ModuleFactors("m", dIn, dOut, terms);
    }
}
