package dev.lorakit.merge;

import java.util.Arrays;

/**
 * Finds every task vector's magnitude cut ({@link TaskVectorRules#magnitudeCut}: keep the
 * {@code keep} largest |values|, ties to the lower index) without holding a dense task vector:
 * a radix selection on the bits of |v| over passes that regenerate the task blocks in index
 * order. Non-negative doubles order like their bit patterns, so
 * <ol>
 * <li>a histogram of the top 18 bits (bits 62..45, 1 MiB of counts per task) finds the bucket
 * holding the keep-th largest entry and how many entries lie above it;</li>
 * <li>while that bucket holds more than {@value #MAX_CANDIDATES} entries (degenerate inputs:
 * many equal values) the next 18 bits are histogrammed inside it (at most 4 levels);</li>
 * <li>one more pass collects the bucket's entries (bits and index, 12 bytes each) and sorts the
 * bits: the threshold and how many equal entries to keep follow; the tie index is the
 * needed-th equal entry in index order. If the bucket is a single value (all bits fixed), that
 * pass only counts equal entries in index order.</li>
 * </ol>
 * Typical cost: 2 generation passes per task vector, memory 1 MiB of counts plus the bucket
 * (about 0.4 % of the entries) per task vector.
 */
final class MagnitudeSelection {
    /** Largest bucket collected as candidates (12 bytes each). */
    static final int MAX_CANDIDATES = 1 << 19;
    /** The bit shifts after each histogram level: 18 + 18 + 18 + 9 bits of the 63 magnitude bits. */
    private static final int[] SHIFTS = {45, 27, 9, 0};

    private MagnitudeSelection() {
    }

    /** The cut of every task vector of {@code blocks} keeping {@code keep} of its dOut x dIn entries. */
    static TaskVectorRules.MagnitudeCut[] find(TaskBlocks blocks, int dOut, int dIn, long keep) {
        int n = blocks.count();
        long size = (long) dOut * dIn;
        TaskVectorRules.MagnitudeCut[] cuts = new TaskVectorRules.MagnitudeCut[n];
        if (keep >= size || keep <= 0) {
            Arrays.fill(cuts, keep >= size ? TaskVectorRules.MagnitudeCut.ALL : TaskVectorRules.MagnitudeCut.NONE);
            return cuts;
        }
        // Per task: the fixed high bits (prefix, valid above `shift`), entries above the bucket, entries in it.
        long[] prefix = new long[n];
        int[] shift = new int[n];
        long[] above = new long[n];
        long[] inBucket = new long[n];
        Arrays.fill(shift, 63);
        Arrays.fill(inBucket, size);
        for (int level = 0; level < SHIFTS.length; level++) {
            boolean[] active = new boolean[n];
            boolean any = false;
            for (int t = 0; t < n; t++) {
                active[t] = inBucket[t] > MAX_CANDIDATES && shift[t] > 0;
                any |= active[t];
            }
            if (!any) {
                break;
            }
            // Every active task has been active at every earlier level: they share the shift.
            int curShift = level == 0 ? 63 : SHIFTS[level - 1];
            int newShift = SHIFTS[level];
            int width = curShift - newShift;
            int[][] hist = new int[n][];
            for (int t = 0; t < n; t++) {
                if (active[t]) {
                    hist[t] = new int[1 << width];
                }
            }
            long mask = (1L << width) - 1;
            scan(blocks, dOut, dIn, active, (t, base, block, len) -> {
                int[] h = hist[t];
                long p = prefix[t];
                for (int e = 0; e < len; e++) {
                    long bits = Double.doubleToRawLongBits(Math.abs(block[e]));
                    if ((bits >>> curShift) == p) {
                        h[(int) ((bits >>> newShift) & mask)]++;
                    }
                }
            });
            for (int t = 0; t < n; t++) {
                if (!active[t]) {
                    continue;
                }
                long cum = above[t];
                int b = hist[t].length - 1;
                while (cum + hist[t][b] < keep) {
                    cum += hist[t][b];
                    b--;
                }
                above[t] = cum;
                inBucket[t] = hist[t][b];
                prefix[t] = (prefix[t] << width) | b;
                shift[t] = newShift;
            }
        }
        finish(blocks, dOut, dIn, keep, prefix, shift, above, inBucket, cuts);
        return cuts;
    }

    /** The last pass: collect each bucket (or count ties of a fully fixed value) and set the cuts. */
    private static void finish(TaskBlocks blocks, int dOut, int dIn, long keep, long[] prefix, int[] shift,
                               long[] above, long[] inBucket, TaskVectorRules.MagnitudeCut[] cuts) {
        int n = blocks.count();
        long[][] bits = new long[n][];
        int[][] index = new int[n][];
        int[] filled = new int[n];
        long[] tiesSeen = new long[n];
        long[] tieIndex = new long[n];
        Arrays.fill(tieIndex, -1);
        boolean[] active = new boolean[n];
        Arrays.fill(active, true);
        for (int t = 0; t < n; t++) {
            if (shift[t] > 0) {
                bits[t] = new long[(int) inBucket[t]];
                index[t] = new int[(int) inBucket[t]];
            }
        }
        scan(blocks, dOut, dIn, active, (t, base, block, len) -> {
            int sh = shift[t];
            long p = prefix[t];
            for (int e = 0; e < len; e++) {
                long b = Double.doubleToRawLongBits(Math.abs(block[e]));
                if ((b >>> sh) != p) {
                    continue;
                }
                if (sh > 0) {
                    bits[t][filled[t]] = b;
                    index[t][filled[t]++] = (int) (base + e);
                } else if (++tiesSeen[t] == keep - above[t]) {
                    tieIndex[t] = base + e;
                }
            }
        });
        for (int t = 0; t < n; t++) {
            long need = keep - above[t];
            if (shift[t] == 0) {
                cuts[t] = new TaskVectorRules.MagnitudeCut(Double.longBitsToDouble(prefix[t]), tieIndex[t]);
                continue;
            }
            long[] sorted = Arrays.copyOf(bits[t], filled[t]);
            Arrays.sort(sorted);
            long cut = sorted[(int) (sorted.length - need)];
            long greater = 0;
            for (long b : sorted) {
                if (b > cut) {
                    greater++;
                }
            }
            long ties = need - greater;
            long seen = 0;
            long last = -1;
            for (int c = 0; c < filled[t]; c++) { // collected in index order
                if (bits[t][c] == cut && ++seen == ties) {
                    last = index[t][c];
                    break;
                }
            }
            cuts[t] = new TaskVectorRules.MagnitudeCut(Double.longBitsToDouble(cut), last);
        }
    }

    /** Receives one block of task t: entries [base, base + len) in row-major index order. */
    @FunctionalInterface
    private interface BlockVisitor {
        void visit(int t, long base, double[] block, int len);
    }

    /** One generation pass over the active task vectors, block by block in index order. */
    private static void scan(TaskBlocks blocks, int dOut, int dIn, boolean[] active, BlockVisitor visitor) {
        int rowsPerBlock = blocks.blockRows();
        double[] block = new double[rowsPerBlock * dIn];
        for (int t = 0; t < active.length; t++) {
            if (!active[t]) {
                continue;
            }
            for (int row0 = 0; row0 < dOut; row0 += rowsPerBlock) {
                int rows = Math.min(rowsPerBlock, dOut - row0);
                blocks.generate(t, row0, rows, block);
                visitor.visit(t, (long) row0 * dIn, block, rows * dIn);
            }
        }
    }
}
