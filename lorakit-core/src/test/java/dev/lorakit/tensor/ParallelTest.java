package dev.lorakit.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * {@link Parallel#forRange} on the spinning {@link ComputeTeam}: every index runs exactly once,
 * with helpers awake or parked, from several callers at once, nested, and after a failure.
 */
class ParallelTest {

    private static void assertEachOnce(AtomicIntegerArray hits) {
        for (int i = 0; i < hits.length(); i++) {
            assertEquals(1, hits.get(i), "index " + i);
        }
    }

    @RepeatedTest(20)
    void everyIndexRunsExactlyOnce() {
        AtomicIntegerArray hits = new AtomicIntegerArray(10_007);
        Parallel.forRange(hits.length(), 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                hits.incrementAndGet(i);
            }
        });
        assertEachOnce(hits);
    }

    @Test
    void helpersThatParkedWakeUpForTheNextCall() throws InterruptedException {
        for (int round = 0; round < 3; round++) {
            Thread.sleep(3 * Parallel.spinNanos() / 1_000_000 + 5); // past the spin: helpers park
            AtomicIntegerArray hits = new AtomicIntegerArray(5000);
            Parallel.forRange(hits.length(), 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            assertEachOnce(hits);
        }
    }

    /**
     * Two chunks, each of which waits (up to 10 s) until the other has started: passes only if a
     * helper thread takes part, i.e. a parked or spinning helper really wakes for the job.
     */
    private static void assertHelperJoins(ComputeTeam team) throws InterruptedException {
        for (int job = 0; job < 50; job++) {
            java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(2);
            java.util.concurrent.atomic.AtomicBoolean met = new java.util.concurrent.atomic.AtomicBoolean(true);
            assertTrue(team.tryRun(2, 1, 2, (from, to) -> {
                started.countDown();
                try {
                    if (!started.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
                        met.set(false);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    met.set(false);
                }
            }));
            assertTrue(met.get(), "job " + job + ": no helper ran the second chunk within 10 s");
            if (job % 10 == 9) {
                Thread.sleep(10); // let a spinning helper park now and then
            }
        }
    }

    @Test
    void helpersJoinEveryJobWhetherSpinningOrParked() throws InterruptedException {
        assertHelperJoins(new ComputeTeam(1, ComputeTeam.DEFAULT_SPIN_NANOS));
        assertHelperJoins(new ComputeTeam(1, 0));
    }

    @Test
    void aTeamThatNeverSpinsParksAndWakesForEveryJob() {
        ComputeTeam team = new ComputeTeam(1, 0);
        for (int job = 0; job < 200; job++) {
            AtomicIntegerArray hits = new AtomicIntegerArray(997);
            assertTrue(team.tryRun(hits.length(), 50, 20, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            }));
            assertEachOnce(hits);
        }
    }

    @Test
    void concurrentCallersEachGetTheirWholeRange() throws InterruptedException {
        List<Thread> callers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            int n = 1000 + 37 * t;
            callers.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int call = 0; call < 200; call++) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        Parallel.forRange(n, 1, (from, to) -> {
                            for (int i = from; i < to; i++) {
                                hits.incrementAndGet(i);
                            }
                        });
                        assertEachOnce(hits);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread c : callers) {
            c.join();
        }
        assertTrue(failures.isEmpty(), () -> "failures: " + failures);
    }

    @Test
    void nestedCallsRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 50);
        assertFalse(Parallel.inPool());
        Parallel.forRange(64, 1, (from, to) -> {
            assertTrue(Parallel.inPool());
            for (int r = from; r < to; r++) {
                int row = r;
                Parallel.forRange(50, 1, (a, b) -> {
                    for (int c = a; c < b; c++) {
                        hits.incrementAndGet(row * 50 + c);
                    }
                });
            }
        });
        assertFalse(Parallel.inPool());
        assertEachOnce(hits);
    }

    @Test
    void aFailureIsRethrownAndTheTeamKeepsWorking() {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(1000, 1, (from, to) -> {
                    if (from <= 500 && 500 < to) {
                        throw boom;
                    }
                }));
        assertSame(boom, thrown);
        assertFalse(Parallel.inPool());
        everyIndexRunsExactlyOnce();
    }
}
