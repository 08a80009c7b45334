package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The training forward against the inference engine, an independent implementation of the same model. */
class LlamaTrainingModelTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(ModelArchitecture.class)
    void trainingLossEqualsCrossEntropyOfInferenceLogits(ModelArchitecture arch) throws Exception {
        Path model = TinyModels.write(dir.resolve("m"), TinyModels.Spec.of(arch).withDtype(DType.BF16));
        Path adapter = TinyAdapters.llama(5, 2, 64, 32, 128).rank(3).alpha(6).rslora(true).stdB(0.3).write(dir.resolve("a"));
        Random rnd = new Random(1);
        int batch = 3;
        int seqLen = 7;
        int[] lengths = {7, 4, 6}; // shorter rows padded with id 0 and label -100
        int[] tokens = new int[batch * seqLen];
        int[] targets = new int[batch * seqLen];
        java.util.Arrays.fill(targets, CrossEntropy.IGNORE);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                tokens[b * seqLen + t] = rnd.nextInt(256);
            }
            for (int t = 1; t + 1 < lengths[b]; t++) { // position 0 is "prompt": its target ignored
                targets[b * seqLen + t] = tokens[b * seqLen + t + 1];
            }
        }
        double count = CrossEntropy.countTargets(targets, targets.length);
        List<LoraParameters> params = new ArrayList<>();
        try (LoraAdapter ad = LoraAdapter.open(adapter)) {
            for (LoraModule m : ad.modules()) {
                params.add(LoraParameters.copyOf(m));
            }
        }
        double trainLoss;
        try (LlamaTrainingModel tm = LlamaTrainingModel.open(model, params)) {
            trainLoss = tm.forward(tokens, targets, batch, seqLen, count, 0f, 0);
            tm.backward();
        }
        double sum = 0;
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapter, 1.0)))) {
            int v = m.config().vocabSize();
            for (int b = 0; b < batch; b++) {
                int[] seq = java.util.Arrays.copyOfRange(tokens, b * seqLen, b * seqLen + lengths[b]);
                float[] logits = m.logits(seq);
                for (int t = 0; t < lengths[b]; t++) {
                    int target = targets[b * seqLen + t];
                    if (target != CrossEntropy.IGNORE) {
                        sum -= logSoftmax(logits, t * v, v, target);
                    }
                }
            }
        }
        assertEquals(sum / count, trainLoss, 1e-5 * Math.abs(sum / count), "training loss vs inference cross-entropy");
        double gradNorm = 0;
        for (LoraParameters p : params) {
            for (float g : p.gradB()) {
                gradNorm += g * g;
            }
        }
        assertTrue(gradNorm > 0 && Double.isFinite(gradNorm), "B receives a gradient");
    }

    static double logSoftmax(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, logits[off + j]);
        }
        double s = 0;
        for (int j = 0; j < n; j++) {
            s += Math.exp(logits[off + j] - max);
        }
        return logits[off + target] - max - Math.log(s);
    }
}
