package dev.lorakit.tensor.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.VectorKernels;
import dev.lorakit.tensor.kernel.VectorMatVec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The facade: it dispatches to the kernel chosen by {@code lorakit.kernels}, checks ranges, and
 * rejects the aliasing it does not document.
 */
class OpsTest {

    private static float[] random(int n, long seed) {
        Random rnd = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    @Test
    void defaultModeRunsTheVectorKernels() {
        assertTrue(Ops.kernels().startsWith("vector ("), Ops.kernels());
        float[] a = random(1001, 1);
        float[] b = random(1001, 2);
        assertEquals(Float.floatToIntBits(VectorKernels.dot(a, 0, b, 0, 1001)), Float.floatToIntBits(Ops.dot(a, 0, b, 0, 1001)));
        Tensor w = Tensor.ofFloats(random(40 * 33, 3), 40, 33);
        float[] y1 = new float[40];
        float[] y2 = new float[40];
        Ops.matvec(w, a, 0, y1, 0);
        VectorMatVec.matvec(w, a, 0, y2, 0);
        assertArrayEquals(y2, y1);
    }

    @Test
    void systemPropertySelectsTheScalarTwins() throws Exception {
        String scalar = runProbe("-Dlorakit.kernels=scalar");
        assertEquals("scalar|opsIsScalar=true|opsIsVector=false|twinsDiffer=true", scalar);
        String vector = runProbe("-Dlorakit.kernels=vector");
        assertTrue(vector.startsWith("vector ("), vector);
        assertTrue(vector.endsWith("|opsIsScalar=false|opsIsVector=true|twinsDiffer=true"), vector);
    }

    /** Runs {@link KernelModeProbe} in a child JVM with the given property; returns its output line. */
    private static String runProbe(String property) throws IOException, InterruptedException {
        String javaExe = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classes = location(Ops.class);
        String testClasses = location(KernelModeProbe.class);
        List<String> cmd = List.of(javaExe, "--add-modules", "jdk.incubator.vector", property,
                "-cp", classes + java.io.File.pathSeparator + testClasses, KernelModeProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM finished");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "probe exit code; stderr: " + err);
        return out;
    }

    private static String location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void inPlaceIsAllowedWhereDocumented() {
        float[] a = random(50, 4);
        float[] b = random(50, 5);
        float[] expected = new float[50];
        Ops.add(a, 0, b, 0, expected, 0, 50);
        Ops.add(a, 0, b, 0, a, 0, 50);
        assertArrayEquals(expected, a);
        float[] x = random(40, 6);
        float[] ref = new float[40];
        Ops.scale(2f, x, 0, ref, 0, 40);
        Ops.scale(2f, x, 0, x, 0, 40);
        assertArrayEquals(ref, x);
        float[] g = random(40, 7);
        float[] u = random(40, 8);
        float[] sw = new float[40];
        Ops.swiglu(g, 0, u, 0, sw, 0, 40);
        Ops.swiglu(g, 0, u, 0, u, 0, 40);
        assertArrayEquals(sw, u);
        float[] r = random(64, 9);
        float[] w = random(32, 10);
        float[] rn = new float[64];
        Ops.rmsnormRows(r, 0, w, 1e-5f, rn, 0, 2, 32);
        Ops.rmsnormRows(r, 0, w, 1e-5f, r, 0, 2, 32);
        assertArrayEquals(rn, r);
    }

    @Test
    void partialOverlapsAreRejected() {
        float[] a = new float[100];
        assertThrows(IllegalArgumentException.class, () -> Ops.add(a, 0, a, 50, a, 1, 40));
        assertThrows(IllegalArgumentException.class, () -> Ops.scale(2f, a, 0, a, 10, 20));
        assertThrows(IllegalArgumentException.class, () -> Ops.silu(a, 5, a, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> Ops.axpy(1f, a, 0, a, 0, 10));
        assertThrows(IllegalArgumentException.class, () -> Ops.axpy(1f, a, 0, a, 9, 10));
        Ops.axpy(1f, a, 0, a, 10, 10); // disjoint ranges of one array are fine
        float[] w3 = new float[3];
        assertThrows(IllegalArgumentException.class, () -> Ops.weightedRowSum(w3, 3, a, 0, 10, 8, a, 25)); // rows [0, 28)
        Ops.weightedRowSum(w3, 3, a, 0, 10, 8, a, 28);
        assertThrows(IllegalArgumentException.class, () -> Ops.weightedRowSum(w3, 3, a, 0, 4, 8, a, 50)); // stride < d
        assertThrows(IllegalArgumentException.class, () -> Ops.rmsnorm(a, 50, a, 1e-5f, a, 5, 10)); // w = a[0..10) overlaps out
        assertThrows(IllegalArgumentException.class, () -> Ops.rmsnorm(a, 0, new float[10], 1e-5f, a, 5, 10)); // x, out partial
        Tensor w = Tensor.ofFloats(new float[6], 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Ops.matvec(w, a, 0, a, 1));
        assertThrows(IllegalArgumentException.class, () -> Ops.matvecTransposed(w, a, 0, a, 1));
        assertThrows(IllegalArgumentException.class, () -> Ops.matvecBatch(w, a, 0, a, 5, 2));
        Ops.matvec(w, a, 0, a, 3); // x = a[0..3), y = a[3..5)
        float[] cs = new float[4];
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(cs, a, 0, a, 0, 1, 8));
    }

    @Test
    void badShapesAndRangesAreRejected() {
        float[] a = new float[10];
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.dot(a, 5, a, 0, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.sum(a, -1, 2));
        assertThrows(IllegalArgumentException.class, () -> Ops.sum(a, 0, -1));
        assertThrows(IllegalArgumentException.class, () -> Ops.argmax(a, 0, 0));
        Tensor rank3 = Tensor.zeros(DType.F32, 2, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> Ops.matvec(rank3, a, 0, new float[2], 0));
        Tensor ints = Tensor.zeros(DType.I8, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> Ops.matvec(ints, a, 0, new float[2], 0));
        Tensor w = Tensor.zeros(DType.BF16, 4, 8);
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.matvec(w, a, 3, new float[4], 0)); // x too short
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.matvec(w, a, 0, new float[3], 0)); // y too short
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.matvecTransposed(w, a, 0, new float[7], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.matvecBatch(w, new float[15], 0, new float[8], 0, 2));
        float[] c = new float[4];
        assertThrows(IllegalArgumentException.class, () -> Ops.rope(c, c.clone(), 0, new float[7], 0, 1, 7));
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.rope(c, c.clone(), 1, new float[8], 0, 1, 8));
        assertThrows(IndexOutOfBoundsException.class, () -> Ops.rmsnorm(a, 0, new float[5], 1e-5f, new float[10], 0, 10));
    }

    @Test
    void emptyInputsAreNoOps() {
        float[] a = new float[0];
        assertEquals(0f, Ops.dot(a, 0, a, 0, 0));
        assertEquals(0f, Ops.sum(a, 0, 0));
        assertEquals(Float.NEGATIVE_INFINITY, Ops.max(a, 0, 0));
        Ops.softmax(a, 0, 0);
        Ops.matvec(Tensor.zeros(DType.F16, 0, 5), new float[5], 0, a, 0);
        float[] y = {1, 2, 3};
        Ops.matvecTransposed(Tensor.zeros(DType.F16, 0, 3), a, 0, y, 0);
        assertArrayEquals(new float[3], y, "W^T x with N = 0 is zero");
    }

    @Test
    void matvecTransposedAddAccumulates() {
        Tensor w = Tensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        float[] x = {1, -1};
        float[] y = {10, 20, 30};
        Ops.matvecTransposedAdd(w, x, 0, y, 0);
        assertArrayEquals(new float[] {10 - 3, 20 - 3, 30 - 3}, y);
        Ops.matvecTransposed(w, x, 0, y, 0);
        assertArrayEquals(new float[] {-3, -3, -3}, y);
        float[] out = new float[2];
        Ops.matvec(w, new float[] {1, 0, -1}, 0, out, 0);
        assertArrayEquals(new float[] {1 - 3, 4 - 6}, out);
    }
}
