package dev.lorakit.io.safetensors;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file whose tensors are produced one at a time, possibly by several
 * threads and in any order, without holding them all in memory: the header is fixed up front
 * from the declared names, dtypes and shapes (same layout and header as
 * {@link SafetensorsWriter}), and each tensor's bytes go straight to their offset.
 *
 * <p>Not atomic by itself: create the file inside a temporary directory or path that is renamed
 * into place afterwards (e.g. {@link dev.lorakit.io.AtomicFiles#writeDirectory}). {@link #finish}
 * checks that every declared tensor was written and forces the data to disk.
 */
public final class SafetensorsStreamWriter implements AutoCloseable {
    /**
     * A tensor to be written.
     *
     * @param name tensor name
     * @param dtype element type
     * @param shape dimensions
     */
    public record Entry(String name, DType dtype, Shape shape) {
        /** Bytes of the tensor's data. */
        public long byteSize() {
            return dtype.bytesFor(shape.size());
        }
    }

    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, long[]> ranges = new HashMap<>(); // name -> {begin, end} in the data buffer
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final java.util.Set<String> written = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private SafetensorsStreamWriter(FileChannel channel, long dataStart) {
        this.channel = channel;
        this.dataStart = dataStart;
    }

    /** Creates {@code file} (which must not exist) with the header for {@code entries} and optional metadata. */
    public static SafetensorsStreamWriter create(Path file, List<Entry> entries, Map<String, String> metadata)
            throws IOException {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (Entry e : entries) {
            if (e.name().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + SafetensorsHeader.METADATA_KEY);
            }
            if (!names.add(e.name())) {
                throw new IllegalArgumentException("tensor " + e.name() + " is declared twice");
            }
        }
        List<Entry> layout = SafetensorsWriter.layoutEntries(entries);
        byte[] header = SafetensorsWriter.headerFor(layout, metadata);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
        try {
            ByteBuffer len = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(ch, len, 0);
            writeFully(ch, ByteBuffer.wrap(header), 8);
            SafetensorsStreamWriter w = new SafetensorsStreamWriter(ch, 8L + header.length);
            long offset = 0;
            for (Entry e : layout) {
                long size = e.byteSize();
                w.ranges.put(e.name(), new long[] {offset, offset + size});
                offset += size;
            }
            for (Entry e : entries) {
                w.entries.put(e.name(), e);
            }
            return w;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Writes the bytes of the declared tensor {@code name} (thread-safe; each tensor once).
     * The tensor must have the declared dtype and shape.
     */
    public void write(String name, Tensor tensor) throws IOException {
        Entry e = declared(name);
        if (e.dtype() != tensor.dtype() || !e.shape().equals(tensor.shape())) {
            throw new IllegalArgumentException("tensor " + name + " is " + tensor.dtype() + " " + tensor.shape()
                    + ", declared " + e.dtype() + " " + e.shape());
        }
        MemorySegment seg = tensor.segment();
        write(name, seg.isNative() ? seg.asByteBuffer() : ByteBuffer.wrap(seg.toArray(ValueLayout.JAVA_BYTE)));
    }

    /**
     * Writes the raw little-endian bytes of the declared tensor {@code name} (thread-safe; each
     * tensor once); {@code bytes} must hold exactly the declared size from its position.
     */
    public void write(String name, ByteBuffer bytes) throws IOException {
        Entry e = declared(name);
        if (bytes.remaining() != e.byteSize()) {
            throw new IllegalArgumentException("tensor " + name + ": " + bytes.remaining() + " bytes given, declared "
                    + e.dtype() + " " + e.shape() + " = " + e.byteSize() + " bytes");
        }
        if (!written.add(name)) {
            throw new IllegalStateException("tensor " + name + " written twice");
        }
        writeFully(channel, bytes, dataStart + ranges.get(name)[0]);
    }

    private Entry declared(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException("tensor " + name + " was not declared");
        }
        return e;
    }

    /** Checks that every declared tensor was written and forces the file's contents to disk. */
    public void finish() throws IOException {
        for (String name : entries.keySet()) {
            if (!written.contains(name)) {
                throw new IllegalStateException("tensor " + name + " was declared but never written");
            }
        }
        channel.force(true);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
