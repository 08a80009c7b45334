package dev.lorakit.bench;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Square matmul C[n,n] = A[n,n] * B[n,n]^T (the y = x W^T layout of a Linear layer), all
 * threads. GFLOP/s = 2 n^3 / time. Run:
 * {@code java --add-modules jdk.incubator.vector -jar lorakit-bench/target/benchmarks.jar MatmulBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class MatmulBenchmark {
    @Param({"1024"})
    int n;

    @Param({"F32", "BF16"})
    String weightType;

    Tensor a;
    Tensor w;
    Tensor c;

    @Setup
    public void setup() {
        Random rnd = new Random(1);
        a = Tensor.zeros(DType.F32, n, n);
        w = Tensor.zeros(DType.valueOf(weightType), n, n);
        for (long i = 0; i < a.size(); i++) {
            a.setFloat(i, (float) rnd.nextGaussian());
            w.setFloat(i, (float) rnd.nextGaussian());
        }
        c = Tensor.zeros(DType.F32, n, n);
    }

    /** A x W^T: the Linear-layer layout (B transposed, packed with a transposing copy). */
    @Benchmark
    public Tensor matmulTransB() {
        Matmul.gemm(a, false, w, true, c, false);
        return c;
    }

    /** A x B with B row-major [K,N] (the layout of backward products). */
    @Benchmark
    public Tensor matmulNN() {
        Matmul.gemm(a, false, w, false, c, false);
        return c;
    }
}
