package dev.lorakit.compress;

import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What {@code lorakit compress} should do to a model, checked for consistency on construction
 * (each problem a one-line {@link BadInputException} naming the command-line option). Methods
 * compose and run in a fixed order: structured FFN-channel pruning, then unstructured or N:M
 * pruning, then quantization. Checks that need the model (dimensions, --ffn-keep range) are made
 * by {@link ModelCompressor} before anything is written.
 *
 * @param quantize Q8_0 or Q4_0 for the seven projections of every layer, or null for none
 * @param quantizeLmHead also quantize an untied lm_head (needs {@code quantize})
 * @param prune unstructured / N:M pruning score, or null for none
 * @param sparsity unstructured pruning: fraction of each output row's weights zeroed, in (0, 1);
 *     null when {@code pattern} is used or there is no pruning
 * @param pattern semi-structured N:M pruning, or null
 * @param ffnKeep structured pruning: intermediate channels kept per layer, or null for none
 * @param calibration calibration JSONL (any training-data format), or null; needed by Wanda,
 *     optional for structured pruning (activation-weighted channel scores)
 * @param calibrationSamples examples of the calibration file used (its first ones), >= 1
 * @param calibrationSeqLen tokens per calibration example (longer ones are cut), >= 2
 */
public record CompressOptions(DType quantize, boolean quantizeLmHead, PruneMethod prune, Double sparsity,
                              NmSparsity pattern, Integer ffnKeep, Path calibration, int calibrationSamples,
                              int calibrationSeqLen) {
    /** Default --calib-samples: small, because calibration runs the full model on the CPU. */
    public static final int DEFAULT_CALIBRATION_SAMPLES = 32;
    /** Default --calib-seq-len. */
    public static final int DEFAULT_CALIBRATION_SEQ_LEN = 256;

    public CompressOptions {
        if (quantize != null && (!quantize.isQuantized() || quantize.isRowInterleaved())) {
            throw new BadInputException("--quantize: expected q8_0 or q4_0, got " + quantize);
        }
        if (quantizeLmHead && quantize == null) {
            throw new BadInputException("--include lm_head: needs --quantize q8_0|q4_0 (it only widens what is quantized)");
        }
        if (prune == null && (sparsity != null || pattern != null)) {
            throw new BadInputException("--" + (sparsity != null ? "sparsity" : "pattern") + ": needs --prune magnitude|wanda "
                    + "(the score that decides which weights go)");
        }
        if (prune != null) {
            if (sparsity == null && pattern == null) {
                throw new BadInputException("--prune " + prune.optionName() + ": needs --sparsity S (unstructured, per output "
                        + "row) or --pattern N:M (e.g. 2:4)");
            }
            if (sparsity != null && pattern != null) {
                throw new BadInputException("--sparsity and --pattern: give one of them, not both");
            }
        }
        if (sparsity != null && !(sparsity > 0 && sparsity < 1)) {
            throw new BadInputException("--sparsity: expected a fraction strictly between 0 and 1 (e.g. 0.5), got " + sparsity);
        }
        if (ffnKeep != null && ffnKeep < 1) {
            throw new BadInputException("--ffn-keep: expected a positive number of intermediate channels, got " + ffnKeep);
        }
        if (prune == PruneMethod.WANDA && calibration == null) {
            throw new BadInputException("--prune wanda: needs --calib FILE.jsonl (calibration text for the input-feature norms "
                    + "its scores use)");
        }
        if (calibration != null && prune != PruneMethod.WANDA && ffnKeep == null) {
            throw new BadInputException("--calib: only --prune wanda and --prune-structured ffn use calibration data");
        }
        if (calibrationSamples < 1) {
            throw new BadInputException("--calib-samples: expected a positive integer, got " + calibrationSamples);
        }
        if (calibrationSeqLen < 2) {
            throw new BadInputException("--calib-seq-len: expected at least 2 tokens, got " + calibrationSeqLen);
        }
        if (quantize == null && prune == null && ffnKeep == null) {
            throw new BadInputException("nothing to do: give --quantize q8_0|q4_0, --prune magnitude|wanda or "
                    + "--prune-structured ffn");
        }
    }

    /** Starts a set of options (defaults: no method, 32 calibration samples of 256 tokens). */
    public static Builder builder() {
        return new Builder();
    }

    /** Parses --quantize: "q8_0" or "q4_0" (case-insensitive). */
    public static DType quantFormat(String value) {
        String v = value == null ? "" : value.strip().toUpperCase(Locale.ROOT);
        if (v.equals("Q8_0")) {
            return DType.Q8_0;
        }
        if (v.equals("Q4_0")) {
            return DType.Q4_0;
        }
        throw new BadInputException("--quantize: expected q8_0 or q4_0, got \"" + value + "\"");
    }

    /**
     * Parses --include: the modules quantized beyond the seven projections. Only "lm_head" is
     * possible; embeddings are refused because the loader reads embedding rows only as
     * F32/F16/BF16.
     *
     * @return true if lm_head is included
     */
    public static boolean includesLmHead(List<String> include) {
        boolean lmHead = false;
        for (String raw : include) {
            String m = raw.strip();
            if (m.equals("lm_head") || m.equals("lm_head.weight")) {
                lmHead = true;
            } else if (m.equals("embed_tokens") || m.equals("model.embed_tokens") || m.equals("model.embed_tokens.weight")) {
                throw new BadInputException("--include " + m + ": quantized embeddings are not supported by the loader "
                        + "(embedding rows are read as F32/F16/BF16); only lm_head can be added");
            } else {
                throw new BadInputException("--include: expected lm_head (the only module quantized beyond q/k/v/o/gate/up/down), "
                        + "got \"" + m + "\"");
            }
        }
        return lmHead;
    }

    /** True if any projection weight is pruned element-wise (unstructured or N:M). */
    public boolean prunesWeights() {
        return prune != null;
    }

    /** True if FFN channels are removed. */
    public boolean prunesFfnChannels() {
        return ffnKeep != null;
    }

    /** True if a calibration forward pass is needed. */
    public boolean needsCalibration() {
        return calibration != null;
    }

    /** Mutable builder for {@link CompressOptions}; {@link #build()} checks. */
    public static final class Builder {
        private DType quantize;
        private boolean quantizeLmHead;
        private PruneMethod prune;
        private Double sparsity;
        private NmSparsity pattern;
        private Integer ffnKeep;
        private Path calibration;
        private int calibrationSamples = DEFAULT_CALIBRATION_SAMPLES;
        private int calibrationSeqLen = DEFAULT_CALIBRATION_SEQ_LEN;

        private Builder() {
        }

        public Builder quantize(DType v) { quantize = v; return this; }
        public Builder quantizeLmHead(boolean v) { quantizeLmHead = v; return this; }
        public Builder prune(PruneMethod v) { prune = v; return this; }
        public Builder sparsity(Double v) { sparsity = v; return this; }
        public Builder pattern(NmSparsity v) { pattern = v; return this; }
        public Builder ffnKeep(Integer v) { ffnKeep = v; return this; }
        public Builder calibration(Path v) { calibration = v; return this; }
        public Builder calibrationSamples(int v) { calibrationSamples = v; return this; }
        public Builder calibrationSeqLen(int v) { calibrationSeqLen = v; return this; }

        /** Checks and builds. */
        public CompressOptions build() {
            return new CompressOptions(quantize, quantizeLmHead, prune, sparsity, pattern, ffnKeep, calibration,
                    calibrationSamples, calibrationSeqLen);
        }
    }
}
