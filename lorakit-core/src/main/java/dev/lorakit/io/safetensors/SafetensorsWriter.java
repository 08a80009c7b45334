package dev.lorakit.io.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes safetensors files: tensors in the given map order, header padded with spaces to a
 * multiple of 8 bytes, the whole file written to a temporary sibling and renamed atomically.
 */
public final class SafetensorsWriter {
    private static final int CHUNK = 1 << 20;

    private SafetensorsWriter() {
    }

    /**
     * Writes {@code tensors} (name to tensor, in iteration order) with optional string metadata.
     * The target is replaced atomically; a failure leaves no partial file behind.
     */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
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
            for (Tensor t : tensors.values()) {
                writeSegment(out, t.segment(), chunk, chunkSeg);
            }
        });
    }

    private static void writeSegment(OutputStream out, MemorySegment seg, byte[] chunk, MemorySegment chunkSeg) throws IOException {
        long size = seg.byteSize();
        for (long pos = 0; pos < size; pos += CHUNK) {
            int len = (int) Math.min(CHUNK, size - pos);
            MemorySegment.copy(seg, pos, chunkSeg, 0, len);
            out.write(chunk, 0, len);
        }
    }

    /** The padded UTF-8 JSON header for these tensors. */
    static byte[] header(Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode root = SafetensorsFile.JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                throw new IllegalArgumentException("a tensor cannot be named __metadata__");
            }
            Tensor t = e.getValue();
            ObjectNode node = root.putObject(e.getKey());
            node.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = node.putArray("shape");
            for (long d : t.shape().toLongs()) {
                shape.add(d);
            }
            ArrayNode offs = node.putArray("data_offsets");
            offs.add(offset);
            offset += t.byteSize();
            offs.add(offset);
        }
        byte[] json;
        try {
            json = SafetensorsFile.JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
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
