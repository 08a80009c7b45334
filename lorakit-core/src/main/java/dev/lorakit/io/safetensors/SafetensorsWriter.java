package dev.lorakit.io.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes safetensors files that the reference implementation reads back unchanged.
 *
 * <p>Layout: tensors are stored in descending element size (8, 4, 2, 1 bytes), keeping the
 * caller's order within one size, so that every tensor starts at a multiple of its element size
 * (loaders that view the bytes as typed arrays need that); the compact JSON header lists them in
 * that order, {@code __metadata__} first, and is padded with spaces to a multiple of 8 bytes.
 * Block-quantized tensors (Q8_0, Q4_0) are stored as U8 bytes with their type and logical shape
 * in {@code __metadata__} ({@link QuantizedStorage}), so they sort with the 1-byte tensors.
 * The file is written to a temporary sibling and renamed into place, so a failure never leaves
 * a partial file and an existing target is replaced whole.
 */
public final class SafetensorsWriter {
    private static final int CHUNK = 1 << 20;

    private SafetensorsWriter() {
    }

    /** Writes {@code tensors} without metadata; see {@link #write(Path, Map, Map)}. */
    public static void write(Path target, Map<String, Tensor> tensors) throws IOException {
        write(target, tensors, Map.of());
    }

    /**
     * Writes {@code tensors} (name to tensor) with optional string metadata (null or empty for
     * none). The target is replaced atomically; a failure leaves no partial file behind.
     *
     * @throws IllegalArgumentException for a null name or value, or a tensor named {@code __metadata__}
     */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        List<Map.Entry<String, Tensor>> layout = layout(tensors);
        byte[] header = header(layout, metadata);
        AtomicFiles.writeFile(target, out -> {
            byte[] len = new byte[8];
            long n = header.length;
            for (int i = 0; i < 8; i++) {
                len[i] = (byte) (n >>> (8 * i));
            }
            out.write(len);
            out.write(header);
            byte[] chunk = new byte[CHUNK];
            MemorySegment chunkSeg = MemorySegment.ofArray(chunk);
            for (Map.Entry<String, Tensor> e : layout) {
                writeSegment(out, e.getValue().segment(), chunk, chunkSeg);
            }
        });
    }

    /** The order tensors are stored in: descending element size, stable within one size. */
    static List<Map.Entry<String, Tensor>> layout(Map<String, Tensor> tensors) {
        List<Map.Entry<String, Tensor>> entries = new ArrayList<>(tensors.size());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("null tensor name or tensor in " + tensors.keySet());
            }
            if (e.getKey().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + SafetensorsHeader.METADATA_KEY);
            }
            entries.add(Map.entry(e.getKey(), e.getValue()));
        }
        entries.sort(Comparator.comparingInt((Map.Entry<String, Tensor> e) -> storedElementSize(e.getValue().dtype()))
                .reversed());
        return entries;
    }

    /** Element size in the file: block types are stored as bytes. */
    private static int storedElementSize(DType dtype) {
        return dtype.isQuantized() ? 1 : dtype.byteSize();
    }

    private static void writeSegment(OutputStream out, MemorySegment seg, byte[] chunk, MemorySegment chunkSeg) throws IOException {
        long size = seg.byteSize();
        for (long pos = 0; pos < size; pos += CHUNK) {
            int len = (int) Math.min(CHUNK, size - pos);
            MemorySegment.copy(seg, pos, chunkSeg, 0, len);
            out.write(chunk, 0, len);
        }
    }

    /** The space-padded UTF-8 JSON header for tensors stored in the given order. */
    static byte[] header(List<Map.Entry<String, Tensor>> layout, Map<String, String> metadata) {
        List<SafetensorsStreamWriter.Entry> entries = new ArrayList<>(layout.size());
        for (Map.Entry<String, Tensor> e : layout) {
            entries.add(new SafetensorsStreamWriter.Entry(e.getKey(), e.getValue().dtype(), e.getValue().shape()));
        }
        return headerFor(entries, metadata);
    }

    /** The order declared tensors are stored in: descending element size, stable within one size. */
    static List<SafetensorsStreamWriter.Entry> layoutEntries(List<SafetensorsStreamWriter.Entry> entries) {
        List<SafetensorsStreamWriter.Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingInt((SafetensorsStreamWriter.Entry e) -> storedElementSize(e.dtype())).reversed());
        return sorted;
    }

    /** The space-padded UTF-8 JSON header for tensors (name, dtype, shape) stored in the given order. */
    static byte[] headerFor(List<SafetensorsStreamWriter.Entry> layout, Map<String, String> metadata) {
        ObjectNode root = SafetensorsHeader.JSON.createObjectNode();
        Map<String, String> stored = QuantizedStorage.metadataFor(layout, metadata);
        if (!stored.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
            stored.forEach((k, v) -> meta.put(Objects.requireNonNull(k, "metadata key"),
                    Objects.requireNonNull(v, () -> "metadata value of " + k)));
        }
        long offset = 0;
        for (SafetensorsStreamWriter.Entry e : layout) {
            ObjectNode node = root.putObject(e.name());
            boolean quantized = e.dtype().isQuantized();
            node.put("dtype", quantized ? DType.U8.safetensorsName() : e.dtype().safetensorsName());
            ArrayNode shape = node.putArray("shape");
            for (long d : (quantized ? QuantizedStorage.storedShape(e.dtype(), e.shape()) : e.shape()).toLongs()) {
                shape.add(d);
            }
            ArrayNode offs = node.putArray("data_offsets");
            offs.add(offset);
            offset += e.byteSize();
            offs.add(offset);
        }
        byte[] json;
        try {
            json = SafetensorsHeader.JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) {
            out[i] = ' ';
        }
        return out;
    }
}
