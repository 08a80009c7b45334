/**
 * llama.cpp's block-quantized weight formats ({@link dev.lorakit.tensor.DType#Q8_0},
 * {@link dev.lorakit.tensor.DType#Q4_0}) as first-class tensors: the byte layouts
 * ({@link dev.lorakit.tensor.quant.BlockFormat}), the reference quantizer
 * ({@link dev.lorakit.tensor.quant.BlockQuantizer}, bit-identical to ggml's
 * {@code quantize_row_q8_0_ref} / {@code quantize_row_q4_0_ref}) and the exact scalar
 * dequantizer ({@link dev.lorakit.tensor.quant.Dequantize}) that defines what the kernels compute.
 *
 * <p>A quantized {@link dev.lorakit.tensor.Tensor} of logical shape [out, in] wraps out x in/32
 * raw blocks (row r is blocks [r*in/32, (r+1)*in/32), blocks run along the input dimension);
 * {@code in} must be a multiple of 32. The matrix-vector kernels
 * ({@link dev.lorakit.tensor.ops.Ops#matvec} and friends) and the packed matmul
 * ({@link dev.lorakit.tensor.kernel.Matmul#gemm}) read the blocks directly, decoding them in
 * registers or while packing, never into a dequantized copy of the matrix. Every dequantized
 * weight (q - 8) d or q d is exact in float32, so the matmul gives the same floats as over the
 * dequantized F32 matrix; the matrix-vector kernels sum q x per block and scale once per block,
 * which agrees with the dequantized product to float rounding.
 */
package dev.lorakit.tensor.quant;
