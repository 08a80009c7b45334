package dev.lorakit.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.model.SequenceCache;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The output ensemble against hand computations from its members' logits. */
class EnsembleModelTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path adapterA;
    static Path adapterB;

    @BeforeAll
    static void makeFixtures() throws Exception {
        model = dir.resolve("tiny");
        ModelConfig c = ModelPreset.TINY.config(DType.F32);
        SyntheticModel.write(model, c, DType.F32, 5, Long.MAX_VALUE, true);
        int kvDim = c.numKeyValueHeads() * c.headDim();
        adapterA = TinyAdapters.llama(11, c.numHiddenLayers(), c.hiddenSize(), kvDim, c.intermediateSize())
                .rank(4).alpha(8).write(dir.resolve("a"));
        adapterB = TinyAdapters.llama(12, c.numHiddenLayers(), c.hiddenSize(), kvDim, c.intermediateSize())
                .rank(8).alpha(8).write(dir.resolve("b"));
    }

    static double[] softmax(float[] logits, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, logits[off + j]);
        }
        double sum = 0;
        double[] p = new double[n];
        for (int j = 0; j < n; j++) {
            p[j] = Math.exp(logits[off + j] - max);
            sum += p[j];
        }
        for (int j = 0; j < n; j++) {
            p[j] /= sum;
        }
        return p;
    }

    /** log(mean_i softmax(l_i)) of one row, in float64, straight from the definition. */
    static double[] handEnsembleRow(List<float[]> memberLogits, int row, int v) {
        double[] mean = new double[v];
        for (float[] l : memberLogits) {
            double[] p = softmax(l, row * v, v);
            for (int j = 0; j < v; j++) {
                mean[j] += p[j] / memberLogits.size();
            }
        }
        for (int j = 0; j < v; j++) {
            mean[j] = Math.log(mean[j]);
        }
        return mean;
    }

    @Test
    void ensembleOfOneHasTheModelsDistribution() {
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapterA, 1.0)));
             EnsembleModel e = new EnsembleModel(List.of(m))) {
            int v = m.vocabSize();
            assertEquals(v, e.vocabSize());
            int[] seq = {1, 40, 41, 42, 100, 7, 3};
            float[] direct = m.logits(seq);
            float[] ens = e.logits(seq);
            assertEquals(direct.length, ens.length);
            for (int t = 0; t < seq.length; t++) {
                double[] p = softmax(direct, t * v, v);
                double[] q = softmax(ens, t * v, v);
                double logSum = 0;
                for (int j = 0; j < v; j++) {
                    assertEquals(p[j], q[j], 1e-6 * Math.max(1, p[j] * 10), "row " + t + " token " + j);
                    logSum += Math.exp(ens[t * v + j]);
                }
                assertEquals(1.0, logSum, 1e-5, "the ensemble's logits are log-probabilities");
            }
        }
    }

    @Test
    void ensembleOfTwoIsTheLogOfTheMeanDistribution() {
        try (LlamaModel a = LlamaModel.open(model, List.of(new AdapterRef(adapterA, 1.0)));
             LlamaModel b = LlamaModel.open(model, List.of(new AdapterRef(adapterB, 1.0)));
             EnsembleModel e = new EnsembleModel(List.of(a, b))) {
            int v = a.vocabSize();
            int[] seq = {1, 9, 80, 81, 200, 33};
            List<float[]> members = List.of(a.logits(seq), b.logits(seq));
            float[] ens = e.logits(seq);
            for (int t = 0; t < seq.length; t++) {
                double[] hand = handEnsembleRow(members, t, v);
                for (int j = 0; j < v; j++) {
                    assertEquals(hand[j], ens[t * v + j], 2e-5, "row " + t + " token " + j);
                }
            }
            // Incremental: a batched prefill of two sequences, then one decode step each, gives
            // the same last rows as the whole sequences at once.
            int[][] prefix = {{1, 9, 80}, {1, 50}};
            int[][] next = {{81}, {51}};
            SequenceCache[] caches = {e.newCache(2), e.newCache(2)};
            float[] first = e.forward(caches, prefix, false);
            assertEquals(2 * v, first.length);
            float[] step = e.forward(caches, next, false);
            assertEquals(4, caches[0].length());
            assertEquals(3, caches[1].length());
            float[] whole0 = e.logits(new int[] {1, 9, 80, 81});
            float[] whole1 = e.logits(new int[] {1, 50, 51});
            for (int j = 0; j < v; j++) {
                assertEquals(whole0[2 * v + j], first[j], 1e-5);
                assertEquals(whole0[3 * v + j], step[j], 1e-5);
                assertEquals(whole1[2 * v + j], step[v + j], 1e-5);
            }
        }
    }

    @Test
    void evaluatorAndDecoderOnTheEnsembleFollowTheMeanDistribution() throws Exception {
        Path tasks = Files.createDirectories(dir.resolve("tasks"));
        Path f = tasks.resolve("pc.jsonl");
        Files.writeString(f, "{\"prompt\": \"ab\", \"completion\": \"cd\"}\n{\"prompt\": \"xyz\", \"completion\": \"q\"}\n"
                + "{\"prompt\": \"hello\", \"completion\": \" world\"}\n");
        try (EnsembleModel e = EnsembleModel.open(model, List.of(List.of(new AdapterRef(adapterA, 1.0)),
                List.of(new AdapterRef(adapterB, 1.0))), false);
             LlamaModel a = LlamaModel.open(model, List.of(new AdapterRef(adapterA, 1.0)));
             LlamaModel b = LlamaModel.open(model, List.of(new AdapterRef(adapterB, 1.0)))) {
            ModelConfig c = a.config();
            int v = c.vocabSize();
            try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()))) {
                TaskResult r = new Evaluator(e, tok, 2).evaluate(TaskFile.read(f), n -> { });
                assertEquals(3, r.examples());
                // NLL by hand: -log of the mean member probability of each completion token (+ EOS)
                double nll = 0;
                int count = 0;
                for (String[] ex : new String[][] {{"ab", "cd"}, {"xyz", "q"}, {"hello", " world"}}) {
                    int[] p = tok.encode(ex[0]);
                    int[] comp = tok.encode(ex[1], false, false);
                    int[] seq = Arrays.copyOf(p, p.length + comp.length);
                    System.arraycopy(comp, 0, seq, p.length, comp.length);
                    List<float[]> members = List.of(a.logits(seq), b.logits(seq));
                    for (int t = p.length; t < seq.length; t++) {
                        nll -= handEnsembleRow(members, t - 1, v)[seq[t]];
                        count++;
                    }
                }
                assertEquals(nll / count, r.metrics().get("nll"), 1e-5);
                assertEquals((double) count, r.metrics().get("completion_tokens"));
            }
            // Greedy decoding follows the argmax of the hand-combined distribution.
            int[] prompt = {1, 70, 71};
            int[] gen = GreedyDecoder.generate(e, new int[][] {prompt}, new int[] {6}, Set.of())[0];
            assertEquals(6, gen.length);
            int[] seq = prompt;
            for (int k = 0; k < gen.length; k++) {
                double[] row = handEnsembleRow(List.of(a.logits(seq), b.logits(seq)), seq.length - 1, v);
                int best = 0;
                for (int j = 1; j < v; j++) {
                    if (row[j] > row[best]) {
                        best = j;
                    }
                }
                assertEquals(best, gen[k], "token " + k);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = best;
            }
        }
    }

    @Test
    void ensembleOfOneEvaluatesLikeItsMember() throws Exception {
        Path f = dir.resolve("one.jsonl");
        Files.writeString(f, "{\"prompt\": \"abc\", \"completion\": \"de\"}\n{\"prompt\": \"k\", \"completion\": \"lmn\"}\n");
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapterB, 1.0)));
             EnsembleModel e = new EnsembleModel(List.of(m))) {
            ModelConfig c = m.config();
            try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()))) {
                TaskResult direct = new Evaluator(m, tok, 2).evaluate(TaskFile.read(f), n -> { });
                TaskResult viaEnsemble = new Evaluator(e, tok, 2).evaluate(TaskFile.read(f), n -> { });
                assertEquals(direct.score(), viaEnsemble.score());
                assertEquals(direct.metrics().get("nll"), viaEnsemble.metrics().get("nll"), 1e-6);
                int[][] prompts = {{1, 5, 6}, {1, 200}};
                assertArrayEquals(GreedyDecoder.generate(m, prompts, new int[] {5, 4}, Set.of()),
                        GreedyDecoder.generate(e, prompts, new int[] {5, 4}, Set.of()));
            }
        }
    }

    @Test
    void membersMustShareTheVocabulary() throws Exception {
        Path other = dir.resolve("other");
        ModelConfig c = ModelPreset.TINY.config(DType.F32);
        ModelConfig smaller = ModelConfig.builder(c.architecture()).hiddenSize(c.hiddenSize())
                .intermediateSize(c.intermediateSize()).numHiddenLayers(1).numAttentionHeads(c.numAttentionHeads())
                .numKeyValueHeads(c.numKeyValueHeads()).vocabSize(100).maxPositionEmbeddings(64).rmsNormEps(1e-5)
                .ropeTheta(10000).bosTokenId(1).eosTokenIds(List.of(2)).torchDtype(DType.F32).build();
        SyntheticModel.write(other, smaller, DType.F32, 1, Long.MAX_VALUE, false);
        try (LlamaModel a = LlamaModel.open(model, List.of()); LlamaModel b = LlamaModel.open(other, List.of())) {
            BadInputException ex = assertThrows(BadInputException.class, () -> new EnsembleModel(List.of(a, b)));
            assertEquals(true, ex.getMessage().contains("vocabulary"), ex.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new EnsembleModel(List.of()));
    }
}
