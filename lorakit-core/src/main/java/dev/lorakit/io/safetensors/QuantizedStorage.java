package dev.lorakit.io.safetensors;

import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Shape;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.TensorInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How block-quantized tensors (Q8_0, Q4_0; {@link DType#isQuantized()}) are stored in
 * safetensors files, which have no dtype for them.
 *
 * <p>Convention: the tensor's raw blocks (exactly the bytes llama.cpp stores in GGUF) are an
 * ordinary {@code "U8"} tensor whose last dimension counts bytes instead of weights: logical
 * [d0, ..., dn] is stored as [d0, ..., dn / 32 * blockBytes], so a weight [out, in] is
 * [out, in/32*18] for Q4_0 and [out, in/32*34] for Q8_0 (row r's bytes are its in/32 blocks).
 * The file's {@code __metadata__} records the real type and logical shape of each such tensor
 * under the key {@code "lorakit.quant.<tensor name>"} with a value {@code "<TYPE>:[d0,...,dn]"},
 * e.g. {@code "lorakit.quant.model.layers.0.self_attn.q_proj.weight": "Q4_0:[4096,4096]"}.
 *
 * <p>{@link SafetensorsFile} turns such a U8 tensor back into a tensor of its quantized type
 * and logical shape, after checking that the named tensor exists, is U8 and has the stored shape
 * the logical shape implies (each violation a {@link BadInputException}); other safetensors
 * readers simply see bytes. {@link SafetensorsWriter} writes the keys for every quantized tensor
 * it stores and drops any other {@code lorakit.quant.*} keys from the caller's metadata (they
 * describe tensors of some other file). A sharded checkpoint carries each key in the shard
 * holding its tensor.
 */
public final class QuantizedStorage {
    /** Prefix of the metadata keys; the tensor name follows it. */
    public static final String METADATA_PREFIX = "lorakit.quant.";

    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9_]+):\\[\\s*(\\d+(?:\\s*,\\s*\\d+)*)?\\s*]");

    private QuantizedStorage() {
    }

    /** The U8 shape that stores a quantized tensor of the given type and logical shape. */
    public static Shape storedShape(DType dtype, Shape logical) {
        int[] dims = logical.dims();
        if (dtype.isRowInterleaved()) {
            throw new IllegalArgumentException(dtype + " is an in-memory layout and is never stored: write the "
                    + dtype.rowMajor() + " tensor it was made from (RowGroups.deinterleave)");
        }
        if (!dtype.isQuantized() || dims.length == 0 || dims[dims.length - 1] % dtype.blockSize() != 0) {
            throw new IllegalArgumentException("no stored shape for " + dtype + " " + logical);
        }
        long last = dtype.bytesFor(dims[dims.length - 1]);
        if (last > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(dtype + " " + logical + " rows are too long to store");
        }
        dims[dims.length - 1] = (int) last;
        return Shape.of(dims);
    }

    /** The metadata value recording a quantized tensor: {@code "Q4_0:[4096,4096]"}. */
    public static String metadataValue(DType dtype, Shape logical) {
        StringBuilder sb = new StringBuilder(dtype.name()).append(":[");
        for (int i = 0; i < logical.rank(); i++) {
            sb.append(i == 0 ? "" : ",").append(logical.dim(i));
        }
        return sb.append(']').toString();
    }

    /**
     * The metadata a writer stores: the caller's entries without {@code lorakit.quant.*} keys,
     * then one key per quantized tensor of {@code layout}, in layout order.
     */
    static Map<String, String> metadataFor(List<SafetensorsStreamWriter.Entry> layout, Map<String, String> metadata) {
        Map<String, String> out = new LinkedHashMap<>();
        if (metadata != null) {
            metadata.forEach((k, v) -> {
                if (k == null || !k.startsWith(METADATA_PREFIX)) {
                    out.put(k, v);
                }
            });
        }
        for (SafetensorsStreamWriter.Entry e : layout) {
            if (e.dtype().isQuantized()) {
                out.put(METADATA_PREFIX + e.name(), metadataValue(e.dtype(), e.shape()));
            }
        }
        return out;
    }

    /**
     * The header's tensor infos with every tensor named by a {@code lorakit.quant.*} key given its
     * quantized type and logical shape (same byte range); other infos unchanged, order kept.
     *
     * @param where the file, for messages
     */
    static List<TensorInfo> resolve(String where, List<TensorInfo> infos, Map<String, String> metadata) {
        Map<String, String> quantized = new LinkedHashMap<>();
        metadata.forEach((k, v) -> {
            if (k.startsWith(METADATA_PREFIX)) {
                quantized.put(k.substring(METADATA_PREFIX.length()), v);
            }
        });
        if (quantized.isEmpty()) {
            return infos;
        }
        Map<String, TensorInfo> resolved = new LinkedHashMap<>();
        for (Map.Entry<String, String> q : quantized.entrySet()) {
            String name = q.getKey();
            String at = where + ": __metadata__ \"" + METADATA_PREFIX + name + "\" = \"" + q.getValue() + "\"";
            Matcher m = VALUE.matcher(q.getValue());
            if (!m.matches()) {
                throw new BadInputException(at + ": expected \"Q8_0:[out,in]\" or \"Q4_0:[out,in]\" (type and logical shape)");
            }
            DType dtype = quantizedType(m.group(1));
            if (dtype == null) {
                throw new BadInputException(at + ": unknown quantized type \"" + m.group(1) + "\" (expected Q8_0 or Q4_0)");
            }
            long[] dims = m.group(2) == null ? new long[0]
                    : Arrays.stream(m.group(2).split(",")).map(String::strip).mapToLong(QuantizedStorage::dimension).toArray();
            TensorInfo info = infos.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(
                    () -> new BadInputException(at + ": names tensor \"" + name + "\", which the file does not have"));
            Shape logical;
            Shape stored;
            try {
                logical = Shape.ofLongs(dims);
                stored = storedShape(dtype, logical);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new BadInputException(at + ": the logical shape must be non-empty with a last dimension that is a "
                        + "multiple of " + dtype.blockSize());
            }
            if (info.dtype() != DType.U8 || !info.shape().equals(stored)) {
                throw new BadInputException(at + ": tensor \"" + name + "\" is " + info.dtype() + " " + info.shape()
                        + ", expected U8 " + stored + " (the raw " + dtype + " blocks of " + logical + ")");
            }
            resolved.put(name, new TensorInfo(name, dtype, logical, info.begin(), info.end()));
        }
        List<TensorInfo> out = new ArrayList<>(infos.size());
        for (TensorInfo t : infos) {
            out.add(resolved.getOrDefault(t.name(), t));
        }
        return List.copyOf(out);
    }

    private static DType quantizedType(String name) {
        for (DType d : DType.values()) {
            if (d.isQuantized() && !d.isRowInterleaved() && d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }

    private static long dimension(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE; // rejected by Shape.ofLongs
        }
    }
}
