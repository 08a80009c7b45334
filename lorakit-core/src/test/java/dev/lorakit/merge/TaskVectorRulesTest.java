package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.merge.MergeOptions.MajoritySign;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TaskVectorRulesTest {
    // The three trimmed task vectors of the TIES example (TiesMergeTest), flattened 2 x 3.
    private static final double[] T1 = {0, -2, 0, 3, 0, -4};
    private static final double[] T2 = {-1.5, 1, 2.5, 0, 0, 0};
    private static final double[] T3 = {2, 0, 0, -1, 0, -3};

    @Test
    void keepCountIsPeftsFlooredProduct() {
        assertEquals(3, TaskVectorRules.keepCount(6, 0.5));
        assertEquals(6, TaskVectorRules.keepCount(6, 1.0));
        assertEquals(0, TaskVectorRules.keepCount(6, 0.1));          // int(0.6) = 0
        assertEquals(28, TaskVectorRules.keepCount(100, 0.29));      // 0.29 * 100 = 28.999999999999996
        assertEquals(7, TaskVectorRules.keepCount(10, 0.7));         // 7.000000000000001
        assertEquals(2, TaskVectorRules.keepCount(6, 1.0 / 3));
        assertThrows(IllegalArgumentException.class, () -> TaskVectorRules.keepCount(6, 0));
        assertThrows(IllegalArgumentException.class, () -> TaskVectorRules.keepCount(6, 1.5));
    }

    @Test
    void magnitudeTrimBreaksTiesTowardTheLowerIndex() {
        double[] v = {1, -1, 0.5, 1, -2};
        // keep int(0.6 * 5) = 3: |-2| first, then two of the three 1s: indexes 0 and 1, not 3
        TaskVectorRules.MagnitudeCut cut = TaskVectorRules.magnitudeCut(v, 0.6);
        assertEquals(new TaskVectorRules.MagnitudeCut(1.0, 1), cut);
        assertArrayEquals(new double[] {1, -1, 0, 0, -2}, TaskVectorRules.trim(v, 0.6));
        assertArrayEquals(v, TaskVectorRules.trim(v, 1.0));
        assertArrayEquals(new double[5], TaskVectorRules.trim(v, 0.1));
        assertEquals(TaskVectorRules.MagnitudeCut.ALL, TaskVectorRules.magnitudeCut(v, 1.0));
        assertEquals(TaskVectorRules.MagnitudeCut.NONE, TaskVectorRules.magnitudeCut(v, 0.1));
    }

    @Test
    void trimOfTheTiesExampleMatrices() {
        // D1 = [[1, -2, 0.5], [3, 0.1, -4]]: keep 3 -> -4, 3, -2
        assertArrayEquals(T1, TaskVectorRules.trim(new double[] {1, -2, 0.5, 3, 0.1, -4}, 0.5));
        // D2 = [[-1.5, 1, 2.5], [0.5, -0.2, 1]]: 2.5, -1.5, then the tie at 1: index 1 beats index 5
        assertArrayEquals(T2, TaskVectorRules.trim(new double[] {-1.5, 1, 2.5, 0.5, -0.2, 1}, 0.5));
        // D3 = [[2, 0.3, -0.2], [-1, 0.4, -3]]: -3, 2, -1
        assertArrayEquals(T3, TaskVectorRules.trim(new double[] {2, 0.3, -0.2, -1, 0.4, -3}, 0.5));
    }

    @Test
    void signElectionTotalAndFrequency() {
        double[][] tasks = {T1, T2, T3};
        // sums: 0.5, -1, 2.5, 2, 0, -7 -> + - + + + -   (a zero sum elects +)
        assertArrayEquals(new double[] {1, -1, 1, 1, 1, -1}, TaskVectorRules.electSigns(tasks, MajoritySign.TOTAL));
        // sign counts: 0, 0, 1, 0, 0, -2 -> + + + + + -
        assertArrayEquals(new double[] {1, 1, 1, 1, 1, -1}, TaskVectorRules.electSigns(tasks, MajoritySign.FREQUENCY));
    }

    @Test
    void disjointMergeAveragesTheAgreeingValues() {
        double[][] tasks = {T1, T2, T3};
        // total: [2 (only T3 is +), -2, 2.5, 3, 0 (none), (-4 - 3) / 2]
        assertArrayEquals(new double[] {2, -2, 2.5, 3, 0, -3.5},
                TaskVectorRules.disjointMerge(tasks, TaskVectorRules.electSigns(tasks, MajoritySign.TOTAL)));
        // frequency differs at index 1: + elected, only T2's 1 agrees
        assertArrayEquals(new double[] {2, 1, 2.5, 3, 0, -3.5},
                TaskVectorRules.disjointMerge(tasks, TaskVectorRules.electSigns(tasks, MajoritySign.FREQUENCY)));
        assertArrayEquals(new double[] {0.5, -1, 2.5, 2, 0, -7}, TaskVectorRules.sum(tasks));
    }

    @Test
    void signAgreementCountsOnlyNonzeroValues() {
        assertTrue(TaskVectorRules.signsAgree(new double[] {0, 2, 0, 1}, 4));
        assertTrue(TaskVectorRules.signsAgree(new double[] {0, 0}, 2));
        assertFalse(TaskVectorRules.signsAgree(new double[] {-1, 0, 1}, 3));
        assertTrue(TaskVectorRules.signsAgree(new double[] {-1, 0, 1}, 2)); // only the first n count
    }

    @Test
    void dareMasksAreSeededPerModuleAndInput() {
        double[] v = new double[200_000];
        java.util.Arrays.fill(v, 3.0);
        long seed = TaskVectorRules.dareMaskSeed(7, "layers.0.q", 0);
        double[] dropped = TaskVectorRules.dareDrop(v, 0.3, seed);
        int kept = 0;
        for (double d : dropped) {
            if (d != 0) {
                kept++;
                assertEquals(10.0, d, 1e-15); // 3 / 0.3
            }
        }
        // Binomial(200000, 0.3): standard deviation 205; 6 sigma
        assertEquals(60_000, kept, 1_230);
        assertArrayEquals(dropped, TaskVectorRules.dareDrop(v, 0.3, seed));
        assertNotEquals(seed, TaskVectorRules.dareMaskSeed(8, "layers.0.q", 0));
        assertNotEquals(seed, TaskVectorRules.dareMaskSeed(7, "layers.0.k", 0));
        assertNotEquals(seed, TaskVectorRules.dareMaskSeed(7, "layers.0.q", 1));
        assertArrayEquals(v, TaskVectorRules.dareDrop(v, 1.0, seed));
    }

    @Test
    void dareMaskOfTheWorkedExample() {
        // The masks DareMergeTest's hand-computed numbers use (seed 7, module layers.0.q, density 0.5).
        assertEquals("010110", mask(TaskVectorRules.dareMaskSeed(7, "layers.0.q", 0)));
        assertEquals("001101", mask(TaskVectorRules.dareMaskSeed(7, "layers.0.q", 1)));
        assertEquals("001011", mask(TaskVectorRules.dareMaskSeed(7, "layers.0.q", 2)));
    }

    private static String mask(long seed) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            sb.append(TaskVectorRules.dareKeeps(seed, i, 0.5) ? '1' : '0');
        }
        return sb.toString();
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void vectorKernelsEqualTheScalarRulesBitForBit(long seed) {
        Random rng = new Random(seed);
        int n = 1 + rng.nextInt(5);
        int len = 1000 + rng.nextInt(37);
        int base = rng.nextInt(5000);
        double[][] tasks = new double[n][len];
        for (double[] t : tasks) {
            for (int i = 0; i < len; i++) {
                t[i] = rng.nextDouble() < 0.4 ? 0.0 : Math.round(rng.nextGaussian() * 4) / 4.0; // zeros and ties
            }
        }
        // trim (with ties at the cut) and DARE, block at offset base of a longer vector
        for (double[] t : tasks) {
            TaskVectorRules.MagnitudeCut cut = TaskVectorRules.magnitudeCut(t, 0.3);
            double[] expected = new double[len];
            long kept = 0;
            for (int i = 0; i < len; i++) {
                if (cut.keeps(t[i], i)) {
                    expected[i] = t[i];
                    kept++;
                }
            }
            double[] block = t.clone();
            assertEquals(kept, TaskVectorKernels.trim(block, 0, len, cut));
            assertArrayEquals(expected, block);

            long maskSeed = rng.nextLong();
            double[] full = new double[base + len];
            System.arraycopy(t, 0, full, base, len);
            double[] dropped = TaskVectorRules.dareDrop(full, 0.37, maskSeed);
            block = t.clone();
            long keptDare = TaskVectorKernels.dropAndRescale(block, base, len, maskSeed, 0.37);
            assertArrayEquals(java.util.Arrays.copyOfRange(dropped, base, base + len), block);
            long expectedKept = 0;
            for (int i = 0; i < len; i++) {
                expectedKept += TaskVectorRules.dareKeeps(maskSeed, base + i, 0.37) ? 1 : 0;
            }
            assertEquals(expectedKept, keptDare);
        }
        // combine: sum and disjoint mean in both election modes, plus the agreement counts
        for (MajoritySign mode : MajoritySign.values()) {
            double[] out = new double[len + 3];
            long[] counts = TaskVectorKernels.combine(tasks, n, len, true, mode, out, 3);
            double[] expected = TaskVectorRules.disjointMerge(tasks, TaskVectorRules.electSigns(tasks, mode));
            assertArrayEquals(expected, java.util.Arrays.copyOfRange(out, 3, len + 3));
            assertArrayEquals(agreement(tasks, len), counts);
        }
        double[] out = new double[len];
        TaskVectorKernels.combine(tasks, n, len, false, MajoritySign.TOTAL, out, 0);
        assertArrayEquals(TaskVectorRules.sum(tasks), out);
    }

    private static long[] agreement(double[][] tasks, int len) {
        long nonzero = 0;
        long agreeing = 0;
        double[] column = new double[tasks.length];
        for (int i = 0; i < len; i++) {
            boolean any = false;
            for (int t = 0; t < tasks.length; t++) {
                column[t] = tasks[t][i];
                any |= column[t] != 0;
            }
            if (any) {
                nonzero++;
                agreeing += TaskVectorRules.signsAgree(column, tasks.length) ? 1 : 0;
            }
        }
        return new long[] {nonzero, agreeing};
    }

    @Test
    void streamedMagnitudeSelectionEqualsTheInMemoryCut() {
        Random rng = new Random(11);
        // 800 x 700 = 560000 entries > MAX_CANDIDATES: one histogram level, then the candidates
        ModuleFactors big = new ModuleFactors("m", 700, 800, List.of(
                TaskVectorFixtures.randomInput(rng, 0, 3, 700, 800, 1, 2),
                TaskVectorFixtures.randomInput(rng, 1, 5, 700, 800, -0.5, 1)));
        // 30 x 20: collected at once
        ModuleFactors small = new ModuleFactors("s", 20, 30, List.of(
                TaskVectorFixtures.randomInput(rng, 0, 2, 20, 30, 1, 1)));
        for (ModuleFactors m : List.of(big, small)) {
            for (double density : new double[] {0.01, 0.2, 0.5, 0.999}) {
                long keep = TaskVectorRules.keepCount((long) m.dIn() * m.dOut(), density);
                TaskVectorRules.MagnitudeCut[] cuts = MagnitudeSelection.find(new TaskBlocks(m), m.dOut(), m.dIn(), keep);
                for (int t = 0; t < m.terms().size(); t++) {
                    double[] v = TaskVectorFixtures.taskVector(m.terms().get(t));
                    assertEquals(TaskVectorRules.magnitudeCut(v, density), cuts[t], m.name() + " density " + density);
                }
            }
        }
    }

    @Test
    void streamedMagnitudeSelectionOnAllEqualMagnitudes() {
        // 1000 x 1000 entries, all of magnitude 1 (A, B entries +-1, rank 1): the bucket never
        // shrinks, so the selection refines every level down to the exact value and then keeps
        // the first 300000 entries in index order.
        Random rng = new Random(5);
        int d = 1000;
        double[] a = new double[d];
        double[] bt = new double[d];
        for (int i = 0; i < d; i++) {
            a[i] = rng.nextBoolean() ? 1 : -1;
            bt[i] = rng.nextBoolean() ? 1 : -1;
        }
        ModuleFactors m = new ModuleFactors("eq", d, d, List.of(new ScaledFactors(0, 1, 1, 1, d, d, a, bt)));
        TaskVectorRules.MagnitudeCut[] cuts = MagnitudeSelection.find(new TaskBlocks(m), d, d,
                TaskVectorRules.keepCount((long) d * d, 0.3));
        assertEquals(new TaskVectorRules.MagnitudeCut(1.0, 299_999), cuts[0]);
        assertEquals(TaskVectorRules.magnitudeCut(TaskVectorFixtures.taskVector(m.terms().get(0)), 0.3), cuts[0]);
    }
}
