package dev.lorakit.nn;

import static dev.lorakit.nn.GradCheck.GRAD_TOL;
import static dev.lorakit.nn.GradCheck.added;
import static dev.lorakit.nn.GradCheck.assertClose;
import static dev.lorakit.nn.GradCheck.d;
import static dev.lorakit.nn.GradCheck.dot;
import static dev.lorakit.nn.GradCheck.numeric;
import static dev.lorakit.nn.GradCheck.randn;
import static dev.lorakit.nn.GradCheck.scaled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Embedding lookup: exact rows in every stored dtype; the scatter-add backward against finite differences. */
class EmbeddingTest {

    static double[] reference(int[] ids, double[] table, int N, int C) {
        double[] out = new double[N * C];
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                out[n * C + c] = table[ids[n] * C + c];
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void forwardReadsStoredRowsAndBackwardScattersGradients(int seed) {
        Random rnd = new Random(seed);
        int N = 1 + rnd.nextInt(7);
        int C = 3 + rnd.nextInt(31);
        int V = 2 + rnd.nextInt(6); // small: ids repeat
        DType dtype = new DType[] {DType.F32, DType.BF16, DType.F16}[seed % 3];
        Tensor table = GradCheck.weight(rnd, dtype, V, C, 1.0);
        int[] ids = new int[N];
        for (int n = 0; n < N; n++) {
            ids[n] = rnd.nextInt(V);
        }
        float[] out = new float[N * C + 3]; // longer than needed: only N*C is written
        out[N * C] = 42f;
        Embedding.forward(out, ids, table, N);
        double[] tab = d(table);
        double[] ref = reference(ids, tab, N, C);
        for (int i = 0; i < N * C; i++) {
            assertEquals(ref[i], out[i], 0.0, "row value " + i);
        }
        assertEquals(42f, out[N * C]);

        float[] dOut = randn(rnd, N * C);
        double[] fd = numeric(tab, () -> dot(dOut, reference(ids, tab, N, C)));
        float[] prior = randn(rnd, V * C);
        float[] dTable = prior.clone();
        Embedding.backward(dTable, dOut, ids, N, V, C);
        assertClose("dTable", fd, added(dTable, prior), GRAD_TOL);
        Embedding.backward(dTable, dOut, ids, N, V, C);
        assertClose("dTable after two calls", scaled(2, fd), added(dTable, prior), GRAD_TOL);
    }

    /**
     * A tied table (embedding lookup and LM head, as with tie_word_embeddings): the scatter-add
     * backward and the LM head's weight gradient accumulate into one dTable, which must be the
     * finite-difference gradient of L = sum(dOut * table[ids]) + sum(dLogits * (h table^T)).
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void tiedTableGetsTheLookupAndTheLmHeadGradients(int seed) {
        Random rnd = new Random(100 + seed);
        int N = 1 + rnd.nextInt(7);
        int C = 3 + rnd.nextInt(31);
        int V = 2 + rnd.nextInt(9);
        float[] table = randn(rnd, V * C);
        float[] h = randn(rnd, N * C);  // the final hidden states the LM head reads
        int[] ids = new int[N];
        for (int n = 0; n < N; n++) {
            ids[n] = rnd.nextInt(V);
        }
        float[] dOut = randn(rnd, N * C);
        float[] dLogits = randn(rnd, N * V);
        double[] tab = d(table);
        double[] hd = d(h);
        double[] fd = numeric(tab, () -> dot(dOut, reference(ids, tab, N, C)) + dot(dLogits, LinearTest.reference(hd, tab, null, N, C, V)));
        float[] prior = randn(rnd, V * C);
        float[] dTable = prior.clone();
        Linear.backwardWeight(dTable, dLogits, h, N, C, V);
        Embedding.backward(dTable, dOut, ids, N, V, C);
        assertClose("tied dTable", fd, added(dTable, prior), GRAD_TOL);
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 5})
    void rejectsIdsOutsideTheVocabulary(int id) {
        Tensor table = Tensor.ofFloats(new float[10], 5, 2);
        assertThrows(IllegalArgumentException.class, () -> Embedding.forward(new float[2], new int[] {id}, table, 1));
        assertThrows(IllegalArgumentException.class, () -> Embedding.backward(new float[10], new float[2], new int[] {id}, 1, 5, 2));
    }

    @ParameterizedTest
    @ValueSource(ints = {1})
    void largerShapesRunInParallel(int seed) {
        Random rnd = new Random(seed);
        int N = 800;
        int C = 64;
        int V = 50;
        Tensor table = GradCheck.weight(rnd, DType.F16, V, C, 1.0);
        int[] ids = new int[N];
        for (int n = 0; n < N; n++) {
            ids[n] = rnd.nextInt(V);
        }
        float[] out = new float[N * C];
        Embedding.forward(out, ids, table, N);
        double[] ref = reference(ids, d(table), N, C);
        for (int i = 0; i < N * C; i++) {
            assertEquals(ref[i], out[i], 0.0);
        }
    }
}
