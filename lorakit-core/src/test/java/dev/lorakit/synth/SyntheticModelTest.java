package dev.lorakit.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticModelTest {
    @TempDir
    Path dir;

    private static double std(Tensor t) {
        double s = 0;
        double s2 = 0;
        for (long i = 0; i < t.size(); i++) {
            s += t.getFloat(i);
            s2 += (double) t.getFloat(i) * t.getFloat(i);
        }
        double mean = s / t.size();
        return Math.sqrt(s2 / t.size() - mean * mean);
    }

    @Test
    void pretrainInitHasTheDocumentedScalesAndAnUninformedStartingLoss() throws Exception {
        ModelConfig c = ModelPreset.TINY.config(DType.F32);
        Map<String, Tensor> w = SyntheticModel.weights(c, DType.F32, 5, SyntheticModel.Init.PRETRAIN);
        int layers = c.numHiddenLayers();
        for (Map.Entry<String, Tensor> e : w.entrySet()) {
            String n = e.getKey();
            Tensor t = e.getValue();
            if (n.endsWith("norm.weight")) {
                for (long i = 0; i < t.size(); i++) {
                    assertEquals(1f, t.getFloat(i), n);
                }
            } else {
                double expected = n.endsWith("o_proj.weight") || n.endsWith("down_proj.weight")
                        ? 0.02 / Math.sqrt(2.0 * layers) : 0.02;
                assertEquals(expected, std(t), 0.1 * expected, n);
            }
        }
        // near-zero logits: every next byte about equally likely, the mean NLL over targets ~ ln(vocab)
        Path model = dir.resolve("m");
        SyntheticModel.write(model, c, DType.F32, 5, Long.MAX_VALUE, true, SyntheticModel.Init.PRETRAIN);
        try (LlamaModel m = LlamaModel.open(model, List.of())) {
            int[] ids = {0, 10, 20, 30, 40};
            float[] logits = m.logits(ids);
            int v = ByteTokenizerBuilder.VOCAB_SIZE;
            double worst = 0;
            for (int r = 0; r < ids.length; r++) {
                double max = Double.NEGATIVE_INFINITY;
                double sum = 0;
                double mean = 0;
                for (int j = 0; j < v; j++) {
                    max = Math.max(max, logits[r * v + j]);
                    mean += logits[r * v + j] / v;
                }
                for (int j = 0; j < v; j++) {
                    sum += Math.exp(logits[r * v + j] - max);
                }
                double nll = Math.log(sum) + max - mean; // NLL averaged over every possible target
                worst = Math.max(worst, Math.abs(nll - Math.log(v)));
            }
            assertTrue(worst < 0.05, "mean NLL differs from ln(vocab) by " + worst);
        }
    }
}
