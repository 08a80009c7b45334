package dev.lorakit.cli;

import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit train}: trains a LoRA adapter (or, with --full, every weight of the model) on the CPU. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a LoRA adapter on a model, or with --full every weight of it (hand-written backward,",
                "AdamW or SGD, checkpoints).", "",
                "Data: JSONL with {\"prompt\",\"completion\"}, {\"messages\"}, {\"text\"} or {\"input_ids\",\"labels\"}.",
                "Output: a PEFT adapter directory (with --full: a Hugging Face model directory) with training_log.jsonl,",
                "loss.png and checkpoint/ (for --resume).",
                "Ctrl-C saves a checkpoint and the adapter (model) so far before exiting."},
        footer = {"", "Examples:", "  lorakit train --model M --data train.jsonl --eval dev.jsonl --rank 8 --epochs 3 -o my-lora",
                "  lorakit train --model M --data train.jsonl -o my-lora --resume",
                "  lorakit synth model --preset base6m --dtype f32 -o base && \\",
                "    lorakit train --full --model base --data text.jsonl --lr 1e-3 --weight-decay 0.1 --warmup 100 \\",
                "    --schedule cosine --seq-len 256 --steps 2000 --save-every 200 -o pretrained"})
public final class TrainCommand implements Callable<Integer> {
    /** The LoRA-only options, refused with --full. */
    static final List<String> LORA_OPTIONS = List.of("--rank", "--alpha", "--rslora", "--targets", "--lora-dropout",
            "--init-adapter");

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base Hugging Face model directory.")
    Path model;

    @Mixin
    TrainingOptions opts;

    @Option(names = "--init-adapter", paramLabel = "DIR", description = "Start from this adapter instead of a fresh init.")
    Path initAdapter;

    @Option(names = "--full", description = "Train every weight of the model (no LoRA); the output is a model directory.")
    boolean full;

    @Option(names = "--save-dtype", paramLabel = "DTYPE", description = "With --full: dtype of the saved weights, f32, bf16 or f16 (default: f32).")
    String saveDtype;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        checkModeOptions();
        TrainConfig cfg = opts.configBuilder().initAdapter(initAdapter == null ? null : initAdapter.toString()).full(full)
                .saveDtype(saveDtype == null ? DType.F32 : parseSaveDtype(saveDtype)).build();
        TrainingSession.run("train", global, spec.commandLine().getOut(), opts.output, opts.stopAt(),
                (listener, stop) -> Trainer.run(model, cfg, opts.data, opts.eval, opts.output, opts.resume, listener, stop),
                json -> json);
        return 0;
    }

    /** --full takes no LoRA option; --save-dtype needs --full. */
    private void checkModeOptions() {
        if (full) {
            for (String o : LORA_OPTIONS) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new BadInputException(o + ": not a --full option (--full trains every weight of the model, "
                            + "without a LoRA); remove " + o + " or --full");
                }
            }
        } else if (saveDtype != null) {
            throw new BadInputException("--save-dtype: only with --full (an adapter is saved in float32)");
        }
    }

    static DType parseSaveDtype(String s) {
        DType d = DType.fromTorchName(s.toLowerCase(Locale.ROOT));
        if (d == null) {
            d = DType.fromSafetensorsName(s.toUpperCase(Locale.ROOT));
        }
        if (d == null || !d.isCompute()) {
            throw new BadInputException("--save-dtype: expected f32, bf16 or f16, got \"" + s + "\"");
        }
        return d;
    }
}
