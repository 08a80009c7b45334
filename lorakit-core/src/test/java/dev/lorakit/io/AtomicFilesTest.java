package dev.lorakit.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void refusesToReplaceADirectoryThatIsNotAModelOrAdapter() throws IOException {
        Path target = dir.resolve("work");
        Files.createDirectories(target.resolve("model"));
        Files.writeString(target.resolve("notes.txt"), "keep me");
        BadInputException e = assertThrows(BadInputException.class,
                () -> AtomicFiles.writeDirectory(target, tmp -> Files.writeString(tmp.resolve("config.json"), "{}")));
        assertTrue(e.getMessage().contains("model"), e.getMessage());
        assertTrue(Files.exists(target.resolve("notes.txt")) && Files.isDirectory(target.resolve("model")));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary directory left behind");
        }
    }

    @Test
    void replacesAPreviousOutputWholeWithOrdinaryPermissions() throws IOException {
        Path target = dir.resolve("adapter");
        AtomicFiles.writeDirectory(target, tmp -> {
            Files.writeString(tmp.resolve("adapter_config.json"), "{}");
            Files.writeString(tmp.resolve("old.safetensors"), "x");
        });
        AtomicFiles.writeDirectory(target, tmp -> Files.writeString(tmp.resolve("adapter_config.json"), "{\"r\": 1}"));
        assertFalse(Files.exists(target.resolve("old.safetensors")));
        assertEquals("{\"r\": 1}", Files.readString(target.resolve("adapter_config.json")));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve("adapter_config.json"))));
    }

    @Test
    void failedBodyKeepsTheOldDirectory() throws IOException {
        Path target = dir.resolve("m");
        AtomicFiles.writeDirectory(target, tmp -> Files.writeString(tmp.resolve("config.json"), "old"));
        assertThrows(IllegalStateException.class, () -> AtomicFiles.writeDirectory(target, tmp -> {
            Files.writeString(tmp.resolve("config.json"), "new");
            throw new IllegalStateException("boom");
        }));
        assertEquals("old", Files.readString(target.resolve("config.json")));
    }
}
