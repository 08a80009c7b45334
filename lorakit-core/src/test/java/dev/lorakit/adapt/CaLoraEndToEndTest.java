package dev.lorakit.adapt;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.compress.CompressOptions;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.train.ExampleEncoder;
import dev.lorakit.train.LlamaTrainingModel;
import dev.lorakit.train.TrainConfig;
import dev.lorakit.train.Trainer;
import dev.lorakit.train.TrainingData;
import dev.lorakit.train.TrainingExample;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA-LoRA story at toy scale: a LoRA trained on the uncompressed tiny model for a small task
 * loses accuracy when plugged into a Q4_0 copy of the model; a few steps of {@code adapt} (full
 * CA-LoRA) bring the compressed model's dev loss below the plugged-in LoRA's, and below a fresh
 * LoRA trained for as many steps on the compressed model. Losses are measured through the
 * inference engine with {@code --adapter} semantics (the adapt output: LoRA + recovery).
 */
class CaLoraEndToEndTest {
    @TempDir
    Path dir;

    static final Trainer.Listener QUIET = (e, total) -> { };

    @Test
    void adaptedLoraBeatsThePluggedInOneOnTheCompressedModel() throws Exception {
        Path teacher = AdaptFixtures.teacher(dir.resolve("teacher"));
        Path train = AdaptFixtures.uppercaseTask(dir.resolve("train.jsonl"), 64, 1);
        Path dev = AdaptFixtures.uppercaseTask(dir.resolve("dev.jsonl"), 16, 2);
        Path lora = dir.resolve("lora");
        TrainConfig trainCfg = TrainConfig.builder().rank(4).alpha(8).targets(AdaptConfig.ALL_PROJECTIONS).batchSize(8)
                .seqLen(48).lr(1e-2).epochs(4).maxGradNorm(0).seed(3).build();
        Trainer.run(teacher, trainCfg, train, null, lora, false, QUIET, () -> false);
        Path student = AdaptFixtures.compress(teacher, CompressOptions.builder().quantize(DType.Q4_0).build(), dir.resolve("q4"));

        double upper = devLoss(teacher, lora, dev);
        double plugged = devLoss(student, lora, dev);
        TrainConfig adaptCfg = TrainConfig.builder().batchSize(8).seqLen(48).lr(3e-3).maxSteps(8).maxGradNorm(1.0).seed(3).build();
        Path adapted = dir.resolve("adapted");
        Adaptation.run(AdaptConfig.defaults(teacher.toString(), lora.toString()), student, adaptCfg, train, null, adapted, false,
                QUIET, () -> false);
        double caLora = devLoss(student, adapted, dev);
        Path fresh = dir.resolve("fresh");
        Adaptation.run(new AdaptConfig(teacher.toString(), lora.toString(), false, false, false, null, AdaptConfig.ALL_PROJECTIONS,
                false, 1, LlamaTrainingModel.FINAL_HIDDEN), student, adaptCfg, train, null, fresh, false, QUIET, () -> false);
        double scratch = devLoss(student, fresh, dev);
        String report = String.format("dev CE: uncompressed + LoRA %.4f, Q4_0 + plugged-in LoRA %.4f, Q4_0 + CA-LoRA %.4f, "
                + "Q4_0 + fresh LoRA %.4f", upper, plugged, caLora, scratch);
        System.out.println(report);
        assertTrue(plugged > upper, "compression costs accuracy: " + report);
        assertTrue(caLora < plugged, "CA-LoRA beats the plugged-in LoRA: " + report);
        assertTrue(caLora < scratch, "CA-LoRA beats a LoRA trained from scratch for as many steps: " + report);
    }

    /** Mean cross-entropy over the dev set's completion tokens with the adapter applied by the inference engine. */
    static double devLoss(Path model, Path adapter, Path dev) {
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapter, 1.0)))) {
            ModelConfig c = m.config();
            TrainingData data;
            try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()))) {
                data = TrainingData.read(dev, ExampleEncoder.forTokenizer(tok, c.vocabSize()), 48);
            }
            int V = c.vocabSize();
            double sum = 0;
            long count = 0;
            for (TrainingExample e : data.examples()) {
                float[] logits = m.logits(e.inputIds());
                for (int t = 0; t + 1 < e.length(); t++) {
                    int target = e.labels()[t + 1];
                    if (target == TrainingExample.IGNORE) {
                        continue;
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < V; v++) {
                        max = Math.max(max, logits[t * V + v]);
                    }
                    double s = 0;
                    for (int v = 0; v < V; v++) {
                        s += Math.exp(logits[t * V + v] - max);
                    }
                    sum += max + Math.log(s) - logits[t * V + target];
                    count++;
                }
            }
            return sum / count;
        }
    }
}
