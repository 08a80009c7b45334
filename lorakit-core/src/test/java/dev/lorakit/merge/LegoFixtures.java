package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded module fixtures and an explicit (dense, plain loops) LoRA-LEGO reference for the lego tests. */
final class LegoFixtures {
    private LegoFixtures() {
    }

    /** One input's factors: A entries N(0, 1/dIn), B entries N(0, 0.25). */
    static ScaledFactors term(Random rng, int input, double weight, double scaling, int rank, int dIn, int dOut) {
        double[] a = new double[rank * dIn];
        double[] bt = new double[rank * dOut];
        for (int i = 0; i < a.length; i++) {
            a[i] = rng.nextGaussian() / Math.sqrt(dIn);
        }
        for (int i = 0; i < bt.length; i++) {
            bt[i] = 0.5 * rng.nextGaussian();
        }
        return new ScaledFactors(input, weight, scaling, rank, dIn, dOut, a, bt);
    }

    /** A module with one input per rank, the given weights and scalings. */
    static ModuleFactors module(long seed, int dIn, int dOut, int[] ranks, double[] weights, double[] scalings) {
        Random rng = new Random(seed);
        List<ScaledFactors> terms = new ArrayList<>();
        for (int t = 0; t < ranks.length; t++) {
            terms.add(term(rng, t, weights[t], scalings[t], ranks[t], dIn, dOut));
        }
        return new ModuleFactors("m", dIn, dOut, terms);
    }

    /** The same module with every input's a_i and b_i replaced by {@code aScale[row] a_i}, {@code bScale[row] b_i} (pool row order). */
    static ModuleFactors rescaleRows(ModuleFactors m, double[] aScale, double[] bScale) {
        List<ScaledFactors> terms = new ArrayList<>();
        int row = 0;
        for (ScaledFactors t : m.terms()) {
            double[] a = t.a().clone();
            double[] bt = t.bt().clone();
            for (int i = 0; i < t.rank(); i++, row++) {
                for (int c = 0; c < m.dIn(); c++) {
                    a[i * m.dIn() + c] *= aScale[row];
                }
                for (int c = 0; c < m.dOut(); c++) {
                    bt[i * m.dOut() + c] *= bScale[row];
                }
            }
            terms.add(new ScaledFactors(t.input(), t.weight(), t.scaling(), t.rank(), t.dIn(), t.dOut(), a, bt));
        }
        return new ModuleFactors(m.name(), m.dIn(), m.dOut(), terms);
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    static double[] doubles(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asDouble();
        }
        return out;
    }

    /**
     * LoRA-LEGO steps 1 and 3-5 written out densely for a given clustering (no preprocessing):
     * pool vectors [sqrt|f| a ; sign(f) sqrt|f| b] with f = w s / s_ref, centroids as means,
     * gamma from the chosen norm, rho, and
     * {@code dW = s_ref rho sum_j gamma_j^2 bbar_j abar_j^T} as a dense [dOut, dIn] matrix.
     */
    static double[] referenceDense(ModuleFactors m, int[] labels, int k, MergeOptions o) {
        int dIn = m.dIn();
        int dOut = m.dOut();
        int n = m.totalRank();
        double sRef = 1;
        for (ScaledFactors t : m.terms()) {
            if (t.scaling() != 0) {
                sRef = t.scaling();
                break;
            }
        }
        double[][] pool = new double[n][dIn + dOut];
        int row = 0;
        for (ScaledFactors t : m.terms()) {
            double f = t.weight() * t.scaling() / sRef;
            for (int i = 0; i < t.rank(); i++, row++) {
                for (int c = 0; c < dIn; c++) {
                    pool[row][c] = Math.sqrt(Math.abs(f)) * t.a()[i * dIn + c];
                }
                for (int c = 0; c < dOut; c++) {
                    pool[row][dIn + c] = Math.signum(f) * Math.sqrt(Math.abs(f)) * t.bt()[i * dOut + c];
                }
            }
        }
        double[][] mu = new double[k][dIn + dOut];
        int[] size = new int[k];
        double[] normSum = new double[k];
        for (int i = 0; i < n; i++) {
            size[labels[i]]++;
            normSum[labels[i]] += norm(pool[i], o.paramNorm());
            for (int c = 0; c < dIn + dOut; c++) {
                mu[labels[i]][c] += pool[i][c];
            }
        }
        for (int j = 0; j < k; j++) {
            for (int c = 0; c < dIn + dOut; c++) {
                mu[j][c] /= size[j];
            }
        }
        double rho = !o.outputReweight() ? 1
                : o.outputFactor() == MergeOptions.OutputFactor.SQRT_R_OVER_K
                ? Math.sqrt((double) n / m.terms().size() / k) : Math.sqrt((double) n / k);
        double[] w = new double[dOut * dIn];
        for (int j = 0; j < k; j++) {
            double gamma = !o.paramReweight() || size[j] == 1 ? 1 : normSum[j] / size[j] / norm(mu[j], o.paramNorm());
            for (int r = 0; r < dOut; r++) {
                for (int c = 0; c < dIn; c++) {
                    w[r * dIn + c] += sRef * rho * gamma * gamma * mu[j][dIn + r] * mu[j][c];
                }
            }
        }
        return w;
    }

    static double norm(double[] v, MergeOptions.Norm norm) {
        double acc = 0;
        for (double x : v) {
            acc = norm == MergeOptions.Norm.INF ? Math.max(acc, Math.abs(x)) : acc + x * x;
        }
        return norm == MergeOptions.Norm.INF ? acc : Math.sqrt(acc);
    }

    /** ||actual - expected||_F <= rel * ||expected||_F. */
    static void assertDenseClose(double[] expected, double[] actual, double rel, String what) {
        assertEquals(expected.length, actual.length, what + ": size");
        double diff = 0;
        double ref = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            ref += expected[i] * expected[i];
        }
        assertTrue(ref > 0, what + ": zero reference");
        assertTrue(Math.sqrt(diff) <= rel * Math.sqrt(ref),
                what + ": relative difference " + Math.sqrt(diff / ref) + " > " + rel);
    }
}
