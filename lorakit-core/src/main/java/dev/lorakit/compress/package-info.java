/**
 * Model compression for personal devices (the compressed base of CA-LoRA): block quantization
 * (Q8_0/Q4_0), unstructured and N:M pruning by magnitude or Wanda score, and structured
 * FFN-channel pruning, composed in that order (structured, element-wise, quantization) by
 * {@link dev.lorakit.compress.ModelCompressor} into a Hugging Face directory whose config.json
 * records what was done ({@link dev.lorakit.compress.CompressionRecord}); kept FFN channels are
 * listed in {@code pruning.json} ({@link dev.lorakit.compress.FfnPruning}) so LoRAs of the
 * original model can be sliced to fit. Calibration statistics (Wanda's input-feature norms) come
 * from one forward pass of the uncompressed model over a JSONL file
 * ({@link dev.lorakit.compress.CalibrationSet}, {@link dev.lorakit.compress.ActivationNorms}).
 */
package dev.lorakit.compress;
