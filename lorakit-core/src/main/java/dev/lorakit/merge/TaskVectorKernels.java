package dev.lorakit.merge;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised forms of the per-entry rules of {@link TaskVectorRules}, for the dense merge's
 * blocks of task vectors. Each lane does exactly the scalar rule's arithmetic in the same task
 * order (lane-wise adds only, no cross-lane reductions), so the results equal the scalar rules
 * bit for bit whatever the vector width or JIT tier.
 */
final class TaskVectorKernels {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final VectorSpecies<Long> LS = LongVector.SPECIES_PREFERRED;
    private static final long GOLDEN = 0x9e3779b97f4a7c15L;

    private TaskVectorKernels() {
    }

    /**
     * Zeroes the entries of {@code block} (flat indexes base + e, e < len) that {@code cut} drops
     * ({@link TaskVectorRules.MagnitudeCut#keeps}); returns how many it keeps.
     */
    static long trim(double[] block, int base, int len, TaskVectorRules.MagnitudeCut cut) {
        double threshold = cut.threshold();
        DoubleVector th = DoubleVector.broadcast(S, threshold);
        DoubleVector zero = DoubleVector.zero(S);
        long kept = 0;
        int e = 0;
        for (; e + L <= len; e += L) {
            DoubleVector v = DoubleVector.fromArray(S, block, e);
            DoubleVector m = v.abs();
            if (m.compare(VectorOperators.EQ, th).anyTrue()) {
                kept += trimScalar(block, base, e, e + L, cut); // a tie at the cut: rare
                continue;
            }
            VectorMask<Double> keep = m.compare(VectorOperators.GT, th);
            kept += keep.trueCount();
            zero.blend(v, keep).intoArray(block, e);
        }
        return kept + trimScalar(block, base, e, len, cut);
    }

    private static long trimScalar(double[] block, int base, int from, int to, TaskVectorRules.MagnitudeCut cut) {
        long kept = 0;
        for (int e = from; e < to; e++) {
            if (cut.keeps(block[e], base + e)) {
                kept++;
            } else {
                block[e] = 0.0;
            }
        }
        return kept;
    }

    /**
     * DARE on a block: entry e (flat index base + e) kept if
     * {@link TaskVectorRules#dareKeeps}{@code (maskSeed, base + e, density)} and then divided by
     * density, else 0; returns how many it keeps. The draw {@code u = (bits >>> 11) 2^-53 < density}
     * is evaluated as the equivalent integer test {@code bits >>> 11 < ceil(density 2^53)}.
     */
    static long dropAndRescale(double[] block, int base, int len, long maskSeed, double density) {
        if (LS.length() != L) {
            return dropScalar(block, base, 0, len, maskSeed, density);
        }
        long limit = (long) Math.ceil(density * 0x1.0p53);
        LongVector lanes = LongVector.zero(LS).addIndex(1);
        DoubleVector zero = DoubleVector.zero(S);
        long kept = 0;
        int e = 0;
        for (; e + L <= len; e += L) {
            LongVector index = lanes.add(base + e + 1L);
            LongVector z = index.mul(GOLDEN).add(maskSeed);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 30)).mul(0xbf58476d1ce4e5b9L);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 27)).mul(0x94d049bb133111ebL);
            z = z.lanewise(VectorOperators.XOR, z.lanewise(VectorOperators.LSHR, 31));
            VectorMask<Double> keep = z.lanewise(VectorOperators.LSHR, 11).compare(VectorOperators.LT, limit).cast(S);
            kept += keep.trueCount();
            DoubleVector v = DoubleVector.fromArray(S, block, e);
            zero.blend(v.div(density), keep).intoArray(block, e);
        }
        return kept + dropScalar(block, base, e, len, maskSeed, density);
    }

    private static long dropScalar(double[] block, int base, int from, int to, long maskSeed, double density) {
        long kept = 0;
        for (int e = from; e < to; e++) {
            if (TaskVectorRules.dareKeeps(maskSeed, base + e, density)) {
                kept++;
                block[e] = block[e] / density;
            } else {
                block[e] = 0.0;
            }
        }
        return kept;
    }

    /**
     * Per entry e < len, over the n blocks: {@code out[outOff + e]} = the sum of the values
     * ({@code disjoint} false; {@link TaskVectorRules#sum}) or their disjoint mean under the
     * elected sign ({@link TaskVectorRules#electSign}, {@link TaskVectorRules#disjointMean}).
     * Returns {entries with a nonzero value, entries whose nonzero values share a sign}.
     */
    static long[] combine(double[][] blocks, int n, int len, boolean disjoint, MergeOptions.MajoritySign mode,
                          double[] out, int outOff) {
        boolean byValue = !disjoint || mode == MergeOptions.MajoritySign.TOTAL;
        DoubleVector zero = DoubleVector.zero(S);
        DoubleVector one = DoubleVector.broadcast(S, 1.0);
        DoubleVector minusOne = DoubleVector.broadcast(S, -1.0);
        long nonzero = 0;
        long agreeing = 0;
        int e = 0;
        for (; e + L <= len; e += L) {
            DoubleVector total = zero;
            VectorMask<Double> pos = S.maskAll(false);
            VectorMask<Double> neg = S.maskAll(false);
            for (int t = 0; t < n; t++) {
                DoubleVector v = DoubleVector.fromArray(S, blocks[t], e);
                VectorMask<Double> p = v.compare(VectorOperators.GT, 0.0);
                VectorMask<Double> q = v.compare(VectorOperators.LT, 0.0);
                total = total.add(byValue ? v : zero.blend(one, p).blend(minusOne, q));
                pos = pos.or(p);
                neg = neg.or(q);
            }
            nonzero += pos.or(neg).trueCount();
            agreeing += pos.or(neg).andNot(pos.and(neg)).trueCount();
            if (!disjoint) {
                total.intoArray(out, outOff + e);
                continue;
            }
            DoubleVector elected = one.blend(minusOne, total.compare(VectorOperators.LT, 0.0)); // 0 elects +
            DoubleVector sum = zero;
            DoubleVector count = zero;
            for (int t = 0; t < n; t++) {
                DoubleVector v = DoubleVector.fromArray(S, blocks[t], e);
                VectorMask<Double> agrees = v.mul(elected).compare(VectorOperators.GT, 0.0);
                sum = sum.add(v, agrees);
                count = count.add(one, agrees);
            }
            VectorMask<Double> some = count.compare(VectorOperators.GT, 0.0);
            zero.blend(sum.div(count), some).intoArray(out, outOff + e);
        }
        double[] column = new double[n];
        for (; e < len; e++) {
            for (int t = 0; t < n; t++) {
                column[t] = blocks[t][e];
            }
            boolean any = false;
            for (int t = 0; t < n; t++) {
                any |= column[t] != 0;
            }
            if (any) {
                nonzero++;
                if (TaskVectorRules.signsAgree(column, n)) {
                    agreeing++;
                }
            }
            if (disjoint) {
                out[outOff + e] = TaskVectorRules.disjointMean(column, n, TaskVectorRules.electSign(column, n, mode));
            } else {
                double s = 0;
                for (int t = 0; t < n; t++) {
                    s += column[t];
                }
                out[outOff + e] = s;
            }
        }
        return new long[] {nonzero, agreeing};
    }
}
