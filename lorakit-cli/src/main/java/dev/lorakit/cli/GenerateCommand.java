package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.generate.ChatMessage;
import dev.lorakit.generate.ChatTemplate;
import dev.lorakit.generate.SamplingParams;
import dev.lorakit.generate.TextGenerator;
import dev.lorakit.io.tokenizer.TextTokenizer;
import dev.lorakit.model.LlamaModel;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit generate}: streams a completion of a prompt (or a chat turn) to stdout. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text with a model and any number of LoRA adapters, streaming it to stdout.",
                "Sampling defaults come from the model's generation_config.json (greedy without one); flags override."},
        footer = {"", "Examples:", "  lorakit generate --model examples/tiny/model --prompt \"In the beginning\" --max-tokens 40",
                "  lorakit generate --model M --adapter A:0.8 --chat --system \"Be brief.\" --prompt \"Hi\" --temperature 0.7 --seed 1",
                "  lorakit generate --model M --prompt \"Q:\" --stop \"\\n\" --json"})
public final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptSource prompt;

    static final class PromptSource {
        @Option(names = "--prompt", description = "The prompt text.")
        String text;

        @Option(names = "--prompt-file", paramLabel = "FILE", description = "Read the prompt from a UTF-8 file.")
        Path file;
    }

    @Option(names = "--chat", description = "Wrap the prompt as a user turn with the model's chat template (tokenizer_config.json).")
    boolean chat;

    @Option(names = "--system", description = "A system message (with --chat).")
    String system;

    @Option(names = "--max-tokens", description = "Maximum new tokens (default: generation_config.json's max_new_tokens, else 256).")
    Integer maxTokens;

    @Option(names = "--temperature", description = "0 = greedy (default: from generation_config.json, else 0).")
    Double temperature;

    @Option(names = "--top-k", description = "Keep the k most likely tokens; 0 = off.")
    Integer topK;

    @Option(names = "--top-p", description = "Nucleus sampling threshold in (0, 1]; 1 = off.")
    Double topP;

    @Option(names = "--min-p", description = "Drop tokens below min-p x the top probability; 0 = off.")
    Double minP;

    @Option(names = "--repetition-penalty", description = "HF repetition penalty; 1 = off.")
    Double repetitionPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", description = "Stop when this string appears (repeatable; not printed). Escapes \\n and \\t are understood.")
    List<String> stops = new ArrayList<>();

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String promptText = prompt.text;
        if (prompt.file != null) {
            if (!Files.isRegularFile(prompt.file)) {
                throw new BadInputException(prompt.file + ": no such file");
            }
            promptText = Files.readString(prompt.file);
        }
        if (system != null && !chat) {
            throw new BadInputException("--system needs --chat");
        }
        PrintWriter out = spec.commandLine().getOut();
        try (LlamaModel model = modelOptions.open(); TextTokenizer tok = modelOptions.openTokenizer(model.config())) {
            SamplingParams params = model.directory().generationConfig().map(SamplingParams::fromGenerationConfig)
                    .orElse(SamplingParams.DEFAULTS);
            params = params.withSeed(seed);
            if (maxTokens != null) {
                params = params.withMaxNewTokens(maxTokens);
            }
            if (temperature != null) {
                params = params.withTemperature(temperature);
            }
            if (topK != null) {
                params = params.withTopK(topK);
            }
            if (topP != null) {
                params = params.withTopP(topP);
            }
            if (minP != null) {
                params = params.withMinP(minP);
            }
            if (repetitionPenalty != null) {
                params = params.withRepetitionPenalty(repetitionPenalty);
            }
            if (!stops.isEmpty()) {
                params = params.withStopStrings(stops.stream().map(GenerateCommand::unescape).toList());
            }
            int[] ids;
            if (chat) {
                List<ChatMessage> messages = new ArrayList<>();
                if (system != null) {
                    messages.add(ChatMessage.system(system));
                }
                messages.add(ChatMessage.user(promptText));
                ids = tok.encode(ChatTemplate.fromTokenizer(tok).render(messages, true));
            } else {
                ids = tok.encode(promptText);
            }
            if (ids.length == 0) {
                throw new BadInputException("--prompt: the prompt has no tokens (empty text and no BOS)");
            }
            boolean stream = !global.json;
            TextGenerator.Result r = TextGenerator.generate(model, tok, ids, params, piece -> {
                if (stream) {
                    out.print(piece);
                    out.flush();
                }
            });
            if (global.json) {
                ObjectNode root = Json.object();
                root.put("text", r.text());
                root.put("prompt_tokens", r.promptTokens());
                root.put("generated_tokens", r.tokens().length);
                root.put("finish_reason", r.finishReason().name().toLowerCase(Locale.ROOT));
                root.put("prefill_seconds", r.prefillSeconds());
                root.put("decode_seconds", r.decodeSeconds());
                root.put("prefill_tokens_per_s", r.prefillTokensPerSecond());
                if (!Double.isNaN(r.decodeTokensPerSecond())) {
                    root.put("decode_tokens_per_s", r.decodeTokensPerSecond());
                }
                root.put("seed", seed);
                Json.print(out, root);
            } else {
                out.println();
                if (!global.quiet) {
                    spec.commandLine().getErr().printf(Locale.ROOT,
                            "[%d prompt tokens, %.1f tokens/s prefill; %d generated, %.2f tokens/s decode; stop: %s]%n",
                            r.promptTokens(), r.prefillTokensPerSecond(), r.tokens().length,
                            Double.isNaN(r.decodeTokensPerSecond()) ? 0.0 : r.decodeTokensPerSecond(),
                            r.finishReason().name().toLowerCase(Locale.ROOT));
                }
            }
        }
        return 0;
    }

    /** Turns the escapes \n, \t and \\ of a command-line stop string into characters. */
    static String unescape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                sb.append(switch (n) {
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    case '\\' -> '\\';
                    default -> {
                        sb.append('\\');
                        yield n;
                    }
                });
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
