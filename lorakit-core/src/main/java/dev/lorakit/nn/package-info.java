/**
 * The training kernels of a Llama block, one small final class per layer with static
 * {@code forward} and {@code backward} side by side (llm.c {@code train_gpt2.c} style).
 *
 * <p>Conventions shared by every class here:
 * <ul>
 *   <li><b>Shapes.</b> Each file starts with a legend: N rows (= B*T, the stacked tokens of B
 *       sequences of length T), C channels (hidden size), V vocabulary, H query heads, KV
 *       key/value heads, D head dim, F FFN size, R LoRA rank, in/out a linear layer's features.
 *       Activations are row-major {@code float[]} starting at index 0; an array may be longer
 *       than the rows in use (buffers are allocated once for the largest batch), the sizes
 *       passed say how much is used. Every length is checked up front.</li>
 *   <li><b>Argument order.</b> As in llm.c, outputs come first: {@code forward(out, saved..., inputs...,
 *       parameters..., work, sizes...)} and {@code backward(dInputs..., dParameters..., dOut,
 *       saved..., inputs..., parameters..., work, sizes...)}, in the same relative order.</li>
 *   <li><b>Gradients accumulate.</b> Every backward adds into its gradient buffers ({@code dX +=}),
 *       so gradients of a tensor used twice (a residual, q/k/v reading the same normed input)
 *       and of accumulated micro-batches sum up; the caller zeroes them at the start of an
 *       optimizer step. The one exception is {@link dev.lorakit.nn.Rope}, a rotation applied in
 *       place whose backward rotates the gradient back in place. A gradient argument documented
 *       as nullable skips that gradient.</li>
 *   <li><b>Frozen weights</b> are {@link dev.lorakit.tensor.Tensor}s in their stored dtype (F32,
 *       BF16, F16; heap or memory-mapped) and only ever go through
 *       {@link dev.lorakit.tensor.kernel.Matmul#gemm} or {@link dev.lorakit.tensor.ops.Ops}, never
 *       copied whole into Java arrays. Trainable parameters (LoRA A and B, norm weights, and in
 *       full-parameter training every weight) are F32 {@code float[]}; a trainable matrix goes
 *       into the matmuls as a heap F32 {@code Tensor} view of its array, and its gradient
 *       ({@link dev.lorakit.nn.Linear#backwardWeight}) is a {@code float[]} of the same shape.</li>
 *   <li><b>Threads and memory.</b> Work is multi-threaded through Matmul/Ops or
 *       {@link dev.lorakit.tensor.Parallel#forRange}. Nothing here allocates buffers that scale
 *       with the batch: scratch space comes in as a {@code work} argument (sized by a
 *       {@code workSize} method). The only allocations are O(1) objects per call (the
 *       {@code Tensor} views that wrap arrays for the GEMM, the lambdas handed to the pool), the
 *       per-head scratch arrays of {@link dev.lorakit.nn.Attention}, and in the column sums of
 *       {@link dev.lorakit.nn.RmsNorm#backward} (dWeight) and {@link dev.lorakit.nn.Linear#backwardBias}
 *       one double[] of the chunk's columns per parallel chunk.</li>
 *   <li><b>Aliasing.</b> Unless a method says otherwise, no output may share an array with an
 *       input.</li>
 * </ul>
 */
package dev.lorakit.nn;
