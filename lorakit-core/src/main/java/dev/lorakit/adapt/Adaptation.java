package dev.lorakit.adapt;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.train.CaLoraParameters;
import dev.lorakit.train.Distillation;
import dev.lorakit.train.LlamaTrainingModel;
import dev.lorakit.train.LoraParameters;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import dev.lorakit.train.TrainableParameters;
import dev.lorakit.train.TrainingSetup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code lorakit adapt}: CA-LoRA (Zhao et al., COLM 2024), adapting an existing LoRA trained on
 * an uncompressed model to a compressed copy of it. The student is the compressed model with
 * the task LoRA (inherited: an exact, pruning-sliced copy of the existing adapter) and recovery
 * modules {@code s U GELU(D x)} beside its projections; the teacher is the uncompressed model with
 * the existing LoRA, frozen. The loss is the task cross-entropy plus lambda times the mean
 * squared error between the two models' final RMS-normed hidden states (or block N's outputs)
 * over the real positions. Each ingredient can be switched off (--no-inherit, --no-recovery,
 * --no-distill) for the paper's ablations. Training itself is the {@link Trainer} loop
 * (accumulation, clipping, schedule, evaluation, checkpoints, bit-for-bit resume).
 *
 * <p>Output directory: the PEFT adapter (adapter_config.json + adapter_model.safetensors, for
 * the compressed model) plus recovery.safetensors + recovery_config.json when recovery modules
 * were trained; training_log.jsonl (with ce_loss and kd_loss); checkpoint/ (with
 * {@value AdaptConfig#FILE_NAME}). {@code --adapter OUT_DIR} in generate/eval/forward applies both.
 */
public final class Adaptation {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Adaptation() {
    }

    /**
     * Checks every input against the others before anything is written: the two models belong
     * together ({@link ModelPair}), the adapter fits the teacher, --kd-layer is a block of the
     * model, the training options suit a LoRA run.
     *
     * @param student the compressed model
     * @throws BadInputException one line naming the file or option
     */
    public static ModelPair check(AdaptConfig ac, Path student, TrainConfig cfg) {
        if (cfg.full() || cfg.initAdapter() != null) {
            throw new BadInputException("adapt: --full and --init-adapter are not adapt options (the LoRA starts from --adapter)");
        }
        ModelPair pair = ModelPair.check(Path.of(ac.teacher()), student);
        try (LoraAdapter adapter = LoraAdapter.open(Path.of(ac.adapter()))) {
            pair.checkAdapter(adapter);
        }
        int layers = pair.student().numHiddenLayers();
        if (ac.kdLayer() != LlamaTrainingModel.FINAL_HIDDEN && ac.kdLayer() >= layers) {
            throw new BadInputException("--kd-layer: block " + ac.kdLayer() + " does not exist; the model has " + layers
                    + " blocks (0.." + (layers - 1) + "), or use final");
        }
        return pair;
    }

    /** The run as the trainer loop sees it (after {@link #check}). */
    public static TrainingSetup setup(AdaptConfig ac, ModelPair pair, TrainConfig cfg) {
        return new Setup(ac, pair, cfg);
    }

    /**
     * Checks the inputs, then trains (or with {@code resume} continues from {@code out/checkpoint},
     * whose training and adapt options must equal these) and writes {@code out}.
     *
     * @param student the compressed model (the model trained on)
     */
    public static Trainer.Result run(AdaptConfig ac, Path student, TrainConfig cfg, Path train, Path eval, Path out,
                                     boolean resume, Trainer.Listener listener, BooleanSupplier stop) throws IOException {
        ModelPair pair = check(ac, student, cfg);
        return Trainer.run(setup(ac, pair, cfg), train, eval, out, resume, listener, stop);
    }

    /** The starting parameters of a run (the LoRA inherited or fresh, the recovery modules). */
    public static CaLoraParameters initialParameters(AdaptConfig ac, ModelPair pair, TrainConfig cfg) {
        ModelConfig sc = pair.student();
        String base = pair.studentDir().toString();
        try (LoraAdapter adapter = LoraAdapter.open(Path.of(ac.adapter()))) {
            List<LoraParameters> loras;
            LoraConfig lc;
            if (ac.loraFromOptions()) {
                lc = KnowledgeInheritance.configFromOptions(cfg, sc, base);
                loras = KnowledgeInheritance.fresh(KnowledgeInheritance.optionModules(cfg, sc), lc, sc, cfg.seed());
            } else {
                lc = adapter.config().toBuilder().baseModelNameOrPath(base).build();
                loras = ac.inherit() ? KnowledgeInheritance.inherit(adapter, sc, pair.pruning())
                        : KnowledgeInheritance.fresh(adapter.modules().stream().map(m -> m.name()).toList(), lc, sc, cfg.seed());
            }
            if (loras.isEmpty()) {
                throw new BadInputException(ac.adapter() + ": none of its modules exists in the compressed model");
            }
            return KnowledgeInheritance.parameters(loras, lc, sc, ac, cfg.seed(), base);
        }
    }

    /** The CA-LoRA run: compressed model + LoRA + recovery, optionally distilled from the teacher. */
    private record Setup(AdaptConfig ac, ModelPair pair, TrainConfig config) implements TrainingSetup {
        @Override
        public Path modelDir() {
            return pair.studentDir();
        }

        @Override
        public List<Path> otherInputs() {
            return List.of(Path.of(ac.teacher()), Path.of(ac.adapter()));
        }

        @Override
        public TrainableParameters initialParameters(ModelConfig modelConfig) {
            return Adaptation.initialParameters(ac, pair, config);
        }

        @Override
        public Map<String, String> checkpointFiles() {
            return Map.of(AdaptConfig.FILE_NAME, ac.toJsonText());
        }

        @Override
        public void checkResume(Path checkpointDir) {
            Path f = checkpointDir.resolve(AdaptConfig.FILE_NAME);
            if (!Files.isRegularFile(f)) {
                throw new BadInputException(f + ": missing; the checkpoint was not made by lorakit adapt");
            }
            AdaptConfig saved;
            try {
                saved = AdaptConfig.fromJson(JSON.readTree(Files.readString(f)), f.toString());
            } catch (IOException e) {
                throw new BadInputException(f + ": cannot read: " + e.getMessage(), e);
            }
            List<String> diff = saved.differingKeys(ac);
            if (!diff.isEmpty()) {
                throw new BadInputException(f + ": the run was started with other adapt options " + diff
                        + "; resume with the same options");
            }
        }

        @Override
        public Distillation openDistillation() {
            if (!ac.distill()) {
                return null;
            }
            try (LoraAdapter adapter = LoraAdapter.open(Path.of(ac.adapter()))) {
                return Distillation.open(Path.of(ac.teacher()), KnowledgeInheritance.teacherLoras(adapter), ac.kdWeight(),
                        ac.kdLayer());
            }
        }

        @Override
        public boolean logsLossParts() {
            return true;
        }
    }
}
