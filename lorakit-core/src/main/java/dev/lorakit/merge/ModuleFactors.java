package dev.lorakit.merge;

import dev.lorakit.tensor.kernel.RowProducts;
import java.util.List;

/**
 * Everything a merge method sees of one module (e.g. {@code model.layers.7.self_attn.q_proj}):
 * the LoRAs of the input adapters that have it, in command-line order. The update every method
 * approximates is the exact weighted sum {@code sum_t coefficient_t * B_t A_t} [dOut, dIn].
 *
 * <p>Not thread-safe: the exact sum and its Gram matrices are computed on first use and cached;
 * one module is merged by one thread.
 */
public final class ModuleFactors {
    private final String name;
    private final int dIn;
    private final int dOut;
    private final List<ScaledFactors> terms;
    private LowRankUpdate exact;
    private double[] gramA;
    private double[] gramB;

    public ModuleFactors(String name, int dIn, int dOut, List<ScaledFactors> terms) {
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
        this.name = name;
        this.dIn = dIn;
        this.dOut = dOut;
        this.terms = terms;
    }

    /** Module name relative to the base model. */
    public String name() {
        return name;
    }

    /** Input features. */
    public int dIn() {
        return dIn;
    }

    /** Output features. */
    public int dOut() {
        return dOut;
    }

    /** The inputs that have this module, in command-line order. */
    public List<ScaledFactors> terms() {
        return terms;
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

    /**
     * The exact update as one low-rank product (concatenation of the scaled factors): rank N.
     * Computed once and shared: callers must not modify its arrays.
     */
    public LowRankUpdate exactSum() {
        if (exact == null) {
            exact = concatenate();
        }
        return exact;
    }

    /** N x N inner products of the exact sum's a rows, {@code A A^T} (computed once; do not modify). */
    public double[] gramA() {
        if (gramA == null) {
            LowRankUpdate e = exactSum();
            gramA = new double[e.rank() * e.rank()];
            RowProducts.gram(e.a(), e.rank(), dIn, gramA);
        }
        return gramA;
    }

    /** N x N inner products of the exact sum's b rows (coefficients folded in), {@code B^T B} (computed once; do not modify). */
    public double[] gramB() {
        if (gramB == null) {
            LowRankUpdate e = exactSum();
            gramB = new double[e.rank() * e.rank()];
            RowProducts.gram(e.bt(), e.rank(), dOut, gramB);
        }
        return gramB;
    }

    private LowRankUpdate concatenate() {
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
