package dev.lorakit.demo;

import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a demo run writes its merged adapters: the user's {@code --keep-merged} directory (kept),
 * or a temporary directory deleted on close.
 */
final class MergedAdapters implements AutoCloseable {
    private final Path dir;
    private final boolean temporary;

    private MergedAdapters(Path dir, boolean temporary) {
        this.dir = dir;
        this.temporary = temporary;
    }

    /** {@code keep} (created if needed), or a new temporary directory when null. */
    static MergedAdapters open(Path keep) {
        try {
            if (keep == null) {
                return new MergedAdapters(Files.createTempDirectory("lorakit-demo-"), true);
            }
            if (Files.exists(keep) && !Files.isDirectory(keep)) {
                throw new BadInputException("--keep-merged: " + keep + " exists and is not a directory");
            }
            Files.createDirectories(keep);
            return new MergedAdapters(keep, false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The directory for the adapter called {@code name} (e.g. lego, svd-r3). */
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
