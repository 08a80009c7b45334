package dev.lorakit.io;

import dev.lorakit.BadInputException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes files and directories so that a reader never sees half of one: output goes to a
 * temporary sibling in the target directory, is flushed to disk, and is renamed into place
 * atomically. Results get ordinary permissions (rw-r--r-- files, rwxr-xr-x directories).
 *
 * <p>An existing target directory is replaced only if it is empty or holds nothing but the
 * files of a model/adapter directory (no subdirectories, only model and adapter file names);
 * anything else is refused, so an output option can never wipe a user's unrelated directory.
 */
public final class AtomicFiles {
    private static final Set<String> OUTPUT_FILE_SUFFIXES = Set.of(".json", ".safetensors", ".jsonl", ".png", ".txt",
            ".md", ".jinja", ".model");

    private AtomicFiles() {
    }

    /** Body of an atomic file write: writes the whole content to the stream. */
    @FunctionalInterface
    public interface StreamWriter {
        void write(OutputStream out) throws IOException;
    }

    /** Body of an atomic directory write: fills the (empty, temporary) directory. */
    @FunctionalInterface
    public interface DirectoryWriter {
        void write(Path dir) throws IOException;
    }

    /** Writes {@code target} atomically: temp file in the same directory, fsync, then rename. */
    public static void writeFile(Path target, StreamWriter body) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) {
            throw new BadInputException(abs + ": is a directory; expected a file path");
        }
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                body.write(out);
            }
            sync(tmp);
            setPermissions(tmp, "rw-r--r--");
            move(tmp, abs);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Writes a string atomically (UTF-8). */
    public static void writeString(Path target, String content) throws IOException {
        writeFile(target, out -> out.write(content.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Builds a directory atomically: the body fills a temporary sibling directory, which then
     * replaces {@code target}. An existing target is replaced only after the new one is complete,
     * and only if it is empty or a model/adapter directory (see the class comment).
     */
    public static void writeDirectory(Path target, DirectoryWriter body) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.exists(abs)) {
            requireReplaceable(abs);
        }
        Path parent = abs.getParent();
        if (parent == null) {
            throw new BadInputException(abs + ": cannot write a directory at the file-system root");
        }
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".");
        try {
            body.write(tmp);
            try (Stream<Path> files = Files.list(tmp)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    if (Files.isRegularFile(f)) {
                        sync(f);
                        setPermissions(f, "rw-r--r--");
                    }
                }
            }
            setPermissions(tmp, "rwxr-xr-x");
            if (Files.exists(abs)) {
                Path old = Files.createTempDirectory(parent, "." + abs.getFileName() + ".old.");
                Files.delete(old);
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException | RuntimeException e) {
                    Files.move(old, abs, StandardCopyOption.ATOMIC_MOVE); // put the original back
                    throw e;
                }
                deleteRecursively(old);
            } else {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException | RuntimeException | Error e) {
            deleteRecursively(tmp);
            throw e;
        }
    }

    /** Refuses to replace anything but an empty directory or a flat model/adapter directory. */
    static void requireReplaceable(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": exists and is not a directory; choose another output path");
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path e : (Iterable<Path>) entries::iterator) {
                String name = e.getFileName().toString();
                boolean ok = Files.isRegularFile(e) && OUTPUT_FILE_SUFFIXES.stream().anyMatch(name::endsWith);
                if (!ok) {
                    throw new BadInputException(dir + ": exists and holds \"" + name + "\", which is not part of a model or "
                            + "adapter directory; refusing to replace it (choose a new output path or remove it first)");
                }
            }
        }
    }

    private static void sync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void setPermissions(Path p, String perms) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep the defaults
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Deletes a file or directory tree if it exists. */
    public static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    try {
                        Files.delete(dir);
                    } catch (DirectoryNotEmptyException e) {
                        throw new IOException("could not delete " + dir, e);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Throws a BadInputException if writing the directory {@code output} would replace or delete
     * any of {@code inputs} (files or directories): the output is an input, or an ancestor of
     * one. Paths are compared after resolving symbolic links. {@code what} names the output in
     * the message, e.g. "the adapter".
     */
    public static void requireNotAnInput(Path output, Collection<Path> inputs, String what) {
        Path out = canonical(output);
        for (Path input : inputs) {
            Path in = canonical(input);
            if (in.startsWith(out)) {
                throw new BadInputException(output + ": refusing to write " + what + " here: "
                        + (in.equals(out) ? "it is the input " : "it contains the input ") + input
                        + ", which would be replaced; choose another output directory");
            }
        }
    }

    /** The real path of p, or for a path that does not exist yet its deepest existing ancestor's real path plus the rest. */
    private static Path canonical(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        Deque<Path> missing = new ArrayDeque<>();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            missing.push(existing.getFileName());
            existing = existing.getParent();
        }
        try {
            Path real = existing == null ? abs.getRoot() : existing.toRealPath();
            while (!missing.isEmpty()) {
                real = real.resolve(missing.pop());
            }
            return real;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
