package dev.lorakit.generate;

import dev.lorakit.io.tokenizer.StreamingDecoder;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.KvCache;
import dev.lorakit.model.LlamaModel;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The text generation loop: prefill the prompt, then sample one token at a time through the KV
 * cache, stream the decoded text (never splitting a character, holding back a possible stop
 * string), and stop at EOS, a stop string, the token budget or the model's context.
 */
public final class TextGenerator {
    /** Why generation ended. */
    public enum FinishReason {
        /** an end-of-sequence token */
        EOS,
        /** a stop string appeared (it is not part of the text) */
        STOP_STRING,
        /** the max-new-tokens budget */
        LENGTH,
        /** the model's context length */
        CONTEXT
    }

    /**
     * The outcome of one generation.
     *
     * @param text the generated text (without the prompt and any stop string): the decode of all
     *     generated tokens, or the streamed text up to the stop string
     * @param tokens the generated token ids (including those of a stop string, excluding EOS)
     * @param promptTokens number of prompt tokens
     * @param finishReason why it ended
     * @param prefillSeconds time of the prompt's forward pass
     * @param decodeSeconds time of every later forward pass and sampling step
     */
    public record Result(String text, int[] tokens, int promptTokens, FinishReason finishReason, double prefillSeconds,
                         double decodeSeconds) {
        /** Prompt tokens per second of prefill. */
        public double prefillTokensPerSecond() {
            return promptTokens / prefillSeconds;
        }

        /** Generated tokens per second after the first (each needs one decode step). */
        public double decodeTokensPerSecond() {
            return tokens.length <= 1 || decodeSeconds == 0 ? Double.NaN : (tokens.length - 1) / decodeSeconds;
        }
    }

    private TextGenerator() {
    }

    /**
     * Generates from {@code promptIds}; {@code onText} receives each piece of text as soon as it is
     * safe to show (may be called with empty strings never).
     */
    public static Result generate(LlamaModel model, TextTokenizer tokenizer, int[] promptIds, SamplingParams params,
                                  Consumer<String> onText) {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        int vocab = model.config().vocabSize();
        int max = params.maxNewTokens();
        KvCache cache = model.newCache(Math.min(model.config().maxPositionEmbeddings(), promptIds.length + max));
        Set<Integer> eos = new HashSet<>(tokenizer.eosIds());
        Sampler sampler = new Sampler(params, vocab);
        StreamingDecoder decoder = tokenizer.streamingDecoder(true);
        StopStrings stops = new StopStrings(params.stopStrings());
        StringBuilder text = new StringBuilder();
        int[] context = Arrays.copyOf(promptIds, promptIds.length + max);
        int length = promptIds.length;

        long t0 = System.nanoTime();
        float[] logits = model.forward(new KvCache[] {cache}, new int[][] {promptIds}, false);
        long t1 = System.nanoTime();
        FinishReason reason = FinishReason.LENGTH;
        int generated = 0;
        while (generated < max) {
            int next = sampler.sample(logits, 0, context, length);
            if (eos.contains(next)) {
                reason = FinishReason.EOS;
                break;
            }
            context[length++] = next;
            generated++;
            StopStrings.Emit emit = stops.push(decoder.push(next));
            emitText(emit.text(), text, onText);
            if (emit.stopped()) {
                reason = FinishReason.STOP_STRING;
                break;
            }
            if (generated == max) {
                break;
            }
            if (cache.length() >= cache.maxPositions()) {
                reason = FinishReason.CONTEXT;
                break;
            }
            logits = model.forward(new KvCache[] {cache}, new int[][] {{next}}, false);
        }
        long t2 = System.nanoTime();
        if (!stops.stopped()) {
            StopStrings.Emit tail = stops.push(decoder.finish());
            emitText(tail.text(), text, onText);
            if (tail.stopped()) {
                reason = FinishReason.STOP_STRING;
            } else {
                emitText(stops.finish(), text, onText);
            }
        }
        int[] tokens = Arrays.copyOfRange(context, promptIds.length, length);
        // The streamed pieces equal decode(tokens) for valid UTF-8; for invalid byte runs the library's
        // whole-sequence decode is the canonical text, so report that unless a stop string cut it.
        String finalText = reason == FinishReason.STOP_STRING ? text.toString() : tokenizer.decode(tokens, true);
        return new Result(finalText, tokens, promptIds.length, reason, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    private static void emitText(String piece, StringBuilder text, Consumer<String> onText) {
        if (!piece.isEmpty()) {
            text.append(piece);
            onText.accept(piece);
        }
    }
}
