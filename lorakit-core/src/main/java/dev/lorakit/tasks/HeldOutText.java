package dev.lorakit.tasks;

import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The held-out corpus text the task suite is drawn from: the validation split written by
 * {@code tools/build-corpus.sh} ({@value #FILE_NAME}: one paragraph per line), which the pretrained
 * model never trains on. Its sha256 is recorded in tasks.json so a suite names its exact source.
 *
 * @param fileName the source's file name (no directory, so outputs do not depend on where it lies)
 * @param sha256 hex sha256 of the source bytes
 * @param sentences every sentence of every paragraph, in file order
 */
public record HeldOutText(String fileName, String sha256, List<Sentence> sentences) {
    /** The held-out file in a corpus directory. */
    public static final String FILE_NAME = "validation.txt";

    public HeldOutText {
        sentences = List.copyOf(sentences);
    }

    /** Reads {@code corpus}/{@value #FILE_NAME}, or {@code corpus} itself if it is a file. */
    public static HeldOutText read(Path corpus) {
        Path file = Files.isDirectory(corpus) ? corpus.resolve(FILE_NAME) : corpus;
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file (expected the corpus directory written by "
                    + "tools/build-corpus.sh, holding " + FILE_NAME + ")");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": not UTF-8 text; expected one paragraph of plain text per line");
        }
        HeldOutText held = of(file.getFileName().toString(), bytes, text);
        if (held.sentences().isEmpty()) {
            throw new BadInputException(file + ": no text; expected one paragraph of plain text per line");
        }
        return held;
    }

    /** The held-out text of an in-memory string (one paragraph per line), named {@code fileName}. */
    public static HeldOutText of(String fileName, String text) {
        return of(fileName, text.getBytes(StandardCharsets.UTF_8), text);
    }

    private static HeldOutText of(String fileName, byte[] bytes, String text) {
        List<Sentence> sentences = new ArrayList<>();
        for (String paragraph : text.split("\n")) {
            if (!paragraph.isBlank()) {
                sentences.addAll(Sentence.split(paragraph));
            }
        }
        return new HeldOutText(fileName, sha256(bytes), sentences);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
