package dev.lorakit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.JsonLines;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * A JSONL task file: every non-blank line one example, all of the same kind (prompt/completion,
 * multiple choice, or text). Errors name the file, the line and the field.
 *
 * @param path the file
 * @param name the task name (the file name without .jsonl)
 * @param kind the examples' kind
 * @param examples the examples, in file order
 */
public record TaskFile(Path path, String name, Kind kind, List<TaskExample> examples) {
    /** The kind of a task file. */
    public enum Kind {
        PROMPT_COMPLETION, MULTIPLE_CHOICE, TEXT
    }

    /** Reads and validates a .jsonl task file. */
    public static TaskFile read(Path path) {
        List<TaskExample> examples = new ArrayList<>();
        Kind kind = null;
        for (JsonLines.Line line : JsonLines.read(path)) {
            String at = line.at();
            JsonNode node = line.node();
            TaskExample ex = parse(at, node);
            Kind k = kindOf(ex);
            if (kind != null && k != kind) {
                throw new BadInputException(at + ": a " + k + " example in a file of " + kind + " examples; one kind per file");
            }
            kind = k;
            examples.add(ex);
        }
        if (examples.isEmpty()) {
            throw new BadInputException(path + ": no examples (expected JSON lines with prompt/completion, "
                    + "prompt/choices/answer, or text)");
        }
        String file = path.getFileName().toString();
        String name = file.endsWith(".jsonl") ? file.substring(0, file.length() - 6) : file;
        return new TaskFile(path, name, kind, Collections.unmodifiableList(examples));
    }

    /** The .jsonl files of a directory (sorted by name), or the file itself. */
    public static List<TaskFile> readAll(Path fileOrDir) {
        if (!Files.exists(fileOrDir)) {
            throw new BadInputException(fileOrDir + ": no such file or directory");
        }
        if (!Files.isDirectory(fileOrDir)) {
            return List.of(read(fileOrDir));
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(fileOrDir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".jsonl") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (files.isEmpty()) {
            throw new BadInputException(fileOrDir + ": no .jsonl task files in this directory");
        }
        return files.stream().map(TaskFile::read).toList();
    }

    /** At most n examples: a seeded random subset kept in file order (all of them if n >= size). */
    public TaskFile limit(int n, long seed) {
        if (n >= examples.size()) {
            return this;
        }
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            idx.add(i);
        }
        Collections.shuffle(idx, new Random(seed));
        List<Integer> keep = new ArrayList<>(idx.subList(0, n));
        Collections.sort(keep);
        return new TaskFile(path, name, kind, keep.stream().map(examples::get).toList());
    }

    private static TaskExample parse(String at, JsonNode node) {
        if (node.has("choices")) {
            String prompt = text(at, node, "prompt");
            JsonNode ch = node.get("choices");
            if (!ch.isArray() || ch.size() < 2) {
                throw new BadInputException(at + ": \"choices\" must be an array of at least 2 strings");
            }
            List<String> choices = new ArrayList<>();
            for (JsonNode c : ch) {
                if (!c.isTextual()) {
                    throw new BadInputException(at + ": \"choices\" must hold strings, got " + c);
                }
                choices.add(c.asText());
            }
            JsonNode ans = node.get("answer");
            if (ans == null || !ans.isIntegralNumber() || ans.asInt() < 0 || ans.asInt() >= choices.size()) {
                throw new BadInputException(at + ": \"answer\" must be an index in [0, " + choices.size() + "), got " + ans);
            }
            return new TaskExample.MultipleChoice(prompt, List.copyOf(choices), ans.asInt());
        }
        if (node.has("completion")) {
            return new TaskExample.PromptCompletion(text(at, node, "prompt"), text(at, node, "completion"));
        }
        if (node.has("text")) {
            return new TaskExample.PlainText(text(at, node, "text"));
        }
        throw new BadInputException(at + ": expected {\"prompt\",\"completion\"}, {\"prompt\",\"choices\",\"answer\"} or {\"text\"}, "
                + "got fields " + iterableToList(node.fieldNames()));
    }

    private static List<String> iterableToList(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    private static String text(String at, JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new BadInputException(at + ": \"" + field + "\" must be a string");
        }
        return v.asText();
    }

    private static Kind kindOf(TaskExample ex) {
        return switch (ex) {
            case TaskExample.PromptCompletion p -> Kind.PROMPT_COMPLETION;
            case TaskExample.MultipleChoice m -> Kind.MULTIPLE_CHOICE;
            case TaskExample.PlainText t -> Kind.TEXT;
        };
    }
}
