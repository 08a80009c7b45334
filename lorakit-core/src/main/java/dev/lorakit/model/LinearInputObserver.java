package dev.lorakit.model;

/**
 * Sees the input rows of a {@link Linear} layer just before its product, for calibration
 * (e.g. the per-input-feature activation norms that Wanda pruning weighs weights by). Each
 * projection reports its own input: the normed hidden state for q/k/v and gate/up, the attention
 * output for o_proj, the SwiGLU product for down_proj, the final normed state for lm_head.
 * Called on the forward's thread, one layer at a time; the array must not be kept or changed.
 */
@FunctionalInterface
public interface LinearInputObserver {
    /**
     * @param module the layer's module name (e.g. "model.layers.3.mlp.down_proj", or "lm_head")
     * @param x the input, rows x inFeatures row-major from index 0 (the array may be longer)
     * @param rows input rows in this call
     * @param inFeatures the layer's input width
     */
    void observe(String module, float[] x, int rows, int inFeatures);
}
