package dev.lorakit.lora;

/**
 * A trainable or frozen side branch of one linear layer, added to the frozen product:
 * {@code y[rows, out] += branch(x[rows, in])}. LoRA is one; CA-LoRA's recovery module
 * {@code s U GELU(D x)} will be another. Implementations are stateless across calls apart from
 * their parameters and may be called from one thread at a time per layer.
 */
public interface AdapterBranch {
    /** Adds this branch's output for {@code rows} input rows (row-major, contiguous) to {@code y}. */
    void forward(float[] x, int rows, float[] y);

    /** Input features. */
    int inFeatures();

    /** Output features. */
    int outFeatures();
}
