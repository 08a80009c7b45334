package dev.lorakit.io.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoraModuleTest {

    /** ||scaling * B A||_F with B A formed densely in float64 from the stored values. */
    private static double denseNorm(LoraModule m) {
        float[] a = m.a().toFloatArray(); // [R, in]
        float[] b = m.b().toFloatArray(); // [out, R]
        int r = m.rank();
        int in = m.inFeatures();
        int out = m.outFeatures();
        double sum = 0;
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += (double) b[o * r + k] * a[k * in + i];
                }
                d *= m.scaling();
                sum += d * d;
            }
        }
        return Math.sqrt(sum);
    }

    @ParameterizedTest
    @CsvSource({
        "1, F32, 1, 1, 1",
        "2, F32, 3, 5, 7",
        "3, F32, 8, 64, 48",
        "4, F32, 16, 2100, 33",
        "5, F32, 5, 17, 9000",
        "6, F16, 4, 40, 24",
        "7, BF16, 6, 3000, 70",
        "8, F32, 64, 96, 80",
    })
    void frobeniusNormMatchesTheDenseProduct(long seed, DType dtype, int r, int in, int out) {
        Random rng = new Random(seed);
        Tensor a = TinyAdapters.random(rng, dtype, 1 / Math.sqrt(in), r, in);
        Tensor b = TinyAdapters.random(rng, dtype, 0.7, out, r);
        double scaling = 0.25 + rng.nextDouble() * 3;
        LoraModule m = new LoraModule("model.layers.0.mlp.up_proj", a, b, scaling * r, scaling, false);
        double expected = denseNorm(m);
        double actual = m.deltaFrobeniusNorm();
        assertEquals(expected, actual, 1e-12 * expected, "r=" + r + " in=" + in + " out=" + out);
    }

    @Test
    void negativeScalingGivesAPositiveNormAndZeroBGivesZero() {
        Random rng = new Random(11);
        Tensor a = TinyAdapters.random(rng, DType.F32, 1, 3, 10);
        Tensor b = TinyAdapters.random(rng, DType.F32, 1, 6, 3);
        LoraModule pos = new LoraModule("m", a, b, 2, 2, false);
        LoraModule neg = new LoraModule("m", a, b, -2, -2, false);
        assertEquals(pos.deltaFrobeniusNorm(), neg.deltaFrobeniusNorm());
        assertTrue(pos.deltaFrobeniusNorm() > 0);
        LoraModule zero = new LoraModule("m", a, Tensor.zeros(DType.F32, 6, 3), 2, 2, false);
        assertEquals(0.0, zero.deltaFrobeniusNorm());
    }

    @Test
    void rankOneNormIsTheProductOfTheFactorNorms() {
        Tensor a = Tensor.ofFloats(new float[] {3, 4}, 1, 2);     // ||a|| = 5
        Tensor b = Tensor.ofFloats(new float[] {1, 2, 2}, 3, 1);  // ||b|| = 3
        LoraModule m = new LoraModule("m", a, b, 0.5, 0.5, false);
        assertEquals(7.5, m.deltaFrobeniusNorm());
    }

    @Test
    void sizesAndCounts() {
        Tensor a = Tensor.zeros(DType.BF16, 4, 10);
        Tensor b = Tensor.zeros(DType.F32, 7, 4);
        LoraModule m = new LoraModule("model.layers.0.self_attn.q_proj", a, b, 8, 2, false);
        assertEquals(4, m.rank());
        assertEquals(10, m.inFeatures());
        assertEquals(7, m.outFeatures());
        assertEquals(4 * (10 + 7), m.parameterCount());
        assertEquals(4 * 10 * 2 + 7 * 4 * 4, m.byteSize());
    }

    @Test
    void rejectsInconsistentFactors() {
        Tensor a = Tensor.zeros(DType.F32, 4, 10);
        assertThrows(IllegalArgumentException.class, () -> new LoraModule("m", a, Tensor.zeros(DType.F32, 7, 3), 1, 1, false));
        assertThrows(IllegalArgumentException.class, () -> new LoraModule("m", a, Tensor.zeros(DType.F32, 28), 1, 1, false));
        assertThrows(IllegalArgumentException.class, () -> new LoraModule("m", a, Tensor.zeros(DType.I32, 7, 4), 1, 1, false));
        assertThrows(IllegalArgumentException.class, () -> new LoraModule("", a, Tensor.zeros(DType.F32, 7, 4), 1, 1, false));
        LoraConfig c = LoraConfig.builder().r(8).targetModules("m").build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraModule.of("m", a, Tensor.zeros(DType.F32, 7, 4), c));
        assertTrue(e.getMessage().contains("rank 8"), e.getMessage());
    }

    @Test
    void ofTakesAlphaAndScalingFromTheConfig() {
        LoraConfig c = LoraConfig.builder().r(4).loraAlpha(8).useRslora(true).targetModules("q_proj").build();
        LoraModule m = LoraModule.of("model.layers.0.self_attn.q_proj", Tensor.zeros(DType.F32, 4, 3),
                Tensor.zeros(DType.F32, 5, 4), c);
        assertEquals(8.0, m.alpha());
        assertEquals(4.0, m.scaling());
    }
}
