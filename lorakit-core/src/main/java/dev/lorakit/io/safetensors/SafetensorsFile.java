package dev.lorakit.io.safetensors;

import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One memory-mapped safetensors file, validated strictly on open.
 *
 * <p>Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON header, then the
 * data buffer. Rules enforced (each violation is a {@link BadInputException} naming the file and,
 * where there is one, the tensor, and saying what was expected): the file holds the 8-byte length
 * and the whole header; the header is UTF-8 JSON, an object, with unique names; every tensor
 * entry has a known {@code dtype}, a {@code shape} of non-negative integers and
 * {@code data_offsets} [begin, end] spanning exactly product(shape) x dtype size bytes; the
 * tensors lie inside the data buffer and cover it in order without overlaps, holes or trailing
 * bytes; {@code __metadata__} (optional) is an object of strings.
 *
 * <p>Block-quantized tensors (Q8_0, Q4_0) are stored as U8 bytes and named in
 * {@code __metadata__} ({@link QuantizedStorage}); {@link #info} and {@link #get} give them their
 * quantized dtype and logical shape, after checking the metadata against the stored tensor.
 *
 * <p>The data buffer is mapped read-only into a shared arena, so tensors can be read from any
 * thread until {@link #close()}.
 */
public final class SafetensorsFile implements TensorSource {
    /** Largest header accepted (the reference implementation's limit, 100 MB). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private final Path path;
    private final Arena arena;
    private final MemorySegment buffer;
    private final Map<String, TensorInfo> tensors;
    private final SequencedSet<String> names;
    private final Map<String, String> metadata;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SafetensorsFile(Path path, Arena arena, MemorySegment buffer, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.buffer = buffer;
        LinkedHashMap<String, TensorInfo> map = new LinkedHashMap<>();
        for (TensorInfo t : header.tensors()) {
            map.put(t.name(), t);
        }
        this.tensors = Collections.unmodifiableMap(map);
        this.names = Collections.unmodifiableSequencedSet(map.sequencedKeySet());
        this.metadata = header.metadata();
    }

    /** Opens and validates a safetensors file, mapping its data buffer read-only. */
    public static SafetensorsFile open(Path path) {
        String where = path.toString();
        if (Files.isDirectory(path)) {
            throw new BadInputException(where + ": is a directory, expected a .safetensors file");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new BadInputException(where + ": not a safetensors file: " + fileSize
                        + " bytes, expected at least 8 (the little-endian u64 header length)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 0 || headerLen > fileSize - 8) {
                throw new BadInputException(where + ": header length " + Long.toUnsignedString(headerLen)
                        + " does not fit in the file of " + fileSize + " bytes (expected at most " + (fileSize - 8)
                        + "; is this a safetensors file?)");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new BadInputException(where + ": header length " + headerLen + " exceeds the "
                        + MAX_HEADER_BYTES + "-byte limit of the format");
            }
            ByteBuffer hdr = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hdr, 8);
            long dataStart = 8 + headerLen;
            long dataSize = fileSize - dataStart;
            SafetensorsHeader header = SafetensorsHeader.parse(where, hdr.flip(), dataSize);
            Arena arena = Arena.ofShared();
            MemorySegment buffer;
            try {
                buffer = dataSize == 0 ? MemorySegment.NULL
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataSize, arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
            return new SafetensorsFile(path, arena, buffer, header);
        } catch (NoSuchFileException e) {
            throw new BadInputException(where + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Tensor names in data order (ascending offsets). */
    @Override
    public SequencedSet<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new BadInputException(path + ": no tensor named \"" + name + "\"");
        }
        return t;
    }

    @Override
    public Tensor get(String name) {
        TensorInfo t = info(name);
        if (closed.get()) {
            throw new IllegalStateException(path + " is closed");
        }
        return Tensor.wrap(t.dtype(), t.shape(), buffer.asSlice(t.begin(), t.byteSize()));
    }

    /** All tensor infos in data order. */
    public List<TensorInfo> infos() {
        return List.copyOf(tensors.values());
    }

    /** Size of the data buffer in bytes (the sum of all tensors' byte sizes). */
    public long dataSize() {
        return buffer.byteSize();
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public String description() {
        return path.toString();
    }

    /** Unmaps the file; tensors obtained from it become invalid. Closing twice is harmless. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }
}
