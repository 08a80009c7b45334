package dev.lorakit.train;

import java.util.Objects;

/**
 * One trainable tensor as the optimizer sees it: a name, its values and its gradient, each a
 * run of {@code size} floats inside a (possibly shared) array, so one buffer per role can hold
 * every parameter and every gradient; and whether weight decay applies to it (matrices yes,
 * RMSNorm weights and biases no, as in nanoGPT/llm.c and the Hugging Face Trainer).
 *
 * @param name         the parameter's name (as in the adapter file, e.g. {@code ...q_proj.lora_A.weight})
 * @param values       the array holding the values
 * @param valuesOffset where the values start in {@code values}
 * @param grads        the array holding the gradient
 * @param gradsOffset  where the gradient starts in {@code grads}
 * @param size         number of elements
 * @param decay        true if the optimizer's weight decay applies to this parameter
 */
public record NamedParameter(String name, float[] values, int valuesOffset, float[] grads, int gradsOffset, int size,
                             boolean decay) {
    public NamedParameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(grads, "grads");
        if (size < 0 || valuesOffset < 0 || gradsOffset < 0
                || valuesOffset > values.length - size || gradsOffset > grads.length - size) {
            throw new IllegalArgumentException("parameter " + name + ": " + size + " elements at offsets " + valuesOffset
                    + "/" + gradsOffset + " do not fit arrays of " + values.length + "/" + grads.length);
        }
        if (values == grads && valuesOffset < gradsOffset + size && gradsOffset < valuesOffset + size) {
            throw new IllegalArgumentException("parameter " + name + ": values and gradient overlap");
        }
    }

    /** A parameter weight decay applies to (a matrix), inside shared arrays. */
    public NamedParameter(String name, float[] values, int valuesOffset, float[] grads, int gradsOffset, int size) {
        this(name, values, valuesOffset, grads, gradsOffset, size, true);
    }

    /** A parameter owning whole arrays of equal length, weight decay applying. */
    public static NamedParameter of(String name, float[] values, float[] grads) {
        return of(name, values, grads, true);
    }

    /** A parameter owning whole arrays of equal length; {@code decay} says whether weight decay applies. */
    public static NamedParameter of(String name, float[] values, float[] grads, boolean decay) {
        if (values.length != grads.length) {
            throw new IllegalArgumentException("parameter " + name + ": " + values.length + " values but "
                    + grads.length + " gradient elements");
        }
        return new NamedParameter(name, values, 0, grads, 0, values.length, decay);
    }

    /** Value i. */
    public float value(int i) {
        return values[valuesOffset + i];
    }

    /** Gradient element i. */
    public float grad(int i) {
        return grads[gradsOffset + i];
    }

    /** Sets the gradient to zero. */
    public void zeroGrad() {
        java.util.Arrays.fill(grads, gradsOffset, gradsOffset + size, 0f);
    }
}
