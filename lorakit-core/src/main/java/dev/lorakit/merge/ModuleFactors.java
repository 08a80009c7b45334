package dev.lorakit.merge;

import java.util.List;

/**
 * Everything a merge method sees of one module (e.g. {@code model.layers.7.self_attn.q_proj}):
 * the LoRAs of the input adapters that have it, in command-line order. The update every method
 * approximates is the exact weighted sum {@code sum_t coefficient_t * B_t A_t} [dOut, dIn].
 *
 * @param name module name relative to the base model
 * @param dIn input features
 * @param dOut output features
 * @param terms the inputs that have this module (at least one)
 */
public record ModuleFactors(String name, int dIn, int dOut, List<ScaledFactors> terms) {
    public ModuleFactors {
        terms = List.copyOf(terms);
        if (terms.isEmpty()) {
            throw new IllegalArgumentException(name + ": a module to merge needs at least one input");
        }
        for (ScaledFactors t : terms) {
            if (t.dIn() != dIn || t.dOut() != dOut) {
                throw new IllegalArgumentException(name + ": input " + t.input() + " is [" + t.dOut() + ", " + t.dIn()
                        + "], expected [" + dOut + ", " + dIn + "]");
            }
        }
    }

    /** N: the total rank of the inputs (the number of MSUs in the pool). */
    public int totalRank() {
        int n = 0;
        for (ScaledFactors t : terms) {
            n += t.rank();
        }
        return n;
    }

    /** The largest rank among the inputs. */
    public int maxRank() {
        int m = 0;
        for (ScaledFactors t : terms) {
            m = Math.max(m, t.rank());
        }
        return m;
    }

    /** The exact update as one low-rank product (concatenation of the scaled factors): rank N. */
    public LowRankUpdate exactSum() {
        int n = totalRank();
        double[] a = new double[n * dIn];
        double[] bt = new double[n * dOut];
        int row = 0;
        for (ScaledFactors t : terms) {
            double c = t.coefficient();
            System.arraycopy(t.a(), 0, a, row * dIn, t.rank() * dIn);
            for (int i = 0; i < t.rank() * dOut; i++) {
                bt[row * dOut + i] = c * t.bt()[i];
            }
            row += t.rank();
        }
        return new LowRankUpdate(n, dIn, dOut, a, bt);
    }

    /** The exact update as a dense [dOut, dIn] row-major matrix (for methods that need it, one module at a time). */
    public double[] denseSum() {
        return exactSum().dense();
    }
}
