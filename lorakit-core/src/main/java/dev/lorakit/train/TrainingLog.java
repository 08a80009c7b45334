package dev.lorakit.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The training log, {@code training_log.jsonl}: one JSON object per logged step, appended and
 * flushed line by line so it can be followed while training runs (and survives a crash but for
 * the line being written). Keys: {@code step}, {@code epoch} (fractional), {@code loss},
 * {@code ce_loss} and {@code kd_loss} (CA-LoRA: the cross-entropy part of the loss and the
 * unweighted distillation MSE, loss = ce_loss + lambda * kd_loss), {@code lr}, {@code grad_norm},
 * {@code tokens_per_s}, {@code eval_loss}, {@code elapsed_s};
 * a key is left out when its value is absent (null). Non-finite values (a diverged loss) are
 * written as the strings "NaN", "Infinity" and "-Infinity", since JSON has no such numbers.
 *
 * <p>{@link #resume} keeps the lines of the earlier run up to the step the run resumes from
 * (later lines describe steps that will be redone) and appends after them.
 */
public final class TrainingLog implements AutoCloseable {
    /** The log's file name in a training output directory. */
    public static final String FILE_NAME = "training_log.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Writer out;

    /**
     * One line of the log.
     *
     * @param step            optimizer steps completed
     * @param epoch           fractional epochs completed
     * @param loss            mean training loss of the step, or null
     * @param lr              learning rate used by the step, or null
     * @param gradNorm        gradient norm before clipping, or null
     * @param tokensPerSecond training throughput, or null
     * @param evalLoss        evaluation loss, or null when not evaluated at this step
     * @param elapsedSeconds  seconds since training started (including earlier runs when resumed)
     * @param ceLoss          the cross-entropy part of the loss, or null (logged by CA-LoRA runs)
     * @param kdLoss          the unweighted distillation term, or null
     */
    public record Entry(long step, double epoch, Double loss, Double lr, Double gradNorm, Double tokensPerSecond,
                        Double evalLoss, double elapsedSeconds, Double ceLoss, Double kdLoss) {
        /** An entry without loss parts. */
        public Entry(long step, double epoch, Double loss, Double lr, Double gradNorm, Double tokensPerSecond,
                     Double evalLoss, double elapsedSeconds) {
            this(step, epoch, loss, lr, gradNorm, tokensPerSecond, evalLoss, elapsedSeconds, null, null);
        }

        /** A training step's line without evaluation. */
        public static Entry train(long step, double epoch, double loss, double lr, double gradNorm, double tokensPerSecond,
                                  double elapsedSeconds) {
            return new Entry(step, epoch, loss, lr, gradNorm, tokensPerSecond, null, elapsedSeconds);
        }

        /** This entry with an evaluation loss. */
        public Entry withEvalLoss(double evalLoss) {
            return new Entry(step, epoch, loss, lr, gradNorm, tokensPerSecond, evalLoss, elapsedSeconds, ceLoss, kdLoss);
        }

        /** This entry with the loss's parts (either may be null). */
        public Entry withLossParts(Double ce, Double kd) {
            return new Entry(step, epoch, loss, lr, gradNorm, tokensPerSecond, evalLoss, elapsedSeconds, ce, kd);
        }

        /** The JSON line (no newline). */
        public String toJsonLine() {
            ObjectNode o = JSON.createObjectNode();
            o.put("step", step);
            put(o, "epoch", epoch);
            put(o, "loss", loss);
            put(o, "ce_loss", ceLoss);
            put(o, "kd_loss", kdLoss);
            put(o, "lr", lr);
            put(o, "grad_norm", gradNorm);
            put(o, "tokens_per_s", tokensPerSecond);
            put(o, "eval_loss", evalLoss);
            put(o, "elapsed_s", elapsedSeconds);
            try {
                return JSON.writeValueAsString(o);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        private static void put(ObjectNode o, String key, Double v) {
            if (v == null) {
                return;
            }
            if (Double.isFinite(v)) {
                o.put(key, v);
            } else {
                o.put(key, v.toString());
            }
        }

        /**
         * Parses a line written by {@link #toJsonLine()}.
         *
         * @throws BadInputException naming {@code where} if it is not one
         */
        public static Entry parse(String line, String where) {
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new BadInputException(where + ": not valid JSON: " + e.getOriginalMessage());
            }
            if (n == null || !n.isObject() || n.get("step") == null || !n.get("step").canConvertToLong()
                    || !n.get("step").isIntegralNumber()) {
                throw new BadInputException(where + ": expected a training log entry with an integer \"step\"");
            }
            return new Entry(n.get("step").longValue(), required(n, "epoch", where), optional(n, "loss", where),
                    optional(n, "lr", where), optional(n, "grad_norm", where), optional(n, "tokens_per_s", where),
                    optional(n, "eval_loss", where), required(n, "elapsed_s", where), optional(n, "ce_loss", where),
                    optional(n, "kd_loss", where));
        }

        private static double required(JsonNode n, String key, String where) {
            Double v = optional(n, key, where);
            if (v == null) {
                throw new BadInputException(where + ": training log entry lacks \"" + key + "\"");
            }
            return v;
        }

        private static Double optional(JsonNode n, String key, String where) {
            JsonNode v = n.get(key);
            if (v == null || v.isNull()) {
                return null;
            }
            if (v.isNumber()) {
                return v.doubleValue();
            }
            return switch (v.asText()) {
                case "NaN" -> Double.NaN;
                case "Infinity" -> Double.POSITIVE_INFINITY;
                case "-Infinity" -> Double.NEGATIVE_INFINITY;
                default -> throw new BadInputException(where + ": \"" + key + "\" must be a number, got " + v);
            };
        }
    }

    private TrainingLog(Path file) throws IOException {
        this.file = file;
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /** Starts a new, empty log at {@code file}, replacing an earlier one. */
    public static TrainingLog start(Path file) throws IOException {
        AtomicFiles.writeString(file, "");
        return new TrainingLog(file);
    }

    /**
     * Continues the log of a run resumed after {@code resumedStep} steps: the earlier lines with
     * {@code step <= resumedStep} are kept verbatim, later ones dropped (atomically), and new
     * entries are appended. A missing file starts a new log. A torn last line (a crash while it
     * was written) is dropped; any other line that is not a log entry is an error.
     *
     * @throws BadInputException naming the file and line of a line that is not a log entry
     */
    public static TrainingLog resume(Path file, long resumedStep) throws IOException {
        if (!Files.exists(file)) {
            return start(file);
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        StringBuilder kept = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            boolean last = i == lines.length - 1;
            if (line.isBlank()) {
                continue;
            }
            Entry e;
            try {
                e = Entry.parse(line, file + ":" + (i + 1));
            } catch (BadInputException ex) {
                if (last) {
                    continue;  // no newline after it: torn by a crash mid-write
                }
                throw ex;
            }
            if (last) {
                continue;  // complete JSON but unterminated: treat as torn as well
            }
            if (e.step() <= resumedStep) {
                kept.append(line).append('\n');
            }
        }
        AtomicFiles.writeString(file, kept.toString());
        return new TrainingLog(file);
    }

    /** Every entry of a log file, in order. */
    public static List<Entry> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                out.add(Entry.parse(lines.get(i), file + ":" + (i + 1)));
            }
        }
        return out;
    }

    /** The log file. */
    public Path file() {
        return file;
    }

    /** Appends one line and flushes it to the file. */
    public void append(Entry entry) {
        try {
            out.write(entry.toJsonLine());
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
