package dev.lorakit.tensor;

import java.util.Arrays;

/**
 * The dimensions of a row-major tensor, outermost first (PyTorch order: a Linear weight is
 * [out, in]). Immutable; a rank-0 shape (scalar) has one element.
 */
public final class Shape {
    private final int[] dims;
    private final long size;

    private Shape(int[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("negative dimension " + dims[i] + " in shape " + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, dims[i]);
        }
        this.dims = dims;
        this.size = n;
    }

    /** A shape with the given dimensions (copied). */
    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    /** A shape from long dimensions, as found in file headers; each must fit an int. */
    public static Shape ofLongs(long... dims) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("dimension " + dims[i] + " out of range in shape " + Arrays.toString(dims));
            }
            d[i] = (int) dims[i];
        }
        return new Shape(d);
    }

    /** Number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** Dimension i; negative i counts from the end (-1 is the innermost). */
    public int dim(int i) {
        return dims[i < 0 ? dims.length + i : i];
    }

    /** Total number of elements. */
    public long size() {
        return size;
    }

    /** A copy of the dimensions. */
    public int[] dims() {
        return dims.clone();
    }

    /** Dimensions as longs (for JSON headers). */
    public long[] toLongs() {
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            d[i] = dims[i];
        }
        return d;
    }

    /** Number of elements in one step of dimension i (the row-major stride, in elements). */
    public long stride(int i) {
        long s = 1;
        for (int j = dims.length - 1; j > i; j--) {
            s *= dims[j];
        }
        return s;
    }

    /** The shape without its first dimension (what one index of dimension 0 selects). */
    public Shape dropFirst() {
        if (dims.length == 0) {
            throw new IllegalStateException("cannot drop a dimension of a scalar shape");
        }
        return new Shape(Arrays.copyOfRange(dims, 1, dims.length));
    }

    /** The same shape with dimension 0 replaced. */
    public Shape withFirst(int first) {
        int[] d = dims.clone();
        d[0] = first;
        return new Shape(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
