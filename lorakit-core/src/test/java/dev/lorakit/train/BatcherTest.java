package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BatcherTest {
    private static final int IGN = TrainingExample.IGNORE;
    private static final int PAD = 2;

    /** n examples of random lengths 1..12; example i's tokens are 100*i + t; random labels masked. */
    static List<TrainingExample> examples(int n, long seed) {
        Random r = new Random(seed);
        List<TrainingExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + r.nextInt(12);
            int[] ids = new int[len];
            int[] labels = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = 100 * i + t;
                labels[t] = r.nextInt(3) == 0 ? IGN : ids[t];
            }
            out.add(new TrainingExample(ids, labels));
        }
        return out;
    }

    @Test
    void noShuffleKeepsFileOrderAndPadsToTheLongest() {
        List<TrainingExample> ex = List.of(
                new TrainingExample(new int[] {10, 11, 12}, new int[] {IGN, 11, 12}),
                new TrainingExample(new int[] {20}, new int[] {20}),
                new TrainingExample(new int[] {30, 31}, new int[] {30, IGN}));
        Batcher b = new Batcher(ex, 2, PAD, 1, false);
        Batch first = b.next();
        assertArrayEquals(new int[] {0, 1}, first.exampleIndices());
        assertEquals(3, first.width());
        assertArrayEquals(new int[] {3, 1}, first.lengths());
        assertArrayEquals(new int[] {10, 11, 12, 20, PAD, PAD}, first.inputIds());
        assertArrayEquals(new int[] {IGN, 11, 12, 20, IGN, IGN}, first.labels());
        assertArrayEquals(new int[] {11, 12, IGN, IGN, IGN, IGN}, first.shiftedTargets());
        assertArrayEquals(new int[] {10, 11, 12, 20}, first.packedInputIds());
        assertArrayEquals(new int[] {11, 12, IGN, IGN}, first.packedShiftedTargets());
        assertEquals(2, first.targetCount());
        assertEquals(4, first.tokenCount());
        assertArrayEquals(new int[][] {{10, 11, 12}, {20}}, first.sequences());
        assertEquals(new Batcher.Position(0, 2), b.position());
        Batch last = b.next();  // the last batch of the epoch is smaller
        assertArrayEquals(new int[] {2}, last.exampleIndices());
        assertArrayEquals(new int[] {IGN, IGN}, last.shiftedTargets());
        assertEquals(0, last.targetCount());
        assertEquals(new Batcher.Position(0, 3), b.position());
        Batch next = b.next();
        assertEquals(1, next.epoch());
        assertEquals(first.exampleIndices()[0], next.exampleIndices()[0]);
        assertEquals(new Batcher.Position(1, 2), b.position());
    }

    /** Shifted targets agree with the definition on random padded batches, in both layouts. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void shiftedTargetsMatchTheDefinition(long seed) {
        List<TrainingExample> ex = examples(17, seed);
        Batcher b = new Batcher(ex, 5, PAD, seed, true);
        for (int k = 0; k < 8; k++) {
            Batch batch = b.next();
            int[] targets = batch.shiftedTargets();
            List<Integer> packed = new ArrayList<>();
            int count = 0;
            for (int r = 0; r < batch.size(); r++) {
                TrainingExample e = ex.get(batch.exampleIndices()[r]);
                for (int t = 0; t < batch.width(); t++) {
                    int want = t + 1 < e.length() ? e.labels()[t + 1] : IGN;
                    assertEquals(want, targets[r * batch.width() + t]);
                    int id = t < e.length() ? e.inputIds()[t] : PAD;
                    assertEquals(id, batch.inputIds()[r * batch.width() + t]);
                    if (t < e.length()) {
                        packed.add(want);
                    }
                    count += want != IGN ? 1 : 0;
                }
                assertEquals(e.length(), batch.lengths()[r]);
            }
            assertArrayEquals(packed.stream().mapToInt(Integer::intValue).toArray(), batch.packedShiftedTargets());
            assertEquals(count, batch.targetCount());
        }
    }

    @Test
    void everyEpochVisitsEveryExampleOnceInASeededOrder() {
        List<TrainingExample> ex = examples(23, 4);
        Batcher a = new Batcher(ex, 4, PAD, 77, true);
        Batcher same = new Batcher(ex, 4, PAD, 77, true);
        Batcher other = new Batcher(ex, 4, PAD, 78, true);
        assertEquals(6, a.batchesPerEpoch());
        List<int[]> orders = new ArrayList<>();
        for (int epoch = 0; epoch < 3; epoch++) {
            Set<Integer> seen = new HashSet<>();
            List<Integer> order = new ArrayList<>();
            for (int k = 0; k < a.batchesPerEpoch(); k++) {
                Batch batch = a.next();
                assertEquals(epoch, batch.epoch());
                assertEquals(batch, same.next());
                for (int i : batch.exampleIndices()) {
                    assertTrue(seen.add(i));
                    order.add(i);
                }
            }
            assertEquals(23, seen.size());
            int[] o = order.stream().mapToInt(Integer::intValue).toArray();
            assertArrayEquals(a.order(epoch), o);
            orders.add(o);
        }
        assertTrue(!Arrays.equals(orders.get(0), orders.get(1)), "epochs are shuffled differently");
        assertNotEquals(Arrays.toString(other.order(0)), Arrays.toString(orders.get(0)));
    }

    /** Resuming from any saved position deals exactly the batches an uninterrupted run deals. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void resumingFromASavedPositionContinuesExactly(long seed) {
        Random r = new Random(seed);
        List<TrainingExample> ex = examples(5 + r.nextInt(30), seed);
        int batchSize = 1 + r.nextInt(6);
        int accumulation = 1 + r.nextInt(3);
        boolean shuffle = r.nextBoolean();
        Batcher full = new Batcher(ex, batchSize, PAD, seed, shuffle);
        List<List<Batch>> uninterrupted = new ArrayList<>();
        List<Batcher.Position> positions = new ArrayList<>();
        int steps = 3 * full.stepsPerEpoch(accumulation) + 2;
        for (int s = 0; s < steps; s++) {
            positions.add(full.position());
            uninterrupted.add(full.nextStep(accumulation));
        }
        for (int cut = 0; cut < steps; cut++) {
            Batcher resumed = new Batcher(ex, batchSize, PAD, seed, shuffle);
            resumed.seek(positions.get(cut));
            for (int s = cut; s < steps; s++) {
                assertEquals(uninterrupted.get(s), resumed.nextStep(accumulation), "cut " + cut + ", step " + s);
            }
        }
    }

    @Test
    void stepsNeverSpanTwoEpochs() {
        Batcher b = new Batcher(examples(10, 1), 3, PAD, 1, true);  // 4 batches per epoch
        assertEquals(2, b.stepsPerEpoch(3));
        assertEquals(List.of(3, 1, 3, 1), List.of(b.nextStep(3).size(), b.nextStep(3).size(), b.nextStep(3).size(),
                b.nextStep(3).size()));
        assertEquals(new Batcher.Position(1, 10), b.position());
        assertEquals(2.0, b.epochProgress());
    }

    @Test
    void badPositionsAndArgumentsAreRefused() {
        Batcher b = new Batcher(examples(4, 1), 2, PAD, 1, true);
        BadInputException e = assertThrows(BadInputException.class, () -> b.seek(new Batcher.Position(0, 5)));
        assertTrue(e.getMessage().contains("lies beyond the 4 training examples"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Batcher.Position(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Batcher(List.of(), 2, PAD, 1, true));
        assertThrows(IllegalArgumentException.class, () -> new Batcher(examples(4, 1), 0, PAD, 1, true));
        assertThrows(IllegalArgumentException.class, () -> b.nextStep(0));
    }
}
