package dev.lorakit.train;

import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a training run trains, as the {@link Trainer} sees it: named float32 tensors with their
 * gradient buffers. Three kinds exist, and the trainer handles them through this interface alone
 * (optimizer, clipping, checkpoints, resume, output): {@link LoraParameterSet} (LoRA factors
 * beside frozen weights; the output is a PEFT adapter), {@link CaLoraParameters} (CA-LoRA: LoRA
 * factors and recovery modules beside a compressed model's frozen weights; the output is a PEFT
 * adapter plus the recovery files) and {@link FullParameters} (every tensor of the model; the
 * output is a Hugging Face model directory). {@link LlamaTrainingModel} is
 * the one place that tells them apart: it routes the gradients into whichever buffers exist.
 */
public sealed interface TrainableParameters permits LoraParameterSet, CaLoraParameters, FullParameters {
    /**
     * Every trainable tensor with its gradient and weight-decay flag, in a fixed order (the
     * order of clipping sums and optimizer buffers, so it is part of bit-for-bit resumption).
     */
    List<NamedParameter> parameters();

    /**
     * The trainable tensors by name as F32 views of the trained arrays (no copy), with their
     * shapes: what a checkpoint stores. Same names as {@link #parameters()}.
     */
    Map<String, Tensor> tensors();

    /** Sets every gradient to zero. */
    default void zeroGrad() {
        for (NamedParameter p : parameters()) {
            p.zeroGrad();
        }
    }

    /** Total number of trainable elements. */
    default long size() {
        long n = 0;
        for (NamedParameter p : parameters()) {
            n += p.size();
        }
        return n;
    }

    /**
     * Overwrites the values with a checkpoint's tensors, which must be exactly this set's names
     * and shapes.
     *
     * @param ckptDir the checkpoint directory, for messages
     * @throws dev.lorakit.BadInputException naming the first missing, extra or misshapen tensor
     */
    default void restore(Checkpoint ckpt, Path ckptDir) {
        Map<String, Tensor> mine = tensors();
        Map<String, Shape> expected = new LinkedHashMap<>();
        mine.forEach((name, t) -> expected.put(name, t.shape()));
        ckpt.requireTrainable(ckptDir, expected);
        mine.forEach((name, t) -> {
            float[] saved = ckpt.trainable().get(name).toFloatArray();
            System.arraycopy(saved, 0, t.floatArray(), t.arrayOffset(), saved.length);
        });
    }

    /**
     * Writes the run's result into {@code out} (which exists; files are replaced one by one,
     * atomically, so the log and checkpoint beside them stay).
     *
     * @param modelDir the base model the run started from
     * @param cfg      the run's options
     */
    void writeOutput(Path out, Path modelDir, TrainConfig cfg) throws IOException;
}
