package dev.lorakit.tensor.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.safetensors.QuantizedStorage;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The row-interleaved decode layout: interleaving is a byte permutation (it round-trips
 * exactly), every element reads back as the row-major tensor's dequantized value, the bytes sit
 * where the layout documentation says, and the layout is refused wherever it could leak into a
 * file or be mistaken for row-major blocks.
 */
class RowGroupsTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static Arena arena;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        arena = Arena.ofShared();
    }

    @AfterAll
    static void close() {
        arena.close();
    }

    static List<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            for (int n : new int[] {1, 31, 32, 33, 64, 95, 130}) {
                for (int k : new int[] {32, 96, 256}) {
                    out.add(Arguments.of(dt, n, k));
                }
            }
        }
        return out;
    }

    static Tensor quantized(DType dt, int n, int k, long seed) {
        Random rnd = new Random(seed);
        float[] v = new float[n * k];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * (1 + (i / k) % 5));
        }
        return BlockQuantizer.quantize(Tensor.ofFloats(v, n, k), dt);
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("shapes")
    void interleavingIsAByteExactRoundTrip(DType dt, int n, int k) {
        Tensor w = quantized(dt, n, k, 31L * n + k);
        Tensor r = RowGroups.interleave(w, arena);
        assertEquals(dt.rowInterleaved(), r.dtype());
        assertEquals(w.shape(), r.shape());
        assertEquals(w.byteSize(), r.byteSize(), "same bytes, permuted");
        Tensor back = RowGroups.deinterleave(r);
        assertEquals(dt, back.dtype());
        assertArrayEquals(w.segment().toArray(ValueLayout.JAVA_BYTE), back.segment().toArray(ValueLayout.JAVA_BYTE));
        if (n >= RowGroups.ROWS && n * k > 32) {
            assertFalse(Arrays.equals(w.segment().toArray(ValueLayout.JAVA_BYTE), r.segment().toArray(ValueLayout.JAVA_BYTE)),
                    "a whole group is really permuted");
        }
    }

    @ParameterizedTest(name = "{0} N={1} K={2}")
    @MethodSource("shapes")
    void everyElementReadsBackDequantized(DType dt, int n, int k) {
        Tensor w = quantized(dt, n, k, 7L * n + k);
        Tensor r = RowGroups.interleave(w, arena);
        float[] expected = Dequantize.toFloatArray(w);
        assertArrayEquals(expected, Dequantize.toFloatArray(r), "toFloatArray");
        assertArrayEquals(expected, r.toFloatArray(), "Tensor.toFloatArray");
        assertArrayEquals(expected, r.to(DType.F32).floatArray(), "Tensor.to(F32)");
        for (int i = 0; i < expected.length; i += 7) {
            assertEquals(expected[i], r.getFloat(i), "element " + i);
        }
        Random rnd = new Random(n);
        for (int t = 0; t < 50; t++) {
            int row = rnd.nextInt(n);
            int first = rnd.nextInt(k);
            int len = rnd.nextInt(k - first + 1);
            float[] a = new float[len + 3];
            float[] b = new float[len + 3];
            Dequantize.range(dt, w.segment(), row * dt.bytesFor(k), first, a, 1, len);
            RowGroups.dequantizeRow(r, row, first, b, 1, len);
            assertArrayEquals(a, b, "row " + row + " [" + first + ", " + (first + len) + ")");
        }
        for (int row = 0; row < n; row++) {
            for (int b = 0; b < k / 32; b++) {
                long blockOff = row * dt.bytesFor(k) + (long) b * dt.blockBytes();
                assertEquals(BlockFormat.scale(w.segment(), blockOff), RowGroups.scale(r, row, b));
                for (int j = 0; j < 32; j += 5) {
                    assertEquals(BlockFormat.quant(dt, w.segment(), blockOff, j), RowGroups.quant(r, row, b, j));
                }
            }
        }
    }

    /** The documented byte positions, checked on hand-made blocks: every byte of a group names its row and position. */
    @Test
    void bytesSitWhereTheDocumentationSays() {
        int n = 72; // two groups and 8 tail rows
        int k = 64;
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            int bb = dt.blockBytes();
            Tensor w = Tensor.zeros(dt, n, k);
            MemorySegment seg = w.segment();
            for (int row = 0; row < n; row++) {
                for (int b = 0; b < 2; b++) {
                    long off = row * dt.bytesFor(k) + (long) b * bb;
                    seg.set(I16, off, (short) (row * 2 + b)); // a distinct "scale"
                    for (int s = 2; s < bb; s++) {
                        seg.set(ValueLayout.JAVA_BYTE, off + s, (byte) (s * 7 + row + 3 * b));
                    }
                }
            }
            Tensor r = RowGroups.interleave(w, arena);
            MemorySegment out = r.segment();
            for (int g = 0; g < 2; g++) {
                for (int b = 0; b < 2; b++) {
                    long gb = RowGroups.groupBlockOffset(dt.rowInterleaved(), k, g, b);
                    assertEquals((long) g * 32 * dt.bytesFor(k) + (long) b * 32 * bb, gb);
                    for (int i = 0; i < 32; i++) {
                        int row = 32 * g + i;
                        assertEquals((short) (row * 2 + b), out.get(I16, gb + 2L * i), "scale of row " + row);
                        for (int s = 2; s < bb; s++) {
                            int q = s - 2; // quant byte index
                            long at = dt == DType.Q8_0
                                    ? gb + 64 + 32L * q + i
                                    : gb + 64 + 64L * (q / 2) + 4L * (i % 16) + 2L * (i / 16) + (q % 2);
                            assertEquals((byte) (s * 7 + row + 3 * b), out.get(ValueLayout.JAVA_BYTE, at), dt + " row " + row + " byte " + s);
                        }
                    }
                }
            }
            long tail = 64L * dt.bytesFor(k);
            assertArrayEquals(seg.asSlice(tail).toArray(ValueLayout.JAVA_BYTE), out.asSlice(tail).toArray(ValueLayout.JAVA_BYTE),
                    "rows after the last whole group stay row-major");
        }
    }

    @Test
    void nonFiniteScalesAndWrongInputsAreRefused() {
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            for (short bits : new short[] {(short) 0x7c00, (short) 0xfc00, (short) 0x7e00}) {
                Tensor w = quantized(dt, 33, 64, 3);
                w.segment().set(I16, 5 * dt.bytesFor(64) + dt.blockBytes(), bits);
                assertFalse(RowGroups.hasFiniteScales(w));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RowGroups.interleave(w, arena));
                assertTrue(e.getMessage().contains("row 5 block 1 has a non-finite fp16 scale"), e.getMessage());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> RowGroups.interleave(Tensor.zeros(DType.F32, 32, 32), arena));
        assertThrows(IllegalArgumentException.class, () -> RowGroups.interleave(Tensor.zeros(DType.Q4_0, 2, 32, 32), arena));
        Tensor r = RowGroups.interleave(quantized(DType.Q4_0, 64, 64, 1), arena);
        assertThrows(IllegalArgumentException.class, () -> RowGroups.interleave(r, arena), "already interleaved");
        assertThrows(UnsupportedOperationException.class, () -> r.slice(0, 32), "rows of a group cannot be sliced out");
        assertThrows(UnsupportedOperationException.class, () -> r.row(3));
        assertThrows(UnsupportedOperationException.class, () -> r.reshape(32, 128));
        assertEquals(r.shape(), r.reshape(64, 64).shape());
        assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(DType.Q4_0_R32, Shape.of(2, 32, 32), r.segment().asSlice(0, 2 * 32 * 18)));
        assertThrows(UnsupportedOperationException.class, () -> Tensor.zeros(DType.F32, 4, 32).to(DType.Q4_0_R32));
        assertThrows(IllegalArgumentException.class, () -> BlockQuantizer.quantize(Tensor.zeros(DType.F32, 4, 32), DType.Q8_0_R32));
        assertThrows(IllegalArgumentException.class, () -> Dequantize.range(DType.Q4_0_R32, r.segment(), 0, 0, new float[32], 0, 32));
    }

    @Test
    void convertingBackKeepsTheBlocks() {
        for (DType dt : new DType[] {DType.Q8_0, DType.Q4_0}) {
            Tensor w = quantized(dt, 70, 64, 9);
            Tensor r = RowGroups.interleave(w, arena);
            Tensor back = r.to(dt);
            assertEquals(dt, back.dtype());
            assertArrayEquals(w.segment().toArray(ValueLayout.JAVA_BYTE), back.segment().toArray(ValueLayout.JAVA_BYTE), dt + ": the same blocks");
            Tensor same = r.to(r.dtype());
            assertEquals(r.dtype(), same.dtype());
            assertArrayEquals(r.segment().toArray(ValueLayout.JAVA_BYTE), same.segment().toArray(ValueLayout.JAVA_BYTE));
            assertTrue(RowGroups.hasFiniteScales(w));
        }
    }

    @Test
    void theLayoutNeverReachesAFile() {
        Tensor r = RowGroups.interleave(quantized(DType.Q8_0, 32, 32, 2), arena);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafetensorsWriter.write(dir.resolve("x.safetensors"), Map.of("w", r)));
        assertTrue(e.getMessage().contains("in-memory layout"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> QuantizedStorage.storedShape(DType.Q4_0_R32, Shape.of(32, 32)));
        assertEquals(null, DType.fromSafetensorsName("Q4_0_R32"));
        assertTrue(DType.Q4_0_R32.isQuantized() && DType.Q4_0_R32.isRowInterleaved() && !DType.Q4_0.isRowInterleaved());
        assertEquals(DType.Q4_0, DType.Q4_0_R32.rowMajor());
        assertEquals(DType.Q8_0_R32, DType.Q8_0.rowInterleaved());
        assertThrows(IllegalArgumentException.class, DType.F32::rowInterleaved);
    }
}
