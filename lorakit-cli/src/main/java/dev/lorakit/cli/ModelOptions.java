package dev.lorakit.cli;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that choose a model and its adapters, shared by generate, forward and eval. */
public final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory.")
    public Path model;

    @Option(names = "--adapter", paramLabel = "DIR[:SCALE]",
            description = "PEFT LoRA adapter to apply (repeatable), with an optional user scale (default 1).")
    public List<String> adapters = new ArrayList<>();

    @Option(names = "--merge-adapters", description = "Fold the adapters into private copies of the weights (in their stored dtype) "
            + "instead of applying them unmerged (faster decode, more memory).")
    public boolean mergeAdapters;

    /** The parsed adapter references. */
    public List<AdapterRef> adapterRefs() {
        return adapters.stream().map(AdapterRef::parse).toList();
    }

    /** Loads the model directory's tokenizer with the special token ids of its config. */
    public TextTokenizer openTokenizer(ModelConfig config) {
        return TextTokenizer.load(model, SpecialTokenIds.of(config.bosTokenId(), config.eosTokenIds(), config.padTokenId()));
    }

    /** Opens the model with its adapters. */
    public LlamaModel open() {
        return LlamaModel.open(model, adapterRefs(), mergeAdapters);
    }
}
