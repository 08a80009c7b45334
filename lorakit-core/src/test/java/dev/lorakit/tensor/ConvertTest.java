package dev.lorakit.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lorakit.tensor.kernel.Convert;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ConvertTest {

    @Test
    void f16VectorConversionIsExactForEveryBitPattern() {
        int n = 1 << 16;
        Tensor t = Tensor.zeros(DType.F16, n);
        MemorySegment seg = t.segment();
        for (int i = 0; i < n; i++) {
            seg.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) i);
        }
        float[] vec = new float[n];
        float[] ref = new float[n];
        Convert.toF32(seg, 0, DType.F16, vec, 0, n);
        Convert.toF32Scalar(seg, 0, DType.F16, ref, 0, n);
        for (int i = 0; i < n; i++) {
            float expected = Float.float16ToFloat((short) i);
            assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(ref[i]), "scalar, half bits " + i);
            if (Float.isNaN(expected)) {
                assertEquals(true, Float.isNaN(vec[i]), "vector NaN, half bits " + i);
            } else {
                assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(vec[i]), "vector, half bits " + i);
            }
        }
    }

    @Test
    void bf16VectorConversionIsExactForEveryBitPatternWithOddTail() {
        int n = (1 << 16) + 7;
        Tensor t = Tensor.zeros(DType.BF16, n);
        for (int i = 0; i < n; i++) {
            t.segment().set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, (short) i);
        }
        float[] vec = new float[n + 3];
        Convert.toF32(t.segment(), 0, DType.BF16, vec, 3, n);
        for (int i = 0; i < n; i++) {
            assertEquals(((short) i & 0xffff) << 16, Float.floatToRawIntBits(vec[3 + i]), "bf16 bits " + i);
        }
    }

    @Test
    void bf16RoundingIsNearestEven() {
        Random rnd = new Random(1);
        for (int k = 0; k < 100_000; k++) {
            float v = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(20) - 10));
            short b = Convert.f32ToBf16(v);
            float back = Convert.bf16ToF32(b);
            // the two bf16 neighbours around v
            int bits = Float.floatToRawIntBits(v);
            float lo = Float.intBitsToFloat(bits & 0xffff0000);
            float hi = Float.intBitsToFloat((bits & 0xffff0000) + 0x10000);
            double dLo = Math.abs((double) v - lo);
            double dHi = Math.abs((double) v - hi);
            float expected = dLo < dHi ? lo : dHi < dLo ? hi : (((bits >>> 16) & 1) == 0 ? lo : hi);
            assertEquals(expected, back, "rounding of " + v);
        }
        assertEquals(true, Float.isNaN(Convert.bf16ToF32(Convert.f32ToBf16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, Convert.bf16ToF32(Convert.f32ToBf16(Float.POSITIVE_INFINITY)));
    }

    @Test
    void tensorViewsShareData() {
        Tensor t = Tensor.zeros(DType.F32, 4, 3);
        t.slice(1, 3).row(1).set(5f, 2);
        assertEquals(5f, t.get(2, 2));
        assertEquals(2 * 3 + 2, t.slice(2, 4).arrayOffset() + 2);
        Tensor b = t.to(DType.BF16).to(DType.F32);
        assertEquals(5f, b.get(2, 2));
    }
}
