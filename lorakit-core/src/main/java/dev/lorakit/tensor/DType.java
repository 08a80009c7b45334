package dev.lorakit.tensor;

import java.util.Locale;

/**
 * Element types of stored tensors, named as safetensors names them, plus llama.cpp's block
 * quantized types.
 *
 * <p>Only {@link #F32}, {@link #F16} and {@link #BF16} are compute types: the kernels read them
 * directly (converting to float32 on the fly). The integer and fp8 types exist so that any valid
 * safetensors file can be opened, inspected and round-tripped.
 *
 * <p>{@link #Q8_0} and {@link #Q4_0} are block types ({@link #isQuantized()}): elements come in
 * blocks of {@link #blockSize()} along the innermost dimension, each block stored in
 * {@link #blockBytes()} bytes, so there is no per-element byte size; use {@link #bytesFor(long)}.
 * The matrix-vector and matmul kernels read them directly (see {@code dev.lorakit.tensor.quant}
 * for the exact block layouts). They have no safetensors dtype: files store their raw blocks as
 * U8 (see {@code dev.lorakit.io.safetensors.QuantizedStorage}).
 *
 * <p>{@link #Q8_0_R32} and {@link #Q4_0_R32} hold exactly the same blocks in the decode layout of
 * {@code dev.lorakit.tensor.quant.RowGroups}: rows interleaved in groups of 32, block by block, so
 * that one vector lane serves one row. They exist only in memory (an inference model repacks its
 * Q8_0/Q4_0 projections once at load, see {@link #rowInterleaved()}); no file stores them, and
 * rows cannot be sliced out of them.
 */
public enum DType {
    BOOL(1, false),
    U8(1, false),
    I8(1, false),
    F8_E4M3(1, false),
    F8_E5M2(1, false),
    I16(2, false),
    U16(2, false),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    U32(4, false),
    F32(4, true),
    I64(8, false),
    U64(8, false),
    F64(8, false),
    /** llama.cpp Q8_0: blocks of 32 weights, an fp16 scale d and 32 int8 q; w = q d (34 bytes). */
    Q8_0(32, 34),
    /** llama.cpp Q4_0: blocks of 32 weights, an fp16 scale d and 16 bytes of 4-bit q; w = (q - 8) d (18 bytes). */
    Q4_0(32, 18),
    /** Q8_0 blocks with rows interleaved in groups of 32 (in memory only; see RowGroups). */
    Q8_0_R32(32, 34),
    /** Q4_0 blocks with rows interleaved in groups of 32 (in memory only; see RowGroups). */
    Q4_0_R32(32, 18);

    private final int blockSize;
    private final int blockBytes;
    private final boolean compute;

    DType(int byteSize, boolean compute) {
        this.blockSize = 1;
        this.blockBytes = byteSize;
        this.compute = compute;
    }

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.compute = false;
    }

    /**
     * Bytes per element. Block types have none and throw: size them with {@link #bytesFor}.
     *
     * @throws UnsupportedOperationException for a block type
     */
    public int byteSize() {
        if (blockSize != 1) {
            throw new UnsupportedOperationException(this + " is a block type (" + blockSize + " elements in " + blockBytes
                    + " bytes) with no per-element byte size; use bytesFor(elements)");
        }
        return blockBytes;
    }

    /** True for the block-quantized types ({@link #Q8_0}, {@link #Q4_0} and their row-interleaved forms). */
    public boolean isQuantized() {
        return blockSize != 1;
    }

    /** True for the in-memory decode layouts {@link #Q8_0_R32} and {@link #Q4_0_R32}. */
    public boolean isRowInterleaved() {
        return this == Q8_0_R32 || this == Q4_0_R32;
    }

    /**
     * The row-interleaved form of a block type: Q8_0 -&gt; Q8_0_R32, Q4_0 -&gt; Q4_0_R32 (itself for those).
     *
     * @throws IllegalArgumentException for a type that is not block-quantized
     */
    public DType rowInterleaved() {
        return switch (this) {
            case Q8_0, Q8_0_R32 -> Q8_0_R32;
            case Q4_0, Q4_0_R32 -> Q4_0_R32;
            default -> throw new IllegalArgumentException(this + " has no row-interleaved form (expected Q8_0 or Q4_0)");
        };
    }

    /** The row-major type with the same blocks: Q8_0 for Q8_0_R32, Q4_0 for Q4_0_R32, otherwise this type. */
    public DType rowMajor() {
        return switch (this) {
            case Q8_0_R32 -> Q8_0;
            case Q4_0_R32 -> Q4_0;
            default -> this;
        };
    }

    /** Elements per block: 32 for the block types, 1 for all others. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block: the element size for plain types, 34 for Q8_0 (and Q8_0_R32), 18 for Q4_0 (and Q4_0_R32). */
    public int blockBytes() {
        return blockBytes;
    }

    /**
     * Bytes that {@code elements} elements occupy: elements x byteSize for plain types,
     * elements / 32 x blockBytes for block types.
     *
     * @throws IllegalArgumentException if elements is negative or not a whole number of blocks
     * @throws ArithmeticException on overflow
     */
    public long bytesFor(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("negative element count " + elements);
        }
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements are not a whole number of " + blockSize + "-element "
                    + this + " blocks");
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    /** True for the float types the kernels read directly (F32, F16, BF16). */
    public boolean isCompute() {
        return compute;
    }

    /**
     * The name used in safetensors headers ("F32", "BF16", ...).
     *
     * @throws UnsupportedOperationException for a block type, which safetensors has no dtype for
     */
    public String safetensorsName() {
        if (isQuantized()) {
            throw new UnsupportedOperationException(this + " has no safetensors dtype (stored as U8 bytes with metadata)");
        }
        return name();
    }

    /**
     * Looks a dtype up by its safetensors name.
     *
     * @return the dtype, or null if the name is not a known safetensors dtype (block types are not)
     */
    public static DType fromSafetensorsName(String name) {
        if (name == null) {
            return null;
        }
        try {
            DType d = DType.valueOf(name.toUpperCase(Locale.ROOT));
            return d.isQuantized() ? null : d;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Parses a torch dtype name as found in config.json ("float32", "bfloat16", "float16"). */
    public static DType fromTorchName(String name) {
        if (name == null) {
            return null;
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "float32", "float" -> F32;
            case "float16", "half" -> F16;
            case "bfloat16" -> BF16;
            case "float64", "double" -> F64;
            default -> null;
        };
    }

    /** The torch name of a compute dtype ("float32", "float16", "bfloat16"). */
    public String torchName() {
        return switch (this) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case F64 -> "float64";
            default -> name().toLowerCase(Locale.ROOT);
        };
    }
}
