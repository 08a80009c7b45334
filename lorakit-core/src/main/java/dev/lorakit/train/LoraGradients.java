package dev.lorakit.train;

import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.nn.CrossEntropy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The loss and LoRA gradients of one batch, from outside: for checking lorakit's gradients
 * against another implementation (the golden-gradient tests) and for debugging.
 */
public final class LoraGradients {
    private LoraGradients() {
    }

    /**
     * Loss (mean CE over the non-ignored shifted labels of the batch) and dLoss/dA, dLoss/dB of
     * every module of the adapter, keyed by PEFT tensor name; "loss" maps to a one-element array.
     *
     * @param inputIds [B][T] padded input ids (all rows the same length)
     * @param labels [B][T] Hugging Face labels (position t predicts labels[t+1]; -100 ignored)
     */
    public static Map<String, float[]> compute(Path modelDir, Path adapterDir, int[][] inputIds, int[][] labels) {
        int batch = inputIds.length;
        int seqLen = inputIds[0].length;
        int[] tokens = new int[batch * seqLen];
        int[] targets = new int[batch * seqLen];
        for (int b = 0; b < batch; b++) {
            if (inputIds[b].length != seqLen || labels[b].length != seqLen) {
                throw new IllegalArgumentException("every sequence and label row must have length " + seqLen);
            }
            for (int t = 0; t < seqLen; t++) {
                tokens[b * seqLen + t] = inputIds[b][t];
                targets[b * seqLen + t] = t + 1 < seqLen ? labels[b][t + 1] : CrossEntropy.IGNORE;
            }
        }
        double count = CrossEntropy.countTargets(targets, targets.length);
        try (LoraAdapter adapter = LoraAdapter.open(adapterDir)) {
            List<LoraParameters> params = new ArrayList<>();
            for (LoraModule m : adapter.modules()) {
                params.add(LoraParameters.copyOf(m));
            }
            try (LlamaTrainingModel model = LlamaTrainingModel.open(modelDir, params)) {
                double loss = model.forward(tokens, targets, batch, seqLen, count, 0f, 0);
                model.backward();
                Map<String, float[]> out = new LinkedHashMap<>();
                out.put("loss", new float[] {(float) loss});
                for (LoraParameters p : params) {
                    out.put(PeftKeys.loraA(p.module()), p.gradA());
                    out.put(PeftKeys.loraB(p.module()), p.gradB());
                }
                return out;
            }
        }
    }
}
