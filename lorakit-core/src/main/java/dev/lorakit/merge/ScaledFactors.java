package dev.lorakit.merge;

/**
 * One input adapter's LoRA of one module, read into float64, with the coefficient its update
 * enters the merge with: {@code coefficient * B A}, coefficient = user weight x the adapter's
 * own scaling for this module (alpha / r, alpha / sqrt(r) with rsLoRA, after the patterns).
 *
 * <p>Both factors are stored as r rows: row i of {@code a} is a_i (row i of PEFT's lora_A) and
 * row i of {@code bt} is b_i (column i of PEFT's lora_B), so MSU i is [a_i ; b_i] and
 * {@code B A = sum_i b_i a_i^T}.
 *
 * @param input index of the adapter in command-line order
 * @param weight the user's weight w for this adapter (1 by default)
 * @param scaling the adapter's own scaling s for this module
 * @param rank r
 * @param dIn input features (columns of A)
 * @param dOut output features (rows of B)
 * @param a A [r, dIn], row-major
 * @param bt B transposed [r, dOut], row-major
 */
public record ScaledFactors(int input, double weight, double scaling, int rank, int dIn, int dOut, double[] a,
                            double[] bt) {
    public ScaledFactors {
        if (rank < 1 || dIn < 1 || dOut < 1) {
            throw new IllegalArgumentException("rank " + rank + ", dIn " + dIn + ", dOut " + dOut + " must be positive");
        }
        if (a.length != (long) rank * dIn || bt.length != (long) rank * dOut) {
            throw new IllegalArgumentException("factor arrays of length " + a.length + " and " + bt.length
                    + " do not match rank " + rank + " x (" + dIn + ", " + dOut + ")");
        }
    }

    /** The coefficient this adapter's {@code B A} enters the exact sum with: weight x scaling. */
    public double coefficient() {
        return weight * scaling;
    }
}
