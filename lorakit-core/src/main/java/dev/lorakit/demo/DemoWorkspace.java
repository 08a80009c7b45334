package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a demo run writes what it makes (merged adapters; for ca-lora the compressed models and the
 * adapted adapters): the user's {@code --keep-merged} directory (kept), or a temporary directory
 * deleted on close.
 */
final class DemoWorkspace implements AutoCloseable {
    private final Path dir;
    private final boolean temporary;

    private DemoWorkspace(Path dir, boolean temporary) {
        this.dir = dir;
        this.temporary = temporary;
    }

    /** {@code keep} (created if needed), or a new temporary directory when null. */
    static DemoWorkspace open(Path keep) {
        try {
            if (keep == null) {
                return new DemoWorkspace(Files.createTempDirectory("lorakit-demo-"), true);
            }
            if (Files.exists(keep) && !Files.isDirectory(keep)) {
                throw new BadInputException("--keep-merged: " + keep + " exists and is not a directory");
            }
            Files.createDirectories(keep);
            return new DemoWorkspace(keep, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The directory for the output called {@code name} (e.g. lego, svd-r3, q4_0/uppercase/ca-lora). */
    Path resolve(String name) {
        return dir.resolve(name);
    }

    @Override
    public void close() {
        if (temporary) {
            AtomicFiles.deleteRecursively(dir);
        }
    }
}
