package dev.lorakit.tensor;

/**
 * The shared compute pool every multi-threaded kernel runs on. Its size is the number of
 * available processors, or {@code -Dlorakit.threads=N} / the {@code LORAKIT_THREADS} variable;
 * how long its idle helpers poll for the next job before parking is 2000 us (0 when there are
 * more threads than processors), or {@code -Dlorakit.spinMicros=N} / {@code LORAKIT_SPIN_MICROS}
 * (clamped to 0 .. 1000000; see {@link ComputeTeam}).
 *
 * <p>{@link #forRange} splits an index range into chunks that the caller and the helper threads
 * of a {@link ComputeTeam} claim dynamically. Calls made from inside a chunk run inline (no
 * nested fan-out), so code that is already parallel at an outer level never oversubscribes the
 * cores.
 */
public final class Parallel {
    private static final int THREADS = configuredThreads();
    private static final long SPIN_NANOS = configuredSpinNanos();
    private static final ComputeTeam TEAM = new ComputeTeam(Math.max(0, THREADS - 1), SPIN_NANOS);

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

    private static int configuredThreads() {
        Long n = configuredLong("lorakit.threads", "LORAKIT_THREADS");
        return n != null && n >= 1 && n <= 4096 ? n.intValue() : Runtime.getRuntime().availableProcessors();
    }

    private static long configuredSpinNanos() {
        Long us = configuredLong("lorakit.spinMicros", "LORAKIT_SPIN_MICROS");
        if (us == null) {
            // more threads than cores: a spinning helper could hold the core another thread needs
            return THREADS > Runtime.getRuntime().availableProcessors() ? 0 : ComputeTeam.DEFAULT_SPIN_NANOS;
        }
        return Math.min(Math.max(us, 0), 1_000_000) * 1000;
    }

    /** The system property, else the environment variable, as a number; null when unset or not a number. */
    private static Long configuredLong(String property, String variable) {
        String p = System.getProperty(property);
        if (p == null || p.isBlank()) {
            p = System.getenv(variable);
        }
        if (p == null || p.isBlank()) {
            return null;
        }
        try {
            return Long.parseLong(p.trim());
        } catch (NumberFormatException e) {
            return null; // fall back to the default
        }
    }

    /** How long idle helpers poll for the next job before parking, in nanoseconds. */
    static long spinNanos() {
        return SPIN_NANOS;
    }

    /**
     * True when called from one of the team's helper threads or from inside a chunk of
     * {@link #forRange} (on any thread): work started here runs inline.
     */
    public static boolean inPool() {
        return ComputeTeam.inChunk();
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code minChunk} indices, in parallel
     * when that is worth it. Returns when every chunk is done; rethrows the first failure.
     * While another thread's call is running on the team, this one runs inline.
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
        if (!TEAM.tryRun(n, per, total, body)) {
            body.run(0, n);
        }
    }
}
