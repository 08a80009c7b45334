package dev.lorakit.cli;

import dev.lorakit.BadInputException;
import dev.lorakit.adapt.AdaptConfig;
import dev.lorakit.adapt.Adaptation;
import dev.lorakit.adapt.ModelPair;
import dev.lorakit.io.recovery.RecoveryAdapter;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.io.recovery.RecoveryModule;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit adapt}: CA-LoRA, adapting an existing LoRA to a compressed copy of its base model. */
@Command(name = "adapt", mixinStandardHelpOptions = true,
        description = {"Adapt an existing LoRA (trained on the uncompressed model) to a compressed copy of that model",
                "(CA-LoRA: knowledge inheritance + recovery modules + distillation from the uncompressed model).", "",
                "The LoRA starts as an exact copy of --adapter (sliced when the FFN was structurally pruned); recovery",
                "modules s*U*GELU(D*x) are trained beside every chosen projection; the loss is the task cross-entropy",
                "plus --kd-weight times the mean squared error between the compressed and the uncompressed model's",
                "hidden states (uncompressed model + --adapter as the frozen teacher) over the real positions.",
                "Every lorakit train option applies; --rank/--alpha/--rslora/--targets only with --no-inherit.", "",
                "Output: OUT_DIR holds the PEFT adapter plus recovery.safetensors + recovery_config.json (use it with",
                "--adapter OUT_DIR in generate/eval/forward), training_log.jsonl (with ce_loss and kd_loss), loss.png",
                "and checkpoint/ (for --resume). Ctrl-C saves a checkpoint and the result so far."},
        footer = {"", "Examples:",
                "  lorakit compress --model M --quantize q4_0 -o M-q4",
                "  lorakit adapt --teacher M --model M-q4 --adapter my-lora --data train.jsonl --eval dev.jsonl -o my-lora-q4",
                "  lorakit adapt --teacher M --model M-q4 --adapter my-lora --data train.jsonl --no-distill --no-recovery -o inherit-only",
                "  lorakit adapt --teacher M --model M-pruned --adapter my-lora --data train.jsonl --kd-layer 3 --kd-weight 0.05 -o out"})
public final class AdaptCommand implements Callable<Integer> {
    @Option(names = "--teacher", required = true, paramLabel = "ORIGINAL_DIR",
            description = "The uncompressed model the adapter was trained on (the distillation teacher).")
    Path teacher;

    @Option(names = "--model", required = true, paramLabel = "COMPRESSED_DIR",
            description = "The compressed model (lorakit compress output) to adapt the LoRA to.")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "EXISTING_LORA", description = "The existing PEFT LoRA.")
    Path adapter;

    @Mixin
    TrainingOptions opts;

    @Option(names = "--no-inherit", description = "Start from a fresh LoRA (random A, B = 0) instead of copying --adapter.")
    boolean noInherit;

    @Option(names = "--no-recovery", description = "Train no recovery modules.")
    boolean noRecovery;

    @Option(names = "--no-distill", description = "No distillation term (no teacher).")
    boolean noDistill;

    @Option(names = "--kd-weight", defaultValue = "1", paramLabel = "LAMBDA",
            description = "Weight of the distillation term (default: ${DEFAULT-VALUE}).")
    double kdWeight;

    @Option(names = "--kd-layer", defaultValue = "final", paramLabel = "final|N",
            description = "Hidden state compared: final (the final RMS-normed one) or N, the output of block N (0-based) "
                    + "(default: ${DEFAULT-VALUE}).")
    String kdLayer;

    @Option(names = "--recovery-rank", paramLabel = "R", description = "Rank of the recovery modules (default: the LoRA's).")
    Integer recoveryRank;

    @Option(names = "--recovery-targets", split = ",", paramLabel = "PROJ[,PROJ...]",
            defaultValue = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            description = "Projections that get a recovery module (default: all seven).")
    List<String> recoveryTargets = new ArrayList<>();

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        boolean loraShape = false;
        for (String o : TrainingOptions.LORA_SHAPE_OPTIONS) {
            if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                if (!noInherit) {
                    throw new BadInputException(o + ": the inherited LoRA keeps the existing adapter's rank, alpha and modules; "
                            + "use " + o + " only with --no-inherit");
                }
                loraShape = true;
            }
        }
        if (noRecovery) {
            for (String o : List.of("--recovery-rank", "--recovery-targets")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new BadInputException(o + ": there are no recovery modules with --no-recovery; remove one of them");
                }
            }
        }
        if (noDistill) {
            for (String o : List.of("--kd-weight", "--kd-layer")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new BadInputException(o + ": there is no distillation with --no-distill; remove one of them");
                }
            }
        }
        AdaptConfig ac = new AdaptConfig(teacher.toString(), adapter.toString(), !noInherit, loraShape, !noRecovery,
                recoveryRank, List.copyOf(recoveryTargets), !noDistill, kdWeight, AdaptConfig.parseKdLayer(kdLayer));
        TrainConfig cfg = opts.configBuilder().build();
        ModelPair pair = Adaptation.check(ac, model, cfg); // every bad input fails here, before anything is written
        TrainingSession.run("adapt", global, spec.commandLine().getOut(), opts.output, opts.stopAt(),
                (listener, stop) -> Trainer.run(Adaptation.setup(ac, pair, cfg), opts.data, opts.eval, opts.output, opts.resume,
                        listener, stop),
                json -> {
                    json.put("inherit", ac.inherit());
                    json.put("recovery", ac.recovery());
                    json.put("distill", ac.distill());
                    if (ac.distill()) {
                        json.put("kd_weight", ac.kdWeight());
                        json.put("kd_layer", AdaptConfig.kdLayerName(ac.kdLayer()));
                    }
                    if (RecoveryConfig.isPresent(opts.output)) {
                        try (RecoveryAdapter r = RecoveryAdapter.open(opts.output)) {
                            long params = 0;
                            long bytes = 0;
                            for (RecoveryModule m : r.modules()) {
                                params += m.parameterCount();
                                bytes += m.byteSize();
                            }
                            json.put("recovery_modules", r.modules().size());
                            json.put("recovery_parameters", params);
                            json.put("recovery_bytes", bytes);
                        }
                    }
                    return json;
                });
        return 0;
    }
}
