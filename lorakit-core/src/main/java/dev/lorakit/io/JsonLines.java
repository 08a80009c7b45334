package dev.lorakit.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSONL file (one JSON object per line; blank lines skipped), keeping each line's
 * location ("file:line") for error messages. Bad JSON or a non-object line is a
 * {@link BadInputException} naming the file and line.
 */
public final class JsonLines {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One non-blank line.
     *
     * @param at "path:line" for messages
     * @param lineNumber 1-based line number
     * @param node the line's JSON object
     */
    public record Line(String at, int lineNumber, JsonNode node) {
    }

    private JsonLines() {
    }

    /** Every non-blank line of the file, parsed and checked to be a JSON object. */
    public static List<Line> read(Path path) {
        List<String> text;
        try {
            text = java.nio.file.Files.readAllLines(path);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new BadInputException(path + ": no such file");
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new BadInputException(path + ": not UTF-8 text; expected a UTF-8 JSONL file");
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot read: " + e.getMessage());
        }
        List<Line> out = new ArrayList<>();
        for (int i = 0; i < text.size(); i++) {
            String line = text.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            String at = path + ":" + (i + 1);
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new BadInputException(at + ": not valid JSON: " + e.getOriginalMessage());
            }
            if (node == null || !node.isObject()) {
                throw new BadInputException(at + ": expected a JSON object per line");
            }
            out.add(new Line(at, i + 1, node));
        }
        return out;
    }
}
