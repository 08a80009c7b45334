package dev.lorakit.merge;

import dev.lorakit.BadInputException;

/**
 * Every option of every merge method, with the defaults the CLI documents. A method reads the
 * options it has and ignores the rest; {@link #rank} and {@link #density} are null when the user
 * left them to the method's default.
 *
 * @param rank output rank K (lego: number of clusters k); null = the method's default
 * @param density fraction of entries kept by ties / dare / magnitude, in (0, 1]; null = method default
 * @param seed seed of every random choice (k-means++ seeding, DARE masks)
 * @param nInit lego: k-means restarts, the lowest inertia wins
 * @param maxIter lego: k-means iterations per restart
 * @param tol lego: stop when the relative centroid shift falls below this
 * @param paramReweight lego: parameter reweighting (gamma_j) on
 * @param paramNorm lego: the norm gamma_j compares
 * @param outputReweight lego: output reweighting (rho) on
 * @param outputFactor lego: how rho is computed
 * @param signCanonical lego: flip each MSU's sign so that its largest-magnitude a entry is positive before clustering
 * @param balanceAb lego: rescale each MSU so that ||a_i|| = ||b_i|| before clustering
 * @param majoritySign ties / dare-ties / knots: how the elected sign is chosen
 * @param knotsMerge knots: how the aligned V blocks are merged
 */
public record MergeOptions(Integer rank, Double density, long seed, int nInit, int maxIter, double tol,
                           boolean paramReweight, Norm paramNorm, boolean outputReweight, OutputFactor outputFactor,
                           boolean signCanonical, boolean balanceAb, MajoritySign majoritySign, KnotsMerge knotsMerge) {

    /** The norm compared by LoRA-LEGO's parameter reweighting. */
    public enum Norm { INF, L2 }

    /** LoRA-LEGO's output reweighting factor rho: sqrt(r_ref / k) (the paper) or sqrt(N / k). */
    public enum OutputFactor { SQRT_R_OVER_K, SQRT_N_OVER_K }

    /** TIES sign election: the sign of the summed values (total) or of the count of signs (frequency). */
    public enum MajoritySign { TOTAL, FREQUENCY }

    /** How KnOTS merges the aligned per-input V blocks: TIES or a plain (weighted) average. */
    public enum KnotsMerge { TIES, MEAN }

    public MergeOptions {
        if (rank != null && rank < 1) {
            throw new BadInputException("--rank: must be at least 1, got " + rank);
        }
        if (density != null && !(density > 0 && density <= 1)) {
            throw new BadInputException("--density: must be in (0, 1], got " + density);
        }
        if (nInit < 1) {
            throw new BadInputException("--n-init: must be at least 1, got " + nInit);
        }
        if (maxIter < 1) {
            throw new BadInputException("--max-iter: must be at least 1, got " + maxIter);
        }
        if (!(tol >= 0) || Double.isInfinite(tol)) {
            throw new BadInputException("--tol: must be a finite number >= 0, got " + tol);
        }
    }

    /** The defaults (paper-faithful for lego): method-default rank and density, seed 0. */
    public static MergeOptions defaults() {
        return new MergeOptions(null, null, 0L, 10, 300, 1e-4, true, Norm.INF, true, OutputFactor.SQRT_R_OVER_K,
                false, false, MajoritySign.TOTAL, KnotsMerge.TIES);
    }

    /** These options with output rank (lego: k) set. */
    public MergeOptions withRank(Integer k) {
        return new MergeOptions(k, density, seed, nInit, maxIter, tol, paramReweight, paramNorm, outputReweight,
                outputFactor, signCanonical, balanceAb, majoritySign, knotsMerge);
    }

    /** These options with density set. */
    public MergeOptions withDensity(Double d) {
        return new MergeOptions(rank, d, seed, nInit, maxIter, tol, paramReweight, paramNorm, outputReweight,
                outputFactor, signCanonical, balanceAb, majoritySign, knotsMerge);
    }

    /** These options with seed set. */
    public MergeOptions withSeed(long s) {
        return new MergeOptions(rank, density, s, nInit, maxIter, tol, paramReweight, paramNorm, outputReweight,
                outputFactor, signCanonical, balanceAb, majoritySign, knotsMerge);
    }

    /** These options with LoRA-LEGO's k-means settings. */
    public MergeOptions withKMeans(int restarts, int iterations, double tolerance) {
        return new MergeOptions(rank, density, seed, restarts, iterations, tolerance, paramReweight, paramNorm,
                outputReweight, outputFactor, signCanonical, balanceAb, majoritySign, knotsMerge);
    }

    /** These options with LoRA-LEGO's reweighting settings. */
    public MergeOptions withReweighting(boolean param, Norm norm, boolean output, OutputFactor factor) {
        return new MergeOptions(rank, density, seed, nInit, maxIter, tol, param, norm, output, factor, signCanonical,
                balanceAb, majoritySign, knotsMerge);
    }

    /** These options with LoRA-LEGO's MSU preprocessing settings. */
    public MergeOptions withPreprocessing(boolean canonicalSigns, boolean balance) {
        return new MergeOptions(rank, density, seed, nInit, maxIter, tol, paramReweight, paramNorm, outputReweight,
                outputFactor, canonicalSigns, balance, majoritySign, knotsMerge);
    }

    /** These options with the TIES sign election and KnOTS merge rule set. */
    public MergeOptions withSignElection(MajoritySign sign, KnotsMerge knots) {
        return new MergeOptions(rank, density, seed, nInit, maxIter, tol, paramReweight, paramNorm, outputReweight,
                outputFactor, signCanonical, balanceAb, sign, knots);
    }
}
