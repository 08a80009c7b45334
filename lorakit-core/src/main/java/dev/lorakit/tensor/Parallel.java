package dev.lorakit.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The shared compute pool every multi-threaded kernel runs on. Its size is the number of
 * available processors, or {@code -Dlorakit.threads=N} / the {@code LORAKIT_THREADS} variable.
 *
 * <p>{@link #forRange} splits an index range into chunks that the caller and the pool's workers
 * claim dynamically. Calls made from inside a pool worker run inline (no nested fan-out), so
 * code that is already parallel at an outer level (one module per task, say) never
 * oversubscribes the cores.
 */
public final class Parallel {
    private static final int THREADS = configuredThreads();
    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, THREADS - 1), pool -> {
        ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("lorakit-compute-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false);

    private Parallel() {
    }

    /** A body over a half-open index range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Number of threads compute kernels use (caller included). */
    public static int threads() {
        return THREADS;
    }

    /** The pool behind {@link #forRange}, for coarse-grained tasks (one per module, say). */
    public static ForkJoinPool pool() {
        return POOL;
    }

    private static int configuredThreads() {
        String p = System.getProperty("lorakit.threads");
        if (p == null || p.isBlank()) {
            p = System.getenv("LORAKIT_THREADS");
        }
        if (p != null && !p.isBlank()) {
            try {
                int n = Integer.parseInt(p.trim());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // fall through to the default
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /** Set while a thread runs a chunk of {@link #forRange}: nested calls then run inline. */
    private static final ThreadLocal<boolean[]> IN_CHUNK = ThreadLocal.withInitial(() -> new boolean[1]);

    /**
     * True when called from one of the pool's worker threads or from inside a chunk of
     * {@link #forRange} (on any thread): work started here runs inline.
     */
    public static boolean inPool() {
        return Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL || IN_CHUNK.get()[0];
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code minChunk} indices, in parallel
     * when that is worth it. Returns when every chunk is done; rethrows the first failure.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int chunkSize = Math.max(1, minChunk);
        int maxChunks = (n + chunkSize - 1) / chunkSize;
        if (THREADS == 1 || maxChunks == 1 || inPool()) {
            body.run(0, n);
            return;
        }
        // A few chunks per thread so uneven chunks balance out.
        int chunks = Math.min(maxChunks, THREADS * 4);
        int per = (n + chunks - 1) / chunks;
        int total = (n + per - 1) / per;
        // Chunks are claimed from a shared counter; the caller waits for the chunks to be done,
        // not for helper tasks (a helper that starts late finds nothing left and exits at once).
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
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
        };
        int helpers = Math.min(THREADS - 1, total - 1);
        for (int i = 0; i < helpers; i++) {
            POOL.execute(worker);
        }
        worker.run();
        for (int spins = 0; done.get() < total; spins++) {
            if (spins < 1000) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
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
