package dev.lorakit.nn;

import dev.lorakit.tensor.Tensor;

/** Up-front argument checks shared by the layers: sizes, array lengths, weight shapes. */
final class Require {
    private Require() {
    }

    /** Every size must be non-negative (zero rows are allowed and do nothing). */
    static void sizes(int... sizes) {
        for (int s : sizes) {
            if (s < 0) {
                throw new IllegalArgumentException("negative size " + s);
            }
        }
    }

    /** a holds at least n floats. */
    static void length(String name, float[] a, long n) {
        if (a == null) {
            throw new IllegalArgumentException(name + " is null");
        }
        if (a.length < n) {
            throw new IllegalArgumentException(name + " has " + a.length + " floats, needs at least " + n);
        }
    }

    /** a is null (skipped) or holds at least n floats. */
    static void lengthOrNull(String name, float[] a, long n) {
        if (a != null) {
            length(name, a, n);
        }
    }

    /** ids holds at least n ints. */
    static void length(String name, int[] a, long n) {
        if (a == null) {
            throw new IllegalArgumentException(name + " is null");
        }
        if (a.length < n) {
            throw new IllegalArgumentException(name + " has " + a.length + " ints, needs at least " + n);
        }
    }

    /** w is a rank-2 tensor [rows, cols]. */
    static void matrix(String name, Tensor w, int rows, int cols) {
        if (w.shape().rank() != 2 || w.dim(0) != rows || w.dim(1) != cols) {
            throw new IllegalArgumentException(name + " must be [" + rows + ", " + cols + "], got " + w);
        }
    }

    /**
     * The arrays are pairwise distinct (nulls ignored): outputs must not share an array with an
     * input. {@code names} lists the arrays' names, comma-separated, for the message.
     */
    static void distinct(String what, String names, float[]... arrays) {
        for (int i = 0; i < arrays.length; i++) {
            for (int j = i + 1; j < arrays.length; j++) {
                if (arrays[i] != null && arrays[i] == arrays[j]) {
                    String[] n = names.split(", ");
                    throw new IllegalArgumentException(what + ": " + n[i] + " and " + n[j] + " must be different arrays");
                }
            }
        }
    }
}
