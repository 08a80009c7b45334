package dev.lorakit.tensor;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The helper threads behind {@link Parallel#forRange}: a fixed team that stays awake between
 * jobs. After a job a helper spins for a while ({@link #DEFAULT_SPIN_NANOS} unless configured)
 * waiting for the next one before it parks. Decoding one token makes ~160 parallel calls of
 * 30-800 us each, back to back, and waking a parked thread costs far more than a spin: on this
 * project's 2-vCPU VM, a pool that parks its workers (a {@code ForkJoinPool}) lost ~230 us of
 * the helper per call, which was 20-25 % of a quantized decode step. The price is a busy core for up to the spin time after
 * each job, which matters only when more threads than cores want to run (several lorakit
 * processes at once: give them fewer threads or a spin of 0). Only one job runs at a time; a
 * caller that finds the team busy (another thread's job) runs its work inline.
 */
final class ComputeTeam {
    /** How long an idle helper polls for the next job before parking, by default. */
    static final long DEFAULT_SPIN_NANOS = 2_000_000;
    /** How long the caller polls for the helpers to finish before sleeping between checks. */
    private static final long WAIT_SPIN_NANOS = 1_000_000;

    /** Set while a thread runs a chunk: work started there runs inline (no nested fan-out). */
    private static final ThreadLocal<boolean[]> IN_CHUNK = ThreadLocal.withInitial(() -> new boolean[1]);

    private final long spinNanos;
    private final Thread[] helpers;
    /** Per helper: 1 while parked (or about to park); the caller unparks those. */
    private final AtomicInteger[] parked;

    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Job current;

    /**
     * A team of {@code size} helper threads (the caller is the extra member) that poll for
     * {@code spinNanos} after each job before parking (0: park at once).
     */
    ComputeTeam(int size, long spinNanos) {
        this.spinNanos = Math.max(0, spinNanos);
        helpers = new Thread[size];
        parked = new AtomicInteger[size];
        for (int i = 0; i < size; i++) {
            int me = i;
            parked[i] = new AtomicInteger();
            helpers[i] = Thread.ofPlatform().daemon(true).name("lorakit-compute-" + (i + 1))
                    .unstarted(() -> helperLoop(me));
            helpers[i].start();
        }
    }

    /** True on a helper thread and inside a chunk on any thread: work started there runs inline. */
    static boolean inChunk() {
        return IN_CHUNK.get()[0];
    }

    /**
     * Runs chunks 0 .. total-1 of {@code body} (chunk c covers [c*per, min(n, (c+1)*per))) on the
     * caller and the helpers. Returns false, having run nothing, when another job is running.
     */
    boolean tryRun(int n, int per, int total, Parallel.RangeBody body) {
        if (!busy.compareAndSet(false, true)) {
            return false;
        }
        try {
            Job job = new Job(n, per, total, body);
            current = job;
            int wanted = Math.min(helpers.length, total - 1);
            for (int i = 0; i < wanted; i++) {
                if (parked[i].get() != 0) {
                    LockSupport.unpark(helpers[i]);
                }
            }
            try {
                job.work();
            } finally {
                job.awaitDone(); // chunks the helpers claimed finish before the job is retired
                current = null;
            }
            job.rethrow();
            return true;
        } finally {
            busy.set(false);
        }
    }

    private void helperLoop(int me) {
        IN_CHUNK.get()[0] = true;
        Job last = null;
        while (true) {
            long spinUntil = System.nanoTime() + spinNanos;
            Job job;
            while ((job = current) == null || job == last) {
                if (System.nanoTime() - spinUntil < 0) {
                    Thread.onSpinWait();
                    continue;
                }
                parked[me].set(1);
                job = current;
                if (job == null || job == last) {
                    LockSupport.park(this);
                }
                parked[me].set(0);
                spinUntil = System.nanoTime() + spinNanos;
            }
            last = job;
            job.work();
        }
    }

    /** One {@link Parallel#forRange} call: chunks claimed from a shared counter. */
    private static final class Job {
        private final int n;
        private final int per;
        private final int total;
        private final Parallel.RangeBody body;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(int n, int per, int total, Parallel.RangeBody body) {
            this.n = n;
            this.per = per;
            this.total = total;
            this.body = body;
        }

        /** Claims and runs chunks until none is left (a helper that comes late finds none). */
        void work() {
            if (next.get() >= total) {
                return;
            }
            boolean[] inChunk = IN_CHUNK.get();
            boolean outer = inChunk[0];
            inChunk[0] = true;
            try {
                int c;
                while ((c = next.getAndIncrement()) < total) {
                    try {
                        if (failure.get() == null) {
                            int from = c * per;
                            body.run(from, Math.min(n, from + per));
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    } finally {
                        done.incrementAndGet();
                    }
                }
            } finally {
                inChunk[0] = outer;
            }
        }

        /** Waits until every chunk is done: spins first (chunks are short), then sleeps in steps. */
        void awaitDone() {
            long spinUntil = System.nanoTime() + WAIT_SPIN_NANOS;
            while (done.get() < total) {
                if (System.nanoTime() - spinUntil < 0) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(20_000);
                }
            }
        }

        void rethrow() {
            Throwable t = failure.get();
            if (t instanceof RuntimeException re) {
                throw re;
            }
            if (t instanceof Error err) {
                throw err;
            }
            if (t != null) {
                throw new RuntimeException(t);
            }
        }
    }
}
