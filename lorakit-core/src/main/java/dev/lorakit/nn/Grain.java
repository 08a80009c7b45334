package dev.lorakit.nn;

/**
 * How much work one parallel chunk of an nn loop gets: the one place where this package's size
 * thresholds live. A chunk must be big enough that handing it to another thread is small next to
 * the work itself.
 */
final class Grain {
    /** Minimum floats one chunk of a row-wise or element-wise loop touches. */
    static final int MIN_CHUNK_FLOATS = 16 * 1024;

    private Grain() {
    }

    /** Rows per chunk so that one chunk touches at least {@link #MIN_CHUNK_FLOATS} floats of rows of the given width. */
    static int rows(long width) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (MIN_CHUNK_FLOATS + width - 1) / Math.max(1, width)));
    }
}
