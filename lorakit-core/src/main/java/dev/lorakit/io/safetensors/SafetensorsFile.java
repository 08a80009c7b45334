package dev.lorakit.io.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

/**
 * One memory-mapped safetensors file, validated strictly on open: header length within the
 * file, UTF-8 JSON object, known dtypes, non-negative shapes, byte sizes matching shape x dtype,
 * offsets inside the buffer and covering it without overlaps or holes. Every violation is a
 * {@link BadInputException} naming the file and the tensor.
 */
public final class SafetensorsFile implements TensorSource {
    /** Largest header accepted (the format's own limit is 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path path;
    private final Arena arena;
    private final MemorySegment buffer;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment buffer, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.buffer = buffer;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates a safetensors file, mapping its data buffer read-only. */
    public static SafetensorsFile open(Path path) {
        String where = path.toString();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new BadInputException(where + ": not a safetensors file: " + fileSize
                        + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > fileSize - 8) {
                throw new BadInputException(where + ": header length " + Long.toUnsignedString(headerLen)
                        + " does not fit in the file of " + fileSize + " bytes (expected 2.." + (fileSize - 8) + ")");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw new BadInputException(where + ": header length " + headerLen + " exceeds the "
                        + MAX_HEADER_BYTES + "-byte limit");
            }
            ByteBuffer hdr = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hdr, 8);
            String json;
            try {
                json = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(hdr.flip()).toString();
            } catch (CharacterCodingException e) {
                throw new BadInputException(where + ": header is not valid UTF-8");
            }
            long dataStart = 8 + headerLen;
            long dataSize = fileSize - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(where, json, dataSize, metadata);
            Arena arena = Arena.ofShared();
            MemorySegment buffer;
            try {
                buffer = dataSize == 0 ? MemorySegment.NULL.reinterpret(0)
                        : ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataSize, arena);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
            return new SafetensorsFile(path, arena, buffer, tensors, Collections.unmodifiableMap(metadata));
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

    /** Parses and validates the JSON header against a data buffer of dataSize bytes. */
    static Map<String, TensorInfo> parseHeader(String where, String json, long dataSize, Map<String, String> metadataOut) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": header must be a JSON object");
        }
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) {
                    throw new BadInputException(where + ": __metadata__ must be an object of strings");
                }
                for (Map.Entry<String, JsonNode> m : v.properties()) {
                    if (!m.getValue().isTextual()) {
                        throw new BadInputException(where + ": __metadata__ value of \"" + m.getKey() + "\" must be a string");
                    }
                    metadataOut.put(m.getKey(), m.getValue().asText());
                }
                continue;
            }
            infos.add(parseTensor(where, name, v));
        }
        // Offsets: inside the buffer, no overlaps, no holes.
        List<TensorInfo> byOffset = new ArrayList<>(infos);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expectedBegin = 0;
        for (TensorInfo t : byOffset) {
            if (t.end() > dataSize) {
                throw new BadInputException(where + ": tensor \"" + t.name() + "\": data_offsets [" + t.begin() + ", "
                        + t.end() + "] end beyond the data buffer of " + dataSize + " bytes");
            }
            if (t.begin() < expectedBegin) {
                throw new BadInputException(where + ": tensor \"" + t.name() + "\": data_offsets [" + t.begin() + ", "
                        + t.end() + "] overlap the previous tensor, which ends at " + expectedBegin);
            }
            if (t.begin() > expectedBegin) {
                throw new BadInputException(where + ": tensor \"" + t.name() + "\": data_offsets begin at " + t.begin()
                        + ", leaving a hole of " + (t.begin() - expectedBegin) + " bytes after offset " + expectedBegin);
            }
            expectedBegin = t.end();
        }
        if (expectedBegin != dataSize) {
            throw new BadInputException(where + ": tensors cover " + expectedBegin + " bytes of the " + dataSize
                    + "-byte data buffer; the remaining " + (dataSize - expectedBegin) + " bytes belong to no tensor");
        }
        Map<String, TensorInfo> map = new LinkedHashMap<>();
        for (TensorInfo t : infos) {
            map.put(t.name(), t);
        }
        return Collections.unmodifiableMap(map);
    }

    private static TensorInfo parseTensor(String where, String name, JsonNode v) {
        String at = where + ": tensor \"" + name + "\"";
        if (!v.isObject()) {
            throw new BadInputException(at + ": entry must be an object with dtype, shape and data_offsets");
        }
        JsonNode dt = v.get("dtype");
        if (dt == null || !dt.isTextual()) {
            throw new BadInputException(at + ": missing \"dtype\" string");
        }
        DType dtype = DType.fromSafetensorsName(dt.asText());
        if (dtype == null || !dt.asText().equals(dtype.safetensorsName())) {
            throw new BadInputException(at + ": unknown dtype \"" + dt.asText() + "\" (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, ...)");
        }
        JsonNode sh = v.get("shape");
        if (sh == null || !sh.isArray()) {
            throw new BadInputException(at + ": missing \"shape\" array");
        }
        long[] dims = new long[sh.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new BadInputException(at + ": shape " + sh + " must hold non-negative integers below 2^31");
            }
            dims[i] = d.asLong();
        }
        JsonNode off = v.get("data_offsets");
        if (off == null || !off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber() || !off.get(0).canConvertToLong() || !off.get(1).canConvertToLong()) {
            throw new BadInputException(at + ": \"data_offsets\" must be [begin, end] integers");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new BadInputException(at + ": data_offsets [" + begin + ", " + end + "] must satisfy 0 <= begin <= end");
        }
        Shape shape = Shape.ofLongs(dims);
        long expectedBytes;
        try {
            expectedBytes = Math.multiplyExact(shape.size(), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new BadInputException(at + ": shape " + shape + " is too large");
        }
        if (end - begin != expectedBytes) {
            throw new BadInputException(at + ": " + dtype + " shape " + shape + " needs " + expectedBytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    @Override
    public SequencedSet<String> names() {
        return Collections.unmodifiableSequencedSet(new LinkedHashSet<>(tensors.keySet()));
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
        return Tensor.wrap(t.dtype(), t.shape(), buffer.asSlice(t.begin(), t.byteSize()));
    }

    /** All tensor infos in file order. */
    public List<TensorInfo> infos() {
        return List.copyOf(tensors.values());
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public String description() {
        return path.toString();
    }

    @Override
    public void close() {
        arena.close();
    }
}
