package dev.lorakit.tensor;

/**
 * The shared compute pool every multi-threaded kernel runs on. Its size is the number of
 * available processors, or {@code -Dlorakit.threads=N} / the {@code LORAKIT_THREADS} variable.
 *
 * <p>{@link #forRange} splits an index range into chunks that the caller and the helper threads
 * of a {@link ComputeTeam} claim dynamically. Calls made from inside a chunk run inline (no
 * nested fan-out), so code that is already parallel at an outer level never oversubscribes the
 * cores.
 */
public final class Parallel {
    private static final int THREADS = configuredThreads();
    private static final ComputeTeam TEAM = new ComputeTeam(Math.max(0, THREADS - 1));

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
