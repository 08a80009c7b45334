package dev.lorakit.train;

import java.nio.file.Path;
import java.util.List;

/**
 * CA-LoRA's knowledge distillation: a frozen teacher (the uncompressed model with the existing
 * LoRA, forward only, no saved activations) runs on every micro-batch, and the student's loss
 * gains {@code weight * MSE(h_student, h_teacher)} over the batch's real (non-padding) positions
 * and hidden dimensions (see {@link LlamaTrainingModel#distill} for the exact normalisation),
 * where h is the final RMS-normed hidden state ({@link LlamaTrainingModel#FINAL_HIDDEN}) or the
 * output of block {@code layer}.
 */
public final class Distillation implements AutoCloseable {
    private final LlamaTrainingModel teacher;
    private final double weight;
    private final int layer;

    private Distillation(LlamaTrainingModel teacher, double weight, int layer) {
        this.teacher = teacher;
        this.weight = weight;
        this.layer = layer;
    }

    /**
     * Opens the teacher: {@code teacherDir} with {@code teacherLoras} applied (frozen).
     *
     * @param weight lambda (>= 0)
     * @param layer  {@link LlamaTrainingModel#FINAL_HIDDEN} or a block index of the model
     */
    public static Distillation open(Path teacherDir, List<LoraParameters> teacherLoras, double weight, int layer) {
        if (!(weight >= 0) || !Double.isFinite(weight)) {
            throw new IllegalArgumentException("distillation weight must be a finite number >= 0, got " + weight);
        }
        LlamaTrainingModel t = LlamaTrainingModel.frozen(teacherDir, teacherLoras);
        if (layer != LlamaTrainingModel.FINAL_HIDDEN && (layer < 0 || layer >= t.config().numHiddenLayers())) {
            t.close();
            throw new IllegalArgumentException("distilled block " + layer + " outside [0, " + t.config().numHiddenLayers() + ")");
        }
        return new Distillation(t, weight, layer);
    }

    /** lambda. */
    public double weight() {
        return weight;
    }

    /** The compared hidden state: {@link LlamaTrainingModel#FINAL_HIDDEN} or a block index. */
    public int layer() {
        return layer;
    }

    /** The teacher model (forward only). */
    public LlamaTrainingModel teacher() {
        return teacher;
    }

    /**
     * Runs the teacher on the batch and adds the distillation term to the student's last
     * forward (which must have been on the same batch); its gradient joins the student's next
     * backward.
     *
     * @param positions real positions of the whole accumulated step
     * @return the unweighted term (this batch's part of the step's MSE)
     */
    public double apply(LlamaTrainingModel student, Batch batch, double positions) {
        float[] h = teacher.forwardHidden(batch.inputIds(), batch.size(), batch.width(), layer);
        return student.distill(h, layer, batch.lengths(), positions, weight);
    }

    @Override
    public void close() {
        teacher.close();
    }
}
