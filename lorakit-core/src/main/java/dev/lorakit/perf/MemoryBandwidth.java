package dev.lorakit.perf;

import dev.lorakit.tensor.Parallel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * STREAM-style memory bandwidth of this machine, measured in Java on buffers far larger than
 * the caches, with every compute thread: "copy" (a[i] = b[i], counting bytes read + written, as
 * STREAM does) and "read" (a vectorised sum, the access pattern of decoding: weights are only
 * read). The median of several repetitions is reported: STREAM reports the best, but on the
 * shared 2-vCPU VMs this project runs on single repetitions read 28-45 GB/s while a decode of
 * many steps sees the typical rate, so the best overstates the floor. The buffers hold distinct
 * values on every page, like real weights.
 */
public final class MemoryBandwidth {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** The last read test's sum (the buffers hold arbitrary bits, so it may be anything, NaN included). */
    static volatile float observed;

    /**
     * Copy and read bandwidth in bytes per second.
     *
     * @param copyBytesPerSecond STREAM copy: 2 x buffer bytes / time
     * @param readBytesPerSecond read-only: buffer bytes / time
     */
    public record Result(double copyBytesPerSecond, double readBytesPerSecond) {
        /** The larger of the two: the most demanding floor for a bandwidth-bound kernel. */
        public double best() {
            return Math.max(copyBytesPerSecond, readBytesPerSecond);
        }
    }

    private MemoryBandwidth() {
    }

    /** Measures with two buffers of {@code bytes} each (>= 256 MiB recommended), {@code reps} times. */
    public static Result measure(long bytes, int reps) {
        long n = bytes / 4 / 1024 * 1024; // floats, a multiple of the chunk size
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(n * 4, 64);
            MemorySegment b = arena.allocate(n * 4, 64);
            int chunks = (int) (n / 1024 / 64); // 256 KiB chunks
            long chunkBytes = n * 4 / chunks;
            // Every page distinct, like real weights (a host may merge pages that hold one repeated value).
            Parallel.forRange(chunks, 1, (from, to) -> {
                for (long i = from * chunkBytes / 8; i < to * chunkBytes / 8; i++) {
                    b.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
                    a.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, ~i);
                }
            });
            double[] copySeconds = new double[reps];
            double[] readSeconds = new double[reps];
            float[] sink = new float[chunks];
            for (int r = 0; r < reps + 1; r++) {
                long t0 = System.nanoTime();
                Parallel.forRange(chunks, 1, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        MemorySegment.copy(b, c * chunkBytes, a, c * chunkBytes, chunkBytes);
                    }
                });
                long t1 = System.nanoTime();
                Parallel.forRange(chunks, 1, (from, to) -> {
                    for (int c = from; c < to; c++) {
                        sink[c] = sum(b, c * chunkBytes, chunkBytes);
                    }
                });
                long t2 = System.nanoTime();
                if (r > 0) { // the first repetition warms up
                    copySeconds[r - 1] = (t1 - t0) / 1e9;
                    readSeconds[r - 1] = (t2 - t1) / 1e9;
                }
            }
            float check = 0;
            for (float s : sink) {
                check += s;
            }
            observed = check; // the sums are used, so the reads cannot be optimised away
            return new Result(2.0 * n * 4 / median(copySeconds), n * 4.0 / median(readSeconds));
        }
    }

    private static double median(double[] seconds) {
        double[] s = seconds.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static float sum(MemorySegment seg, long off, long len) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int step = F.vectorByteSize();
        long end = off + len;
        for (long p = off; p + 4L * step <= end; p += 4L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, p, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, p + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, p + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, p + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        float s = a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        return s + seg.get(ValueLayout.JAVA_FLOAT_UNALIGNED, off);
    }
}
