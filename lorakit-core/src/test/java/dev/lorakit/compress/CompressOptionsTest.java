package dev.lorakit.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Option combinations are checked up front with one-line messages naming the option. */
class CompressOptionsTest {
    static void refused(Supplier<?> build, String expected) {
        BadInputException e = assertThrows(BadInputException.class, build::get);
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void badCombinationsAreRefused() {
        Path calib = Path.of("c.jsonl");
        refused(() -> CompressOptions.builder().build(), "nothing to do");
        for (double s : new double[] {0, 1, -0.1, 1.5, Double.NaN}) {
            refused(() -> CompressOptions.builder().prune(PruneMethod.MAGNITUDE).sparsity(s).build(), "--sparsity: expected a fraction strictly between 0 and 1");
        }
        refused(() -> CompressOptions.builder().prune(PruneMethod.WANDA).sparsity(0.5).build(), "--prune wanda: needs --calib");
        refused(() -> CompressOptions.builder().prune(PruneMethod.MAGNITUDE).build(), "--prune magnitude: needs --sparsity S");
        refused(() -> CompressOptions.builder().prune(PruneMethod.MAGNITUDE).sparsity(0.5).pattern(new NmSparsity(2, 4)).build(),
                "--sparsity and --pattern");
        refused(() -> CompressOptions.builder().sparsity(0.5).quantize(DType.Q8_0).build(), "--sparsity: needs --prune");
        refused(() -> CompressOptions.builder().quantizeLmHead(true).ffnKeep(3).build(), "--include lm_head: needs --quantize");
        refused(() -> CompressOptions.builder().ffnKeep(0).build(), "--ffn-keep: expected a positive number");
        refused(() -> CompressOptions.builder().quantize(DType.Q8_0).calibration(calib).build(), "--calib: only");
        refused(() -> CompressOptions.builder().quantize(DType.Q8_0).calibrationSamples(0).build(), "--calib-samples");
        refused(() -> CompressOptions.builder().quantize(DType.Q8_0).calibrationSeqLen(1).build(), "--calib-seq-len");
        refused(() -> CompressOptions.builder().quantize(DType.BF16).build(), "--quantize: expected q8_0 or q4_0");
        refused(() -> CompressOptions.quantFormat("q5_k"), "--quantize: expected q8_0 or q4_0, got \"q5_k\"");
        refused(() -> PruneMethod.parse("--prune", "sparsegpt"), "--prune: expected magnitude or wanda, got \"sparsegpt\"");
        refused(() -> NmSparsity.parse("4:2"), "--pattern: expected N:M with 0 < N < M");
        refused(() -> NmSparsity.parse("2-4"), "--pattern: expected N:M with 0 < N < M (e.g. 2:4), got \"2-4\"");
        refused(() -> CompressOptions.includesLmHead(List.of("embed_tokens")), "--include embed_tokens: quantized embeddings are not supported");
        refused(() -> CompressOptions.includesLmHead(List.of("norm")), "--include: expected lm_head");
    }

    @Test
    void goodOptionsParse() {
        assertEquals(DType.Q4_0, CompressOptions.quantFormat("Q4_0"));
        assertEquals(DType.Q8_0, CompressOptions.quantFormat("q8_0"));
        assertEquals(PruneMethod.WANDA, PruneMethod.parse("--prune", "Wanda"));
        assertEquals(new NmSparsity(2, 4), NmSparsity.parse("2:4"));
        assertEquals(0.5, NmSparsity.parse("2:4").sparsity());
        assertTrue(CompressOptions.includesLmHead(List.of("lm_head")));
        CompressOptions o = CompressOptions.builder().ffnKeep(5).calibration(Path.of("c.jsonl")).build();
        assertTrue(o.needsCalibration());
        assertTrue(o.prunesFfnChannels());
        assertFalse(o.prunesWeights());
        assertEquals(CompressOptions.DEFAULT_CALIBRATION_SAMPLES, o.calibrationSamples());
    }
}
