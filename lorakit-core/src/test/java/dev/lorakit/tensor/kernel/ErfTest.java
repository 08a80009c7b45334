package dev.lorakit.tensor.kernel;

import static dev.lorakit.tensor.kernel.KernelTestData.close;
import static dev.lorakit.tensor.kernel.KernelTestData.same;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The error function: the float64 twin against 20-digit values, the vector one against the twin. */
class ErfTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /** erf(x) to 20 digits (computed with an arbitrary-precision library). */
    @ParameterizedTest(name = "erf({0})")
    @CsvSource({
        "0, 0",
        "1e-5, 0.00001128379167057899935",
        "0.1, 0.1124629160182848922",
        "0.5, 0.5204998778130465377",
        "1, 0.8427007929497148693",
        "1.5, 0.9661051464753107271",
        "2, 0.9953222650189527342",
        "2.4999, 0.9995928300996665491",
        "2.5, 0.99959304798255504106",
        "3, 0.9999779095030014146",
        "3.5, 0.9999992569016276586",
        "4, 0.9999999845827420997",
        "5, 0.9999999999984625402",
        "5.9, 0.9999999999999999281",
        "6.5, 1",
        "30, 1",
    })
    void scalarMatchesReferenceValues(double x, double expected) {
        close(expected, Erf.erf(x), 4e-16, "erf(" + x + ")");
        close(-expected, Erf.erf(-x), 4e-16, "erf(" + -x + ")");
    }

    @Test
    void scalarHandlesSpecialValues() {
        same(1f, (float) Erf.erf(Double.POSITIVE_INFINITY), "erf(+inf)");
        same(-1f, (float) Erf.erf(Double.NEGATIVE_INFINITY), "erf(-inf)");
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
        same(0f, (float) Erf.erf(0.0), "erf(0)");
        same(-0f, (float) Erf.erf(-0.0), "erf(-0)");
    }

    @Test
    void scalarIsContinuousAcrossItsBranchPoints() {
        for (double b : new double[] {2.5, 6}) {
            double below = Erf.erf(Math.nextDown(b));
            double above = Erf.erf(b);
            close(below, above, 1e-15, "erf jump at " + b);
        }
    }

    @Test
    void vectorIsWithin1e7OfTwinEverywhere() {
        // every float in [-8, 8] at a fine step, plus the branch points and their neighbours
        int n = 1_600_001;
        float[] x = new float[n + 6];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (-8 + 16.0 * i / (n - 1));
        }
        x[n] = Math.nextDown(1f);
        x[n + 1] = 1f;
        x[n + 2] = Math.nextUp(1f);
        x[n + 3] = 4f;
        x[n + 4] = Math.nextUp(4f);
        x[n + 5] = Float.MIN_VALUE;
        float[] v = new float[x.length];
        VectorKernels.erf(x, 0, v, 0, x.length);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            double ref = Erf.erf(x[i]);
            worst = Math.max(worst, Math.abs(v[i] - ref));
            close(ref, v[i], 1e-7, "vector erf(" + x[i] + ")");
        }
        assertTrue(worst > 0, "the comparison ran");
    }

    @Test
    void vectorKnownValuesOddnessAndLimits() {
        float[] x = {0.5f, 1f, 2f, -0.5f, -1f, -2f, 0f, -0f, 4.5f, -4.5f, 10f, -10f, 1e30f, -1e30f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        float[] v = new float[x.length];
        VectorKernels.erf(x, 0, v, 0, x.length);
        close(0.5204998778130465, v[0], 1e-7, "erf(0.5)");
        close(0.8427007929497149, v[1], 1e-7, "erf(1)");
        close(0.9953222650189527, v[2], 1e-7, "erf(2)");
        for (int i = 0; i < 3; i++) {
            same(-v[i], v[i + 3], "erf(-x) = -erf(x) at " + x[i]);
        }
        same(0f, v[6], "erf(0)");
        same(-0f, v[7], "erf(-0)");
        for (int i = 8; i < 16; i += 2) {
            same(1f, v[i], "erf(" + x[i] + ")");
            same(-1f, v[i + 1], "erf(" + x[i + 1] + ")");
        }
        assertTrue(Float.isNaN(v[16]), "erf(NaN)");
        // erf(-x) = -erf(x) bit for bit over a range
        float[] pos = new float[1000];
        float[] neg = new float[1000];
        for (int i = 0; i < pos.length; i++) {
            pos[i] = i * 0.00731f;
            neg[i] = -pos[i];
        }
        float[] ep = new float[1000];
        float[] en = new float[1000];
        VectorKernels.erf(pos, 0, ep, 0, 1000);
        VectorKernels.erf(neg, 0, en, 0, 1000);
        for (int i = 0; i < pos.length; i++) {
            same(-ep[i], en[i], "odd at " + pos[i]);
        }
        // monotone (non-decreasing) on a fine grid: no visible seam at the branch point 1
        float prev = -2;
        for (int i = 0; i < 1000; i++) {
            float[] one = {0.9f + i * 0.0002f};
            float[] r = new float[1];
            VectorKernels.erf(one, 0, r, 0, 1);
            assertTrue(r[0] >= prev, "erf non-decreasing at " + one[0]);
            prev = r[0];
        }
        assertTrue(F.length() >= 1);
    }
}
