package dev.lorakit.tensor.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link BlockQuantizer} and {@link Dequantize} against hand-computed blocks (llama.cpp's
 * reference rules: Q4_0's signed max / -8 scale, truncation of x/d + 8.5, clamping at 15, the
 * nibble layout; Q8_0's amax / 127 scale and roundf's halves away from zero), the per-block error
 * bound on random data, and the tensor-level behaviour of quantized tensors.
 */
class BlockQuantizerTest {

    static byte[] bytes(Tensor t) {
        return t.segment().toArray(ValueLayout.JAVA_BYTE);
    }

    static byte[] unsigned(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    @Test
    void workedQ4Block() {
        float[] x = {
            // low half, j = 0..15
            1.0f, 0.0f, 0.3f, -0.25f, 0.25f, 4.0f, 2.0f, -1.75f, 3.9f, -3.7f, 0.5f, -0.5f, 1.5f, -1.5f, 3.0f, -3.0f,
            // high half, j = 16..31 (x[16] and x[20] = -4 tie with x[5] = 4 in magnitude; the first, +4, is max)
            -4.0f, 1.0f, 0f, 0f, -4.0f, 0.75f, -0.75f, 2.5f, -2.5f, 3.5f, -3.5f, 0.1f, -0.1f, 1.25f, -1.25f, 0.0f};
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(x, 1, 32), DType.Q4_0);
        // max = +4 -> d = 4 / -8 = -0.5 (fp16 0xB800), id = -2; q = min(15, (int) (x * -2 + 8.5)):
        // low:  1->6  0->8  .3->7  -.25->9  .25->8  4->0  2->4  -1.75->12  3.9->0  -3.7->15 (15.9)
        //       .5->7  -.5->9  1.5->5  -1.5->11  3->2  -3->14
        // high: -4->15 (16.5 clamped)  1->6  0->8  0->8  -4->15  .75->7  -.75->10  2.5->3  -2.5->13
        //       3.5->1  -3.5->15 (15.5)  .1->8  -.1->8  1.25->6  -1.25->11  0->8
        // byte j = q[j] | q[j + 16] << 4
        byte[] expected = unsigned(0x00, 0xB8,
                0xF6, 0x68, 0x87, 0x89, 0xF8, 0x70, 0xA4, 0x3C, 0xD0, 0x1F, 0xF7, 0x89, 0x85, 0x6B, 0xB2, 0x8E);
        assertArrayEquals(expected, bytes(q));
        // (q - 8) d; q = 8 gives 0 * -0.5 = -0.0, as in ggml
        float[] back = {
            1.0f, -0f, 0.5f, -0.5f, -0f, 4.0f, 2.0f, -2.0f, 4.0f, -3.5f, 0.5f, -0.5f, 1.5f, -1.5f, 3.0f, -3.0f,
            -3.5f, 1.0f, -0f, -0f, -3.5f, 0.5f, -1.0f, 2.5f, -2.5f, 3.5f, -3.5f, -0f, -0f, 1.0f, -1.5f, -0f};
        assertArrayEquals(back, q.toFloatArray());
        assertArrayEquals(back, Dequantize.toFloatArray(q));
        for (int j = 0; j < 32; j++) {
            assertEquals(back[j], q.getFloat(j), "element " + j);
        }
    }

    @Test
    void q4NegativeMaxGivesPositiveScale() {
        float[] x = new float[32];
        x[3] = -2.0f;
        x[7] = 1.0f;
        x[19] = 2.0f; // same magnitude as the max but later: clamped to 15 -> 7 * 0.25 = 1.75
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(x, 1, 32), DType.Q4_0);
        byte[] b = bytes(q);
        // d = -2 / -8 = 0.25 (fp16 0x3400), id = 4: -2 -> 0, 1 -> 12 (12.5), 0 -> 8, 2 -> 15 (16.5)
        assertEquals(0x00, b[0] & 0xff);
        assertEquals(0x34, b[1] & 0xff);
        assertEquals(0xF0, b[2 + 3] & 0xff, "q[3] = 0 in the low nibble, q[19] = 15 in the high one");
        assertEquals(0x8C, b[2 + 7] & 0xff, "q[7] = 12, q[23] = 8");
        assertEquals(0x88, b[2] & 0xff, "zeros are q = 8");
        float[] back = q.toFloatArray();
        assertEquals(-2.0f, back[3]);
        assertEquals(1.0f, back[7]);
        assertEquals(0f, back[0]);
        assertEquals(1.75f, back[19]);
    }

    @Test
    void workedQ8BlockRoundsHalvesAwayFromZero() {
        float[] x = new float[32];
        float[] v = {-31.75f, 1.125f, -1.125f, 0.375f, -0.375f, 0.125f, -0.125f, 10.0f, 0.1f, 31.75f, 0f, 0.6f, -0.63f};
        System.arraycopy(v, 0, x, 0, v.length);
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(x, 1, 32), DType.Q8_0);
        byte[] b = bytes(q);
        // amax = 31.75 -> d = 0.25 (fp16 0x3400), id = 4; q = roundf(4 x)
        assertEquals(0x00, b[0] & 0xff);
        assertEquals(0x34, b[1] & 0xff);
        int[] expectedQ = {-127, 5, -5, 2, -2, 1, -1, 40, 0, 127, 0, 2, -3};
        for (int j = 0; j < 32; j++) {
            int want = j < expectedQ.length ? expectedQ[j] : 0;
            assertEquals(want, b[2 + j], "q[" + j + "]");
        }
        assertEquals(34, b.length);
        float[] back = q.toFloatArray();
        assertEquals(1.25f, back[1]);
        assertEquals(-1.25f, back[2]);
        assertEquals(-31.75f, back[0]);
        assertEquals(-0.75f, back[12]);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void zeroBlockHasZeroScale(DType dt) {
        Tensor q = BlockQuantizer.quantize(Tensor.zeros(DType.F32, 2, 64), dt);
        byte[] b = bytes(q);
        assertEquals(dt.bytesFor(128), b.length);
        for (int blk = 0; blk < 4; blk++) {
            int o = blk * dt.blockBytes();
            assertEquals(0, b[o]);
            // Q4_0: d = max / -8 = 0 / -8 = -0.0 (fp16 0x8000), as ggml stores it; Q8_0: +0.0
            assertEquals(dt == DType.Q4_0 ? (byte) 0x80 : 0, b[o + 1]);
            for (int j = 2; j < dt.blockBytes(); j++) {
                assertEquals(dt == DType.Q4_0 ? (byte) 0x88 : 0, b[o + j], "block " + blk + " byte " + j);
            }
        }
        float[] zeros = new float[128];
        java.util.Arrays.fill(zeros, dt == DType.Q4_0 ? -0f : 0f);
        assertArrayEquals(zeros, q.toFloatArray());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void errorPerBlockIsBoundedByTheScale(DType dt) {
        Random rnd = new Random(11 + dt.ordinal());
        int rows = 7;
        int cols = 256;
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (1 + (i / 32) % 5));
        }
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(x, rows, cols), dt);
        float[] back = q.toFloatArray();
        MemorySegment seg = q.segment();
        for (int blk = 0; blk < x.length / 32; blk++) {
            float amax = 0;
            float max = 0;
            for (int j = 0; j < 32; j++) {
                float v = x[blk * 32 + j];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = dt == DType.Q8_0 ? amax / 127f : max / -8f;
            float stored = BlockFormat.scale(seg, (long) blk * dt.blockBytes());
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(d)), stored, "fp16 scale of block " + blk);
            double scaleError = Math.abs(stored - d);
            for (int j = 0; j < 32; j++) {
                int i = blk * 32 + j;
                double err = Math.abs(back[i] - x[i]);
                double steps = dt == DType.Q8_0 ? 0.5 : (x[i] / d > 7.5 ? 1.0 : 0.5);
                double bound = steps * Math.abs(d) + (dt == DType.Q8_0 ? 127 : 8) * scaleError + 1e-6 * Math.abs(d);
                assertTrue(err <= bound, dt + " block " + blk + " element " + j + ": error " + err + " > " + bound);
            }
            // the element of largest magnitude is exact up to the fp16 rounding of d
            int at = -1;
            for (int j = 0; j < 32 && at < 0; j++) {
                if (Math.abs(x[blk * 32 + j]) == amax) {
                    at = j;
                }
            }
            double maxBack = back[blk * 32 + at];
            assertTrue(Math.abs(maxBack - x[blk * 32 + at]) <= (dt == DType.Q8_0 ? 127 : 8) * scaleError + 1e-6 * amax);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void quantizesStoredDtypesRowByRowInParallel(DType dt) {
        Random rnd = new Random(5);
        int rows = 37;
        int cols = 96;
        for (DType src : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            Tensor w = Tensor.zeros(src, rows, cols);
            for (long i = 0; i < w.size(); i++) {
                w.setFloat(i, (float) rnd.nextGaussian());
            }
            Tensor q = BlockQuantizer.quantize(w, dt);
            float[] f = w.toFloatArray();
            MemorySegment expected = MemorySegment.ofArray(new byte[(int) dt.bytesFor((long) rows * cols)]);
            for (int r = 0; r < rows; r++) {
                BlockQuantizer.quantizeRow(f, r * cols, cols, dt, expected, r * dt.bytesFor(cols));
            }
            assertArrayEquals(expected.toArray(ValueLayout.JAVA_BYTE), bytes(q), src + " -> " + dt);
            try (Arena arena = Arena.ofShared()) {
                Tensor nat = BlockQuantizer.quantize(w, dt, arena);
                assertTrue(nat.segment().isNative());
                assertArrayEquals(bytes(q), bytes(nat));
            }
            assertArrayEquals(bytes(q), bytes(w.to(dt)), "Tensor.to quantizes the same way");
        }
    }

    @Test
    void inputDimensionMustBeWholeBlocks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BlockQuantizer.quantize(Tensor.zeros(DType.F32, 4, 40), DType.Q4_0));
        assertTrue(e.getMessage().contains("multiple of 32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(DType.Q8_0, 4, 48));
        assertThrows(IllegalArgumentException.class, () -> BlockQuantizer.quantize(Tensor.zeros(DType.F32, 4, 32), DType.F16));
    }

    @Test
    void dtypeSizesAreBlockAware() {
        assertEquals(34 * 128L, DType.Q8_0.bytesFor(4096));
        assertEquals(18 * 128L, DType.Q4_0.bytesFor(4096));
        assertEquals(4 * 4096L, DType.F32.bytesFor(4096));
        assertEquals(32, DType.Q4_0.blockSize());
        assertEquals(18, DType.Q4_0.blockBytes());
        assertTrue(DType.Q4_0.isQuantized() && !DType.Q4_0.isCompute());
        assertThrows(UnsupportedOperationException.class, DType.Q8_0::byteSize);
        assertThrows(IllegalArgumentException.class, () -> DType.Q4_0.bytesFor(33));
        assertEquals(null, DType.fromSafetensorsName("Q4_0"), "no safetensors dtype");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void quantizedTensorsViewAndConvert(DType dt) {
        Random rnd = new Random(3);
        float[] x = new float[5 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        Tensor q = BlockQuantizer.quantize(Tensor.ofFloats(x, 5, 64), dt);
        float[] all = q.toFloatArray();
        assertEquals(Shape.of(5, 64), q.shape());
        assertEquals(dt.bytesFor(320), q.byteSize());
        Tensor row = q.row(3);
        assertEquals(Shape.of(64), row.shape());
        assertArrayEquals(java.util.Arrays.copyOfRange(all, 192, 256), row.toFloatArray());
        Tensor slice = q.slice(1, 4);
        assertArrayEquals(java.util.Arrays.copyOfRange(all, 64, 256), slice.toFloatArray());
        float[] partial = new float[40];
        Dequantize.range(dt, q.segment(), 2 * dt.bytesFor(64), 13, partial, 0, 40);
        assertArrayEquals(java.util.Arrays.copyOfRange(all, 128 + 13, 128 + 53), partial);
        float[] r2 = new float[64];
        Dequantize.row(q, 2, r2, 0);
        assertArrayEquals(java.util.Arrays.copyOfRange(all, 128, 192), r2);
        assertArrayEquals(all, q.to(DType.F32).floatArray());
        Tensor bf = q.to(DType.BF16);
        assertEquals(DType.BF16, bf.dtype());
        assertEquals(Shape.of(10, 32), q.reshape(10, 32).shape());
        assertThrows(IllegalArgumentException.class, () -> q.reshape(20, 16));
        assertThrows(UnsupportedOperationException.class, () -> q.setFloat(0, 1f));
        assertThrows(UnsupportedOperationException.class, () -> row.slice(0, 1), "a rank-1 row cannot be split into elements");
        assertArrayEquals(bytes(q), bytes(q.copy()));
    }
}
