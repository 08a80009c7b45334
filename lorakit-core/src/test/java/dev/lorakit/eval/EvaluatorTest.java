package dev.lorakit.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each metric of the evaluator against a direct computation from the model's full logits. */
class EvaluatorTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void makeModel() throws Exception {
        model = dir.resolve("tiny");
        ModelConfig c = ModelPreset.TINY.config(DType.F32);
        SyntheticModel.write(model, c, DType.F32, 3, Long.MAX_VALUE, true);
    }

    static TextTokenizer tokenizer(LlamaModel m) {
        ModelConfig c = m.config();
        return TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()));
    }

    static double logProb(float[] logits, int row, int vocab, int token) {
        return SequenceScorer.logSoftmaxAt(logits, row * vocab, vocab, token);
    }

    @Test
    void batchedScoresEqualFullForwardLogSoftmax() {
        try (LlamaModel m = LlamaModel.open(model, List.of())) {
            int v = m.config().vocabSize();
            int[][] seqs = {{0, 10, 20, 30, 40}, {0, 7}, {0, 1, 2, 3, 4, 5, 6, 7, 8}};
            int[] from = {2, 1, 4};
            SequenceScorer.Scored[] scored = new SequenceScorer(m).score(seqs, from);
            for (int s = 0; s < seqs.length; s++) {
                float[] logits = m.logits(seqs[s]);
                for (int t = from[s]; t < seqs[s].length; t++) {
                    assertEquals(logProb(logits, t - 1, v, seqs[s][t]), scored[s].logProbs()[t - from[s]], 1e-5);
                    assertEquals(SequenceScorer.argmax(logits, (t - 1) * v, v) == seqs[s][t], scored[s].topMatches()[t - from[s]]);
                }
            }
        }
    }

    @Test
    void batchedGreedyEqualsOneSequenceArgmaxLoop() {
        try (LlamaModel m = LlamaModel.open(model, List.of())) {
            int v = m.config().vocabSize();
            int[][] prompts = {{0, 50, 60}, {0, 100}, {0, 3, 4, 5, 6}};
            int[][] gen = GreedyDecoder.generate(m, prompts, new int[] {5, 3, 6}, Set.of());
            for (int s = 0; s < prompts.length; s++) {
                int[] seq = prompts[s].clone();
                for (int k = 0; k < gen[s].length; k++) {
                    float[] logits = m.logits(seq);
                    int next = SequenceScorer.argmax(logits, (seq.length - 1) * v, v);
                    assertEquals(next, gen[s][k], "sequence " + s + " token " + k);
                    seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                    seq[seq.length - 1] = next;
                }
            }
            assertArrayEquals(new int[] {5, 3, 6}, new int[] {gen[0].length, gen[1].length, gen[2].length});
        }
    }

    @Test
    void metricsMatchDirectComputation() throws Exception {
        Path tasks = Files.createDirectories(dir.resolve("tasks"));
        Files.writeString(tasks.resolve("pc.jsonl"), "{\"prompt\": \"ab\", \"completion\": \"cd\"}\n\n{\"prompt\": \"x\", \"completion\": \"y\"}\n");
        Files.writeString(tasks.resolve("mc.jsonl"), "{\"prompt\": \"Q\", \"choices\": [\"a\", \"bb\", \"c\"], \"answer\": 1}\n");
        Files.writeString(tasks.resolve("txt.jsonl"), "{\"text\": \"hello\"}\n{\"text\": \"é!\"}\n");
        List<TaskFile> files = TaskFile.readAll(tasks);
        assertEquals(List.of("mc", "pc", "txt"), files.stream().map(TaskFile::name).toList());
        try (LlamaModel m = LlamaModel.open(model, List.of()); TextTokenizer tok = tokenizer(m)) {
            int v = m.config().vocabSize();
            Evaluator ev = new Evaluator(m, tok, 2);
            // multiple choice: argmax of summed log-probs
            TaskResult mc = ev.evaluate(files.get(0), n -> { });
            double[] sums = new double[3];
            String[] choices = {"a", "bb", "c"};
            for (int c = 0; c < 3; c++) {
                int[] p = tok.encode("Q");
                int[] ch = tok.encode(choices[c], false, false);
                int[] seq = java.util.Arrays.copyOf(p, p.length + ch.length);
                System.arraycopy(ch, 0, seq, p.length, ch.length);
                float[] logits = m.logits(seq);
                for (int t = p.length; t < seq.length; t++) {
                    sums[c] += logProb(logits, t - 1, v, seq[t]);
                }
            }
            int best = sums[0] >= sums[1] && sums[0] >= sums[2] ? 0 : sums[1] >= sums[2] ? 1 : 2;
            assertEquals(best == 1 ? 1.0 : 0.0, mc.metrics().get("accuracy"));
            // prompt/completion NLL: mean over the completion tokens of both examples
            TaskResult pc = ev.evaluate(files.get(1), n -> { });
            double nll = 0;
            int count = 0;
            for (String[] ex : new String[][] {{"ab", "cd"}, {"x", "y"}}) {
                int[] p = tok.encode(ex[0]);
                int[] c = tok.encode(ex[1], false, false);
                int[] seq = java.util.Arrays.copyOf(p, p.length + c.length);
                System.arraycopy(c, 0, seq, p.length, c.length);
                float[] logits = m.logits(seq);
                for (int t = p.length; t < seq.length; t++) {
                    nll -= logProb(logits, t - 1, v, seq[t]);
                    count++;
                }
            }
            assertEquals(nll / count, pc.metrics().get("nll"), 1e-5);
            assertEquals(2, pc.examples());
            // text: perplexity over every token after BOS, bits per UTF-8 byte
            TaskResult txt = ev.evaluate(files.get(2), n -> { });
            double tnll = 0;
            int tcount = 0;
            for (String s : new String[] {"hello", "é!"}) {
                int[] ids = tok.encode(s);
                float[] logits = m.logits(ids);
                for (int t = 1; t < ids.length; t++) {
                    tnll -= logProb(logits, t - 1, v, ids[t]);
                    tcount++;
                }
            }
            assertEquals(Math.exp(tnll / tcount), txt.metrics().get("perplexity"), 1e-4 * Math.exp(tnll / tcount));
            assertEquals(tnll / Math.log(2) / (5 + 3), txt.metrics().get("bits_per_byte"), 1e-5 * tnll);
        }
    }

    @Test
    void exactMatchFollowsGreedyDecodingUpToTheStopToken() throws Exception {
        try (LlamaModel m = LlamaModel.open(model, List.of())) {
            ModelConfig c = m.config();
            int[] prompt;
            int[] gen;
            try (TextTokenizer tok = tokenizer(m)) {
                prompt = tok.encode("hi");
                gen = GreedyDecoder.generate(m, new int[][] {prompt}, new int[] {24}, Set.of())[0];
            }
            // Declare as "EOS" a token greedy decoding emits at position k (and not before): greedy generation
            // then stops right there, so the completion decode(gen[0..k)) must be an exact match and
            // decode(gen[0..k-1)) must not (generation runs one token further).
            int k = 2;
            while (contains(gen, k, gen[k])) {
                k++;
            }
            int stop = gen[k];
            try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), List.of(stop), c.padTokenId()))) {
                String good = tok.decode(java.util.Arrays.copyOf(gen, k), true);
                String shortOne = tok.decode(java.util.Arrays.copyOf(gen, k - 1), true);
                com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
                Path f = dir.resolve("em.jsonl");
                Files.writeString(f, json.writeValueAsString(java.util.Map.of("prompt", "hi", "completion", good)) + "\n"
                        + json.writeValueAsString(java.util.Map.of("prompt", "hi", "completion", shortOne)) + "\n");
                TaskResult r = new Evaluator(m, tok, 2).evaluate(TaskFile.read(f), n -> { });
                assertEquals(0.5, r.score(), "first example matches, the truncated one does not (k = " + k + ")");
            }
        }
    }

    private static boolean contains(int[] a, int end, int v) {
        for (int i = 0; i < end; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }

    @Test
    void badTaskLinesNameFileAndLine() throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"text\": \"x\"}\n");
        BadInputException e = assertThrows(BadInputException.class, () -> TaskFile.read(f));
        assertTrue(e.getMessage().contains("bad.jsonl:2"), e.getMessage());
        Files.writeString(f, "{\"prompt\": \"a\", \"choices\": [\"x\", \"y\"], \"answer\": 2}\n");
        e = assertThrows(BadInputException.class, () -> TaskFile.read(f));
        assertTrue(e.getMessage().contains("answer"), e.getMessage());
        Files.writeString(f, "not json\n");
        assertThrows(BadInputException.class, () -> TaskFile.read(f));
    }
}
