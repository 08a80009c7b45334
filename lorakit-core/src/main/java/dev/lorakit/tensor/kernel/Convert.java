package dev.lorakit.tensor.kernel;

import dev.lorakit.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Conversions between the stored float formats (F16, BF16) and float32: scalar helpers and a
 * bulk Vector-API conversion from a memory segment into a float[] (with a scalar twin).
 */
public final class Convert {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final float TWO_POW_112 = 0x1p112f;

    private Convert() {
    }

    /** bfloat16 bits to float32 (exact). */
    public static float bf16ToF32(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float32 to bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN. */
    public static short f32ToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /**
     * Converts n elements of a compute dtype starting at byte offset {@code byteOff} of {@code src}
     * to float32 into {@code dst[off .. off+n)}.
     */
    public static void toF32(MemorySegment src, long byteOff, DType dtype, float[] dst, int off, int n) {
        if (KernelMode.SCALAR) {
            toF32Scalar(src, byteOff, dtype, dst, off, n);
            return;
        }
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, F32_LE, byteOff, dst, off, n);
            case BF16 -> bf16ToF32Vector(src, byteOff, dst, off, n);
            case F16 -> f16ToF32Vector(src, byteOff, dst, off, n);
            default -> throw new IllegalArgumentException("cannot convert " + dtype + " to float32");
        }
    }

    /** Scalar twin of {@link #toF32}. */
    public static void toF32Scalar(MemorySegment src, long byteOff, DType dtype, float[] dst, int off, int n) {
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    dst[off + i] = src.get(F32_LE, byteOff + 4L * i);
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[off + i] = bf16ToF32(src.get(I16_LE, byteOff + 2L * i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[off + i] = Float.float16ToFloat(src.get(I16_LE, byteOff + 2L * i));
                }
            }
            default -> throw new IllegalArgumentException("cannot convert " + dtype + " to float32");
        }
    }

    /** Loads one vector of bf16 values at byteOff as float32 lanes. */
    static FloatVector loadBf16(MemorySegment src, long byteOff) {
        ShortVector s = ShortVector.fromMemorySegment(S, src, byteOff, LE);
        IntVector i = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Loads one vector of fp16 values at byteOff as float32 lanes. The halves are sign-extended
     * to ints and shifted left by 13, which puts the sign at bit 31 and exponent and mantissa at
     * bits 13..27 (the sign copies at bits 28..30 are masked off); read as a float32 and
     * multiplied by 2^112 (rebiasing the exponent from 15 to 127) that is exactly the half's value
     * for zeros, subnormals and normals. Infinities and NaNs (the only results &gt;= 2^16 in
     * magnitude) then get the all-ones float32 exponent, keeping their mantissa bits.
     */
    static FloatVector loadF16(MemorySegment src, long byteOff) {
        ShortVector s = ShortVector.fromMemorySegment(S, src, byteOff, LE);
        IntVector h = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        IntVector bits = h.lanewise(VectorOperators.LSHL, 13).and(0x8fffe000);
        IntVector scaled = bits.reinterpretAsFloats().mul(TWO_POW_112).reinterpretAsInts();
        VectorMask<Integer> special = scaled.and(0x7fffffff).compare(VectorOperators.GE, 0x47800000);
        return scaled.lanewise(VectorOperators.OR, 0x7f800000, special).reinterpretAsFloats();
    }

    private static void bf16ToF32Vector(MemorySegment src, long byteOff, float[] dst, int off, int n) {
        int step = F.length();
        int i = 0;
        for (; i <= n - step; i += step) {
            loadBf16(src, byteOff + 2L * i).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = bf16ToF32(src.get(I16_LE, byteOff + 2L * i));
        }
    }

    static void f16ToF32Vector(MemorySegment src, long byteOff, float[] dst, int off, int n) {
        int step = F.length();
        int i = 0;
        for (; i <= n - step; i += step) {
            loadF16(src, byteOff + 2L * i).intoArray(dst, off + i);
        }
        for (; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(src.get(I16_LE, byteOff + 2L * i));
        }
    }
}
