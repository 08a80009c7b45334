package dev.lorakit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.tokenizer.SpecialTokenIds;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.tensor.Tensor;
import java.util.LinkedHashMap;
import dev.lorakit.synth.ModelPreset;
import dev.lorakit.synth.SyntheticModel;
import dev.lorakit.tensor.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact match decided from teacher forcing agrees with brute-force greedy generation on every
 * example: completions made from the model's own greedy output (prefixes, changed characters,
 * padding whitespace, a declared stop token), so that every outcome occurs.
 */
class TeacherForcedMatchTest {
    @TempDir
    Path dir;

    @Test
    void decidedOutcomesAgreeWithGreedyGeneration() throws Exception {
        Path model = asciiModel(dir.resolve("tiny"), 21);
        ObjectMapper json = new ObjectMapper();
        Map<TeacherForcedMatch.Outcome, Integer> seen = new EnumMap<>(TeacherForcedMatch.Outcome.class);
        int matches = 0;
        int cases = 0;
        try (LlamaModel m = LlamaModel.open(model, List.of())) {
            ModelConfig c = m.config();
            List<String> prompts = List.of("hi", "Uppercase: abc\n", "the lord", "x", "Sort the words: b a\n");
            for (String prompt : prompts) {
                int[] free;
                try (TextTokenizer plain = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), c.eosTokenIds(), c.padTokenId()))) {
                    free = GreedyDecoder.generate(m, new int[][] {plain.encode(prompt)}, new int[] {16}, Set.of())[0];
                }
                // Tokenizers: the model's own EOS, and a stop token that greedy decoding emits at position 3+.
                List<List<Integer>> stopSets = new ArrayList<>();
                stopSets.add(c.eosTokenIds());
                int k = 3;
                while (k < free.length && contains(free, k, free[k])) {
                    k++;
                }
                if (k < free.length) {
                    stopSets.add(List.of(free[k]));
                }
                for (List<Integer> stops : stopSets) {
                    try (TextTokenizer tok = TextTokenizer.load(model, SpecialTokenIds.of(c.bosTokenId(), stops, c.padTokenId()))) {
                        Set<Integer> stopIds = new HashSet<>(tok.eosIds());
                        Evaluator evaluator = new Evaluator(m, tok, 4);
                        for (String completion : completions(tok, free)) {
                            Path f = dir.resolve("case.jsonl");
                            Files.writeString(f, json.writeValueAsString(Map.of("prompt", prompt, "completion", completion)) + "\n");
                            double score = evaluator.evaluate(TaskFile.read(f), n -> { }).score();
                            int[] p = tok.encode(prompt);
                            int[] comp = tok.encode(completion, false, false);
                            int[] gen = GreedyDecoder.generate(m, new int[][] {p}, new int[] {comp.length + Evaluator.EXTRA_TOKENS},
                                    stopIds)[0];
                            boolean expected = tok.decode(gen, true).strip().equals(completion.strip());
                            assertEquals(expected ? 1.0 : 0.0, score, "prompt " + json.writeValueAsString(prompt) + ", completion "
                                    + json.writeValueAsString(completion) + ", stops " + stops);
                            // The verdict itself, where it claims one, is the brute-force answer.
                            int eos = tok.eosId().getAsInt();
                            int[] seq = Arrays.copyOf(p, p.length + comp.length + 1);
                            System.arraycopy(comp, 0, seq, p.length, comp.length);
                            seq[seq.length - 1] = eos;
                            SequenceScorer.Scored scored = new SequenceScorer(m).score(new int[][] {seq}, new int[] {p.length})[0];
                            TeacherForcedMatch.Outcome o = TeacherForcedMatch.decide(comp, scored, true, stopIds, completion, tok);
                            seen.merge(o, 1, Integer::sum);
                            if (o != TeacherForcedMatch.Outcome.UNKNOWN) {
                                assertEquals(expected, o == TeacherForcedMatch.Outcome.MATCH, completion);
                            }
                            matches += expected ? 1 : 0;
                            cases++;
                        }
                    }
                }
            }
        }
        assertTrue(matches >= 5, matches + " matches in " + cases + " cases");
        for (TeacherForcedMatch.Outcome o : TeacherForcedMatch.Outcome.values()) {
            assertTrue(seen.getOrDefault(o, 0) > 0, "outcome " + o + " never occurred: " + seen);
        }
    }

    /**
     * A random tiny byte-level model whose LM head rows are zero except for EOS, printable ASCII,
     * tab, newline and carriage return: its greedy output is text (with whitespace), like a trained
     * model's, rather than invalid UTF-8.
     */
    static Path asciiModel(Path dir, long seed) throws Exception {
        ModelConfig c = ModelPreset.TINY.config(DType.F32);
        Map<String, Tensor> weights = new LinkedHashMap<>(SyntheticModel.weights(c, DType.F32, seed));
        Tensor head = weights.get(WeightLayout.LM_HEAD);
        int hidden = c.hiddenSize();
        for (int id = 0; id < c.vocabSize(); id++) {
            int b = id - ByteTokenizerBuilder.FIRST_BYTE_ID;
            boolean keep = id == ByteTokenizerBuilder.EOS_ID || b == 9 || b == 10 || b == 13 || (b >= 32 && b < 127);
            if (!keep) {
                for (int j = 0; j < hidden; j++) {
                    head.setFloat((long) id * hidden + j, 0f);
                }
            }
        }
        Files.createDirectories(dir);
        c.write(dir.resolve(ModelConfig.FILE_NAME));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), weights);
        new ByteTokenizerBuilder().addBosToken(true).writeTo(dir);
        return dir;
    }

    /** Completions built from the model's greedy output text. */
    private static List<String> completions(TextTokenizer tok, int[] gen) {
        List<String> out = new ArrayList<>();
        out.add("");
        out.add("zzz");
        for (int j = 1; j <= gen.length; j++) {
            String t = tok.decode(Arrays.copyOf(gen, j), true);
            out.add(t);
            out.add(t + "Q");
            out.add("  " + t + "\n");
            out.add(t + " ");
            if (!t.isEmpty()) {
                out.add(t.substring(0, t.length() - 1) + (t.charAt(t.length() - 1) == 'a' ? 'b' : 'a'));
            }
        }
        out.add(tok.decode(gen, true) + "\n\n");
        return out;
    }

    private static boolean contains(int[] a, int end, int v) {
        for (int i = 0; i < end; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }
}
