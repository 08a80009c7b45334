package dev.lorakit.compress;

import dev.lorakit.BadInputException;
import dev.lorakit.io.JsonLines;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.train.ExampleEncoder;
import dev.lorakit.train.TrainingData;
import dev.lorakit.train.TrainingExample;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Token sequences that calibration runs through the model: the first {@code samples} examples of
 * a JSONL file in any training-data format lorakit reads (text, prompt/completion, messages,
 * pre-tokenized input_ids), encoded as for training ({@link ExampleEncoder}: BOS per the
 * tokenizer, prompt + completion + EOS, the chat template) and cut to {@code seqLen} tokens. Every
 * token of an example counts, prompt included; labels play no part (examples that training would
 * skip for lack of a labelled token are skipped here too). Text formats need the model's
 * tokenizer.json; pre-tokenized files do not.
 *
 * @param file the JSONL file
 * @param sequences the token ids of each example used, in file order
 * @param tokens total tokens over {@code sequences}
 * @param seqLen the length limit applied
 * @param available examples the file offered (before taking the first {@code samples})
 */
public record CalibrationSet(Path file, List<int[]> sequences, long tokens, int seqLen, int available) {
    public CalibrationSet {
        sequences = List.copyOf(sequences);
    }

    /**
     * Reads and encodes a calibration file for the model at {@code modelDir}.
     *
     * @throws BadInputException for an unreadable or malformed file, or text data when the model
     *     has no tokenizer.json
     */
    public static CalibrationSet read(Path file, Path modelDir, ModelConfig config, int samples, int seqLen) {
        if (samples < 1) {
            throw new BadInputException("--calib-samples: expected a positive integer, got " + samples);
        }
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + ": no such file (expected a calibration .jsonl file)");
        }
        TrainingData data;
        if (Files.isRegularFile(modelDir.resolve(HfModelDirectory.TOKENIZER_FILE))) {
            try (TextTokenizer tok = TextTokenizer.load(modelDir,
                    SpecialTokenIds.of(config.bosTokenId(), config.eosTokenIds(), config.padTokenId()))) {
                data = TrainingData.read(file, ExampleEncoder.forTokenizer(tok, config.vocabSize()), seqLen);
            }
        } else {
            for (JsonLines.Line line : JsonLines.read(file)) {
                if (!line.node().has(TrainingData.Format.TOKENIZED.key())) {
                    throw new BadInputException(line.at() + ": text calibration data needs the model's "
                            + HfModelDirectory.TOKENIZER_FILE + ", which " + modelDir + " does not have (give pre-tokenized "
                            + "{\"input_ids\", \"labels\"} lines instead)");
                }
            }
            // Pre-tokenized examples are only checked against the vocabulary: no tokenizer is used.
            data = TrainingData.read(file, new ExampleEncoder(null, null, config.vocabSize()), seqLen);
        }
        List<int[]> sequences = new ArrayList<>();
        long tokens = 0;
        for (TrainingExample ex : data.examples()) {
            if (sequences.size() == samples) {
                break;
            }
            sequences.add(ex.inputIds().clone());
            tokens += ex.length();
        }
        return new CalibrationSet(file, sequences, tokens, seqLen, data.size());
    }
}
