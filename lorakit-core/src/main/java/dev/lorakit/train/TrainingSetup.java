package dev.lorakit.train;

import dev.lorakit.io.hf.ModelConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One kind of training run as the {@link Trainer} loop sees it: which model is trained with which
 * options, what the trainable parameters start as, what else a checkpoint must remember, and
 * whether a distillation term joins the loss. {@link #of} is the plain run of
 * {@code lorakit train} (LoRA or full); CA-LoRA ({@code lorakit adapt}) supplies its own.
 */
public interface TrainingSetup {
    /** The model trained on (LoRA mode: the frozen base; full mode: the starting weights). */
    Path modelDir();

    /** The run's training options. */
    TrainConfig config();

    /** Inputs besides the model, data and --init-adapter that the output directory must not be or contain. */
    default List<Path> otherInputs() {
        return List.of();
    }

    /** The trainable parameters at step 0 (a resumed run then overwrites them from the checkpoint). */
    TrainableParameters initialParameters(ModelConfig modelConfig);

    /** Extra files (name to content) saved in every checkpoint, e.g. the run's own options. */
    default Map<String, String> checkpointFiles() {
        return Map.of();
    }

    /**
     * Checks a checkpoint about to be resumed against this run beyond the {@link TrainConfig}
     * (e.g. the {@link #checkpointFiles()}).
     *
     * @throws dev.lorakit.BadInputException if the checkpoint belongs to a different run
     */
    default void checkResume(Path checkpointDir) {
    }

    /** Opens the distillation of the run, or returns null for none. */
    default Distillation openDistillation() {
        return null;
    }

    /** True if the log gets ce_loss (and with distillation kd_loss) columns. */
    default boolean logsLossParts() {
        return false;
    }

    /** The plain run of {@code lorakit train}: a LoRA (fresh or --init-adapter) or, with --full, every weight. */
    static TrainingSetup of(Path modelDir, TrainConfig cfg) {
        return new TrainingSetup() {
            @Override
            public Path modelDir() {
                return modelDir;
            }

            @Override
            public TrainConfig config() {
                return cfg;
            }

            @Override
            public TrainableParameters initialParameters(ModelConfig mc) {
                return cfg.full() ? FullParameters.load(modelDir) : LoraParameterSet.initial(mc, cfg);
            }
        };
    }
}
