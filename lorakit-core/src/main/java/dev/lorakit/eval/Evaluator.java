package dev.lorakit.eval;

import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LanguageModel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Evaluates task files on a model:
 * <ul>
 *   <li>prompt/completion: the prompt (with BOS per the tokenizer) followed by the completion's
 *       tokens; NLL = mean -log p per completion token; exact match = greedy generation from the
 *       prompt (stopping at EOS, at most completion length + {@value #EXTRA_TOKENS} tokens) equals
 *       the completion after trimming whitespace. Teacher forcing already shows where greedy
 *       decoding would first leave the completion, which decides most examples without generating
 *       (a match when the top prediction is every completion token and then EOS, a certain
 *       mismatch when the text diverges; see {@link TeacherForcedMatch});</li>
 *   <li>multiple choice: sum of log p of each choice's tokens after the prompt; accuracy takes the
 *       highest sum, accuracy_norm the highest sum per UTF-8 byte of the choice;</li>
 *   <li>text: perplexity = exp(mean NLL over every token after BOS), and bits per UTF-8 byte.</li>
 * </ul>
 * Examples are processed in batches of {@code batchSize} sequences.
 */
public final class Evaluator {
    /** Tokens greedy generation may run past the completion's length. */
    public static final int EXTRA_TOKENS = 8;

    private final LanguageModel model;
    private final TextTokenizer tokenizer;
    private final SequenceScorer scorer;
    private final int batchSize;
    private final Set<Integer> stopIds;

    public Evaluator(LanguageModel model, TextTokenizer tokenizer, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.scorer = new SequenceScorer(model);
        this.batchSize = batchSize;
        this.stopIds = new HashSet<>(tokenizer.eosIds());
    }

    /** Evaluates one task; {@code progress} receives the number of examples finished per batch. */
    public TaskResult evaluate(TaskFile task, IntConsumer progress) {
        return switch (task.kind()) {
            case PROMPT_COMPLETION -> promptCompletion(task, progress);
            case MULTIPLE_CHOICE -> multipleChoice(task, progress);
            case TEXT -> text(task, progress);
        };
    }

    private TaskResult promptCompletion(TaskFile task, IntConsumer progress) {
        List<TaskExample> all = task.examples();
        long matches = 0;
        double nllSum = 0;
        long nllTokens = 0;
        Integer eos = tokenizer.eosId().isPresent() ? tokenizer.eosId().getAsInt() : null;
        for (int start = 0; start < all.size(); start += batchSize) {
            List<TaskExample> batch = all.subList(start, Math.min(all.size(), start + batchSize));
            int n = batch.size();
            int[][] prompts = new int[n][];
            int[][] completions = new int[n][];
            int[][] seqs = new int[n][];
            int[] from = new int[n];
            for (int i = 0; i < n; i++) {
                TaskExample.PromptCompletion ex = (TaskExample.PromptCompletion) batch.get(i);
                prompts[i] = tokenizer.encode(ex.prompt());
                completions[i] = tokenizer.encode(ex.completion(), false, false);
                seqs[i] = concat(prompts[i], completions[i], eos);
                from[i] = Math.max(1, prompts[i].length);
                if (prompts[i].length == 0) {
                    throw new dev.lorakit.BadInputException(task.path() + ": example " + (start + i + 1)
                            + " has an empty prompt and the tokenizer adds no BOS, so the first completion token cannot be scored");
                }
            }
            SequenceScorer.Scored[] scored = scorer.score(seqs, from);
            List<Integer> undecided = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int c = completions[i].length;
                for (int t = 0; t < c; t++) {
                    nllSum -= scored[i].logProbs()[t];
                }
                nllTokens += c;
                TaskExample.PromptCompletion ex = (TaskExample.PromptCompletion) batch.get(i);
                switch (TeacherForcedMatch.decide(completions[i], scored[i], eos != null, stopIds, ex.completion(), tokenizer)) {
                    case MATCH -> matches++;
                    case MISMATCH -> { }
                    case UNKNOWN -> undecided.add(i);
                }
            }
            if (!undecided.isEmpty()) {
                int[][] ps = new int[undecided.size()][];
                int[] maxNew = new int[undecided.size()];
                for (int u = 0; u < ps.length; u++) {
                    ps[u] = prompts[undecided.get(u)];
                    maxNew[u] = completions[undecided.get(u)].length + EXTRA_TOKENS;
                }
                int[][] gen = GreedyDecoder.generate(model, ps, maxNew, stopIds);
                for (int u = 0; u < ps.length; u++) {
                    TaskExample.PromptCompletion ex = (TaskExample.PromptCompletion) batch.get(undecided.get(u));
                    if (tokenizer.decode(gen[u], true).strip().equals(ex.completion().strip())) {
                        matches++;
                    }
                }
            }
            progress.accept(n);
        }
        Map<String, Double> m = new LinkedHashMap<>();
        double em = (double) matches / all.size();
        m.put("exact_match", em);
        m.put("nll", nllTokens == 0 ? 0 : nllSum / nllTokens);
        m.put("completion_tokens", (double) nllTokens);
        return new TaskResult(task.name(), task.kind(), all.size(), m, em);
    }

    private TaskResult multipleChoice(TaskFile task, IntConsumer progress) {
        List<TaskExample> all = task.examples();
        long correct = 0;
        long correctNorm = 0;
        for (int start = 0; start < all.size(); start += batchSize) {
            List<TaskExample> batch = all.subList(start, Math.min(all.size(), start + batchSize));
            List<int[]> seqs = new ArrayList<>();
            List<Integer> froms = new ArrayList<>();
            for (TaskExample e : batch) {
                TaskExample.MultipleChoice ex = (TaskExample.MultipleChoice) e;
                int[] prompt = tokenizer.encode(ex.prompt());
                for (String choice : ex.choices()) {
                    seqs.add(concat(prompt, tokenizer.encode(choice, false, false), null));
                    froms.add(Math.max(1, prompt.length));
                }
            }
            SequenceScorer.Scored[] scored = scorer.score(seqs.toArray(int[][]::new), froms.stream().mapToInt(Integer::intValue).toArray());
            int k = 0;
            for (TaskExample e : batch) {
                TaskExample.MultipleChoice ex = (TaskExample.MultipleChoice) e;
                int best = -1;
                int bestNorm = -1;
                double bestLp = Double.NEGATIVE_INFINITY;
                double bestLpNorm = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < ex.choices().size(); c++, k++) {
                    double lp = scored[k].total();
                    double norm = lp / Math.max(1, ex.choices().get(c).getBytes(StandardCharsets.UTF_8).length);
                    if (lp > bestLp) {
                        bestLp = lp;
                        best = c;
                    }
                    if (norm > bestLpNorm) {
                        bestLpNorm = norm;
                        bestNorm = c;
                    }
                }
                correct += best == ex.answer() ? 1 : 0;
                correctNorm += bestNorm == ex.answer() ? 1 : 0;
            }
            progress.accept(batch.size());
        }
        Map<String, Double> m = new LinkedHashMap<>();
        double acc = (double) correct / all.size();
        m.put("accuracy", acc);
        m.put("accuracy_norm", (double) correctNorm / all.size());
        return new TaskResult(task.name(), task.kind(), all.size(), m, acc);
    }

    private TaskResult text(TaskFile task, IntConsumer progress) {
        List<TaskExample> all = task.examples();
        double nll = 0;
        long tokens = 0;
        long bytes = 0;
        for (int start = 0; start < all.size(); start += batchSize) {
            List<TaskExample> batch = all.subList(start, Math.min(all.size(), start + batchSize));
            List<int[]> seqs = new ArrayList<>();
            List<Integer> froms = new ArrayList<>();
            for (TaskExample e : batch) {
                String text = ((TaskExample.PlainText) e).text();
                int[] ids = tokenizer.encode(text);
                int first = ids.length > 0 && tokenizer.bosId().isPresent() && ids[0] == tokenizer.bosId().getAsInt() ? 1 : 0;
                if (ids.length - first < 1 || (first == 0 && ids.length < 2)) {
                    continue; // nothing to predict
                }
                seqs.add(ids);
                froms.add(Math.max(1, first));
                bytes += text.getBytes(StandardCharsets.UTF_8).length;
            }
            if (!seqs.isEmpty()) {
                for (SequenceScorer.Scored s : scorer.score(seqs.toArray(int[][]::new), froms.stream().mapToInt(Integer::intValue).toArray())) {
                    nll -= s.total();
                    tokens += s.logProbs().length;
                }
            }
            progress.accept(batch.size());
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("perplexity", tokens == 0 ? Double.NaN : Math.exp(nll / tokens));
        m.put("bits_per_byte", bytes == 0 ? Double.NaN : nll / Math.log(2) / bytes);
        m.put("nll", tokens == 0 ? Double.NaN : nll / tokens);
        m.put("tokens", (double) tokens);
        return new TaskResult(task.name(), task.kind(), all.size(), m, Double.NaN);
    }

    private static int[] concat(int[] a, int[] b, Integer last) {
        int[] out = new int[a.length + b.length + (last == null ? 0 : 1)];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        if (last != null) {
            out[out.length - 1] = last;
        }
        return out;
    }
}
