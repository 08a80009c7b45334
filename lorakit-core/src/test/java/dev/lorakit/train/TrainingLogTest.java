package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingLogTest {
    @TempDir
    Path dir;

    private static TrainingLog.Entry entry(long step) {
        return TrainingLog.Entry.train(step, step / 4.0, 2.5 - 0.1 * step, 1e-4 * step, 0.75 + step, 1234.5, 0.5 * step);
    }

    @Test
    void linesAreFlushedAsTheyAreAppended() throws Exception {
        Path file = dir.resolve(TrainingLog.FILE_NAME);
        try (TrainingLog log = TrainingLog.start(file)) {
            log.append(entry(1));
            assertEquals(1, Files.readAllLines(file).size());  // readable while the log is open
            log.append(entry(2).withEvalLoss(1.25));
            assertEquals(List.of(entry(1), entry(2).withEvalLoss(1.25)), TrainingLog.read(file));
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals("{\"step\":1,\"epoch\":0.25,\"loss\":2.4,\"lr\":1.0E-4,\"grad_norm\":1.75,\"tokens_per_s\":1234.5,"
                + "\"elapsed_s\":0.5}", lines.get(0));
        assertTrue(lines.get(1).contains("\"eval_loss\":1.25"), lines.get(1));
    }

    @Test
    void absentAndNonFiniteValues() throws Exception {
        Path file = dir.resolve(TrainingLog.FILE_NAME);
        TrainingLog.Entry diverged = TrainingLog.Entry.train(3, 1.0, Double.NaN, 1e-3, Double.POSITIVE_INFINITY, 10, 2);
        TrainingLog.Entry evalOnly = new TrainingLog.Entry(4, 1.0, null, null, null, null, 0.5, 3);
        try (TrainingLog log = TrainingLog.start(file)) {
            log.append(diverged);
            log.append(evalOnly);
        }
        List<String> lines = Files.readAllLines(file);
        assertTrue(lines.get(0).contains("\"loss\":\"NaN\"") && lines.get(0).contains("\"grad_norm\":\"Infinity\""), lines.get(0));
        assertEquals("{\"step\":4,\"epoch\":1.0,\"eval_loss\":0.5,\"elapsed_s\":3.0}", lines.get(1));
        assertEquals(List.of(diverged, evalOnly), TrainingLog.read(file));
    }

    @Test
    void resumeKeepsTheLinesUpToTheResumedStep() throws Exception {
        Path file = dir.resolve(TrainingLog.FILE_NAME);
        try (TrainingLog log = TrainingLog.start(file)) {
            for (int s = 1; s <= 6; s++) {
                log.append(entry(s));
            }
        }
        try (TrainingLog log = TrainingLog.resume(file, 4)) {
            assertEquals(List.of(entry(1), entry(2), entry(3), entry(4)), TrainingLog.read(file));
            log.append(entry(5));
        }
        assertEquals(List.of(entry(1), entry(2), entry(3), entry(4), entry(5)), TrainingLog.read(file));
    }

    @Test
    void aTornLastLineIsDroppedButACorruptMiddleLineIsAnError() throws Exception {
        Path file = dir.resolve(TrainingLog.FILE_NAME);
        Files.writeString(file, entry(1).toJsonLine() + "\n" + entry(2).toJsonLine() + "\n{\"step\":3,\"epo");
        try (TrainingLog log = TrainingLog.resume(file, 10)) {
            log.append(entry(3));
        }
        assertEquals(List.of(entry(1), entry(2), entry(3)), TrainingLog.read(file));
        Files.writeString(file, entry(1).toJsonLine() + "\nnot json\n" + entry(2).toJsonLine() + "\n");
        BadInputException e = assertThrows(BadInputException.class, () -> TrainingLog.resume(file, 10));
        assertTrue(e.getMessage().startsWith(file + ":2: not valid JSON"), e.getMessage());
        Files.writeString(file, "{\"epoch\": 1}\n");
        e = assertThrows(BadInputException.class, () -> TrainingLog.read(file));
        assertTrue(e.getMessage().startsWith(file + ":1: expected a training log entry"), e.getMessage());
    }

    @Test
    void startReplacesAndResumeWithoutAFileStartsAfresh() throws Exception {
        Path file = dir.resolve(TrainingLog.FILE_NAME);
        try (TrainingLog log = TrainingLog.resume(file, 5)) {
            log.append(entry(6));
        }
        assertEquals(List.of(entry(6)), TrainingLog.read(file));
        try (TrainingLog log = TrainingLog.start(file)) {
            assertEquals(List.of(), TrainingLog.read(file));
            log.append(entry(1));
        }
        assertEquals(List.of(entry(1)), TrainingLog.read(file));
    }
}
