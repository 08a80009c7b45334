package dev.lorakit.bench;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.quant.BlockQuantizer;
import dev.lorakit.tensor.quant.RowGroups;
import dev.lorakit.tensor.ops.Ops;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Matrix-vector product y = W x over a weight matrix W[n, k] (k = n unless given) in native
 * (off-heap) memory, the decode path's kernel; weights far larger than the caches, so this
 * measures streaming bandwidth:
 * GB/s = weight bytes / time (n x k x 4, 2, 2, 34/32 and 18/32 bytes for F32, BF16, F16, Q8_0 and
 * Q4_0, and their row-interleaved decode layouts Q8_0_R32 and Q4_0_R32). Enough matrices are cycled (1 GiB or more in total, so more copies of the smaller
 * quantized ones) that they stream from DRAM, not from this host's 480 MiB L3. Two matrices get
 * random values (quantized with llama.cpp's rules for Q8_0/Q4_0); the others are byte copies of
 * them, which streams the same bytes and keeps the setup short.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class MatVecBenchmark {
    /** Total weight MiB cycled through: by default well above the 480 MiB L3 (small values measure caches). */
    @Param({"1024"})
    long workingSetMiB;
    /** Matrices with their own random values; the rest copy them. */
    static final int DISTINCT = 2;

    @Param({"4096"})
    int n;

    /** Columns (K); 0 means n. */
    @Param({"0"})
    int k;

    @Param({"F32", "BF16", "F16", "Q8_0", "Q4_0", "Q8_0_R32", "Q4_0_R32"})
    String weightType;

    Arena arena;
    Tensor[] w;
    float[] x;
    float[] y;
    int next;

    @Setup
    public void setup() {
        DType dt = DType.valueOf(weightType);
        arena = Arena.ofShared();
        Random rnd = new Random(1);
        int kk = k == 0 ? n : k;
        long bytes = dt.bytesFor((long) n * kk);
        int copies = (int) Math.max(DISTINCT, ((workingSetMiB << 20) + bytes - 1) / bytes);
        w = new Tensor[copies];
        for (int c = 0; c < copies; c++) {
            if (c < DISTINCT) {
                Tensor f = Tensor.zeros(dt.isQuantized() ? DType.F32 : dt, n, kk);
                for (long i = 0; i < f.size(); i++) {
                    f.setFloat(i, (float) rnd.nextGaussian());
                }
                if (dt.isRowInterleaved()) {
                    w[c] = RowGroups.interleave(BlockQuantizer.quantize(f, dt.rowMajor(), arena), arena);
                } else {
                    w[c] = dt.isQuantized() ? BlockQuantizer.quantize(f, dt, arena) : f.copyToNative(arena);
                }
            } else {
                MemorySegment seg = arena.allocate(bytes, 64);
                MemorySegment.copy(w[c % DISTINCT].segment(), 0, seg, 0, bytes);
                w[c] = Tensor.wrap(dt, Shape.of(n, kk), seg);
            }
        }
        x = new float[kk];
        y = new float[n];
        for (int i = 0; i < kk; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] matvec() {
        Ops.matvec(w[next], x, 0, y, 0);
        next = (next + 1) % w.length;
        return y;
    }
}
