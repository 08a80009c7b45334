package dev.lorakit.tensor;

import dev.lorakit.tensor.kernel.Convert;
import dev.lorakit.tensor.quant.BlockQuantizer;
import dev.lorakit.tensor.quant.Dequantize;
import dev.lorakit.tensor.quant.RowGroups;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A dense, row-major, little-endian tensor over a {@link MemorySegment}: either on the heap
 * (F32 tensors are backed by a {@code float[]} so kernels can use it directly) or memory-mapped
 * from a file (weights stay in their stored dtype and are converted on the fly).
 *
 * <p>Views ({@link #slice}, {@link #row}, {@link #reshape}) share the segment; nothing is copied.
 *
 * <p>Block-quantized tensors ({@link DType#isQuantized()}: Q8_0, Q4_0) hold their raw blocks;
 * their shape is the logical one ([out, in] for a weight), whose last dimension must be a
 * multiple of the block size, so every row is a whole number of blocks. They are read by the
 * matvec and matmul kernels and element-wise through {@link #getFloat}; {@link #setFloat} is not
 * available (quantize with {@link BlockQuantizer}). The row-interleaved block types
 * ({@link DType#isRowInterleaved()}) cannot be sliced into rows.
 */
public final class Tensor {
    /** Little-endian unaligned layouts used for every element access. */
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;
    private final Shape shape;
    private final MemorySegment data;

    private Tensor(DType dtype, Shape shape, MemorySegment data) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = Objects.requireNonNull(shape, "shape");
        this.data = Objects.requireNonNull(data, "data");
        if (dtype.isQuantized() && (shape.rank() == 0 || shape.dim(-1) % dtype.blockSize() != 0)) {
            throw new IllegalArgumentException("a " + dtype + " tensor needs a last dimension that is a multiple of "
                    + dtype.blockSize() + " (whole blocks per row), got shape " + shape);
        }
        if (dtype.isRowInterleaved() && shape.rank() != 2) {
            throw new IllegalArgumentException("a " + dtype + " tensor is a matrix [rows, columns], got shape " + shape);
        }
        long expected = dtype.bytesFor(shape.size());
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("tensor of " + dtype + shape + " needs " + expected
                    + " bytes but the segment has " + data.byteSize());
        }
    }

    /** Wraps an existing segment (heap or mapped); its byte size must match dtype and shape. */
    public static Tensor wrap(DType dtype, Shape shape, MemorySegment data) {
        return new Tensor(dtype, shape, data);
    }

    /** A zero-filled heap tensor (F32 is backed by a float[]; F16/BF16 by a short[]; block types by a byte[]). */
    public static Tensor zeros(DType dtype, int... dims) {
        return zeros(dtype, Shape.of(dims));
    }

    /** A zero-filled heap tensor of the given shape. */
    public static Tensor zeros(DType dtype, Shape shape) {
        long n = shape.size();
        if (dtype.isQuantized()) {
            if (shape.rank() == 0 || shape.dim(-1) % dtype.blockSize() != 0) {
                throw new IllegalArgumentException("a " + dtype + " tensor needs a last dimension that is a multiple of "
                        + dtype.blockSize() + " (whole blocks per row), got shape " + shape);
            }
            long bytes = dtype.bytesFor(n);
            if (bytes > Integer.MAX_VALUE - 16L) {
                throw new IllegalArgumentException("heap tensor " + dtype + shape + " is too large for a Java array");
            }
            return new Tensor(dtype, shape, MemorySegment.ofArray(new byte[(int) bytes]));
        }
        if (n * dtype.byteSize() > Integer.MAX_VALUE - 16L) {
            throw new IllegalArgumentException("heap tensor " + dtype + shape + " is too large for a Java array");
        }
        int len = (int) n;
        MemorySegment seg = switch (dtype.byteSize()) {
            case 4 -> dtype == DType.F32 ? MemorySegment.ofArray(new float[len]) : MemorySegment.ofArray(new int[len]);
            case 2 -> MemorySegment.ofArray(new short[len]);
            case 8 -> MemorySegment.ofArray(new long[len]);
            default -> MemorySegment.ofArray(new byte[len]);
        };
        return new Tensor(dtype, shape, seg);
    }

    /** Wraps a float array as an F32 tensor without copying. */
    public static Tensor ofFloats(float[] values, int... dims) {
        Shape s = Shape.of(dims);
        if (s.size() != values.length) {
            throw new IllegalArgumentException("shape " + s + " has " + s.size() + " elements but the array has " + values.length);
        }
        return new Tensor(DType.F32, s, MemorySegment.ofArray(values));
    }

    /**
     * An F32 view of {@code values[offset .. offset + prod(dims))} without copying (for
     * activation buffers larger than the rows in use).
     */
    public static Tensor view(float[] values, int offset, int... dims) {
        Shape s = Shape.of(dims);
        if (offset < 0 || offset + s.size() > values.length) {
            throw new IllegalArgumentException("view of " + s + " at offset " + offset + " exceeds an array of " + values.length);
        }
        return new Tensor(DType.F32, s, MemorySegment.ofArray(values).asSlice(4L * offset, 4L * s.size()));
    }

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    /** The backing bytes (a view for sliced tensors). */
    public MemorySegment segment() {
        return data;
    }

    /** Number of elements. */
    public long size() {
        return shape.size();
    }

    /** Number of bytes of data. */
    public long byteSize() {
        return data.byteSize();
    }

    /** Dimension i (negative counts from the end). */
    public int dim(int i) {
        return shape.dim(i);
    }

    /**
     * The float[] behind a heap F32 tensor, or null if this tensor is not one. Use with
     * {@link #arrayOffset()}: element i is at {@code floatArray()[arrayOffset() + i]}.
     */
    public float[] floatArray() {
        if (dtype != DType.F32 || data.isNative()) {
            return null;
        }
        return data.heapBase().orElse(null) instanceof float[] f ? f : null;
    }

    /** Element offset of this (possibly sliced) tensor inside {@link #floatArray()}. */
    public int arrayOffset() {
        return (int) (data.address() / Float.BYTES);
    }

    /** Element i (flat, row-major) converted to float. Compute dtypes, F64 and the block types only. */
    public float getFloat(long i) {
        if (dtype.isRowInterleaved()) {
            return RowGroups.element(this, i);
        }
        if (dtype.isQuantized()) {
            return Dequantize.element(dtype, data, i);
        }
        long off = i * dtype.byteSize();
        return switch (dtype) {
            case F32 -> data.get(F32_LE, off);
            case BF16 -> Convert.bf16ToF32(data.get(I16_LE, off));
            case F16 -> Float.float16ToFloat(data.get(I16_LE, off));
            case F64 -> (float) data.get(F64_LE, off);
            default -> throw new UnsupportedOperationException("getFloat on a " + dtype + " tensor");
        };
    }

    /** Stores v at flat index i, rounding to the tensor's dtype (round-to-nearest-even). Not for block types. */
    public void setFloat(long i, float v) {
        if (dtype.isQuantized()) {
            throw new UnsupportedOperationException("setFloat on a " + dtype
                    + " tensor (quantize whole rows with BlockQuantizer)");
        }
        long off = i * dtype.byteSize();
        switch (dtype) {
            case F32 -> data.set(F32_LE, off, v);
            case BF16 -> data.set(I16_LE, off, Convert.f32ToBf16(v));
            case F16 -> data.set(I16_LE, off, Float.floatToFloat16(v));
            case F64 -> data.set(F64_LE, off, v);
            default -> throw new UnsupportedOperationException("setFloat on a " + dtype + " tensor");
        }
    }

    /** Element at a multi-dimensional index, converted to float. */
    public float get(int... index) {
        return getFloat(flatIndex(index));
    }

    /** Stores v at a multi-dimensional index. */
    public void set(float v, int... index) {
        setFloat(flatIndex(index), v);
    }

    private long flatIndex(int[] index) {
        if (index.length != shape.rank()) {
            throw new IllegalArgumentException("index of rank " + index.length + " for tensor of shape " + shape);
        }
        long flat = 0;
        for (int d = 0; d < index.length; d++) {
            int n = shape.dim(d);
            if (index[d] < 0 || index[d] >= n) {
                throw new IndexOutOfBoundsException("index " + index[d] + " out of range for dimension " + d + " of size " + n);
            }
            flat = flat * n + index[d];
        }
        return flat;
    }

    /** A view of rows [from, to) along dimension 0. */
    public Tensor slice(int from, int to) {
        int n = shape.dim(0);
        if (from < 0 || to > n || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of dimension 0 of size " + n);
        }
        long rowBytes = rowBytes();
        return new Tensor(dtype, shape.withFirst(to - from), data.asSlice(from * rowBytes, (to - from) * rowBytes));
    }

    /** A view of index i along dimension 0 (one rank lower). */
    public Tensor row(int i) {
        int n = shape.dim(0);
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("row " + i + " of dimension 0 of size " + n);
        }
        long rowBytes = rowBytes();
        return new Tensor(dtype, shape.dropFirst(), data.asSlice(i * rowBytes, rowBytes));
    }

    /** Bytes of one index of dimension 0 (block types: whole blocks, so rank 1 cannot be sliced). */
    private long rowBytes() {
        long stride = shape.stride(0);
        if (dtype.isRowInterleaved()) {
            throw new UnsupportedOperationException("cannot take rows of a " + dtype + " tensor " + shape
                    + ": its rows are interleaved in groups of " + RowGroups.ROWS);
        }
        if (dtype.isQuantized() && stride % dtype.blockSize() != 0) {
            throw new UnsupportedOperationException("cannot take rows of a rank-" + shape.rank() + " " + dtype + " tensor "
                    + shape + ": a row must be whole " + dtype.blockSize() + "-element blocks");
        }
        return dtype.bytesFor(stride);
    }

    /** A view with another shape of the same number of elements. */
    public Tensor reshape(int... dims) {
        Shape s = Shape.of(dims);
        if (dtype.isRowInterleaved() && !s.equals(shape)) {
            throw new UnsupportedOperationException("cannot reshape a " + dtype + " tensor " + shape
                    + ": its rows are interleaved in groups of " + RowGroups.ROWS);
        }
        if (s.size() != shape.size()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " (" + shape.size() + " elements) to " + s);
        }
        return new Tensor(dtype, s, data);
    }

    /** All elements converted to a new float[] (for small tensors and tests). */
    public float[] toFloatArray() {
        if (size() > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("tensor " + shape + " is too large for a float[]");
        }
        if (dtype.isQuantized()) {
            return Dequantize.toFloatArray(this);
        }
        float[] out = new float[(int) size()];
        if (dtype == DType.F64) {
            for (int i = 0; i < out.length; i++) {
                out[i] = getFloat(i);
            }
        } else {
            Convert.toF32(data, 0, dtype, out, 0, out.length);
        }
        return out;
    }

    /**
     * A heap copy converted to the given dtype: a compute dtype (rounding to nearest even) or F64;
     * a block type (quantizing like llama.cpp, see {@link BlockQuantizer}; the source must be a
     * compute dtype or already that block type). Block-quantized sources are dequantized exactly.
     */
    public Tensor to(DType target) {
        if (target.isRowInterleaved() && target != dtype) {
            throw new UnsupportedOperationException("convert to " + target.rowMajor() + ", then interleave with RowGroups.interleave");
        }
        if (target.isQuantized()) {
            if (target == dtype) {
                return copy();
            }
            if (dtype.isRowInterleaved() && target == dtype.rowMajor()) {
                return RowGroups.deinterleave(this); // the same blocks (re-quantizing could change them)
            }
            return BlockQuantizer.quantize(dtype.isQuantized() ? to(DType.F32) : this, target);
        }
        if (dtype.isQuantized()) {
            Tensor f32 = Dequantize.toF32(this);
            return target == DType.F32 ? f32 : f32.to(target);
        }
        Tensor out = zeros(target, shape);
        if (target == DType.F32 && dtype.isCompute()) {
            Convert.toF32(data, 0, dtype, out.floatArray(), 0, (int) size());
            return out;
        }
        for (long i = 0; i < size(); i++) {
            out.setFloat(i, getFloat(i));
        }
        return out;
    }

    /**
     * A copy in native memory owned by {@code arena} (same dtype and shape). Kernels read native
     * segments through one code path with memory-mapped weights, which keeps them fast.
     */
    public Tensor copyToNative(java.lang.foreign.Arena arena) {
        MemorySegment seg = arena.allocate(Math.max(1, data.byteSize()), 64).asSlice(0, data.byteSize());
        MemorySegment.copy(data, 0, seg, 0, data.byteSize());
        return new Tensor(dtype, shape, seg);
    }

    /** A heap copy with the same dtype and shape. */
    public Tensor copy() {
        Tensor out = zeros(dtype, shape);
        MemorySegment.copy(data, 0, out.data, 0, data.byteSize());
        return out;
    }

    @Override
    public String toString() {
        return "Tensor(" + dtype + shape + (data.isMapped() ? ", mapped" : data.isNative() ? ", native" : "") + ")";
    }
}
