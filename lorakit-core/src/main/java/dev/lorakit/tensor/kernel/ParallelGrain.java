package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.Parallel;

/**
 * How much work one parallel chunk of a kernel gets: the one place where the size thresholds of
 * the multi-threaded kernels live. A chunk must be big enough that handing it to another thread
 * (tens of microseconds at worst) is small next to the work itself.
 */
final class ParallelGrain {
    /** Minimum bytes of weights one matvec chunk streams (64 KiB: a few microseconds of DRAM time). */
    static final long MIN_CHUNK_BYTES = 64 * 1024;

    /** Minimum activations (floats) one chunk of a row-wise kernel (rmsnorm rows) touches. */
    static final int MIN_CHUNK_FLOATS = 16 * 1024;

    private ParallelGrain() {
    }

    /** Rows per chunk so one chunk reads at least {@link #MIN_CHUNK_BYTES} of rows of rowBytes. */
    static int rowsPerChunk(long rowBytes) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (MIN_CHUNK_BYTES + rowBytes - 1) / Math.max(1, rowBytes)));
    }

    /**
     * Into how many contiguous row ranges to split a kernel that reduces over rows (the
     * transposed matvec): one per thread, but only as many as give each at least
     * {@link #MIN_CHUNK_BYTES}, and one when already running inside the pool.
     */
    static int rowParts(long totalBytes, int rows) {
        if (Parallel.inPool()) {
            return 1;
        }
        long byBytes = Math.max(1, totalBytes / MIN_CHUNK_BYTES);
        return (int) Math.max(1, Math.min(Math.min(Parallel.threads(), byBytes), rows));
    }

    /** Rows per chunk so one chunk touches at least {@link #MIN_CHUNK_FLOATS} floats of width n. */
    static int rowsPerChunk(int n) {
        return Math.max(1, (MIN_CHUNK_FLOATS + n - 1) / Math.max(1, n));
    }
}
