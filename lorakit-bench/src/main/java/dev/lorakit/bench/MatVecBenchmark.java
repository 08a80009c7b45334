package dev.lorakit.bench;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
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
 * Matrix-vector product y = W x over a weight matrix in native (off-heap) memory, the decode
 * path's kernel; weights far larger than the caches, so this measures streaming bandwidth:
 * GB/s = weight bytes / time. Enough matrices are cycled (1 GiB or more in total) that they stream
 * from DRAM, not from this host's 480 MiB L3.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class MatVecBenchmark {
    static final int COPIES = 32;

    @Param({"4096"})
    int n;

    @Param({"F32", "BF16", "F16"})
    String weightType;

    Arena arena;
    Tensor[] w = new Tensor[COPIES];
    float[] x;
    float[] y;
    int next;

    @Setup
    public void setup() {
        DType dt = DType.valueOf(weightType);
        arena = Arena.ofShared();
        Random rnd = new Random(1);
        for (int c = 0; c < COPIES; c++) {
            MemorySegment seg = arena.allocate((long) n * n * dt.byteSize(), 64);
            w[c] = Tensor.wrap(dt, dev.lorakit.tensor.Shape.of(n, n), seg);
            for (long i = 0; i < w[c].size(); i++) {
                w[c].setFloat(i, (float) rnd.nextGaussian());
            }
        }
        x = new float[n];
        y = new float[n];
        for (int i = 0; i < n; i++) {
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
        next = (next + 1) % COPIES;
        return y;
    }
}
