package dev.lorakit.tensor;

/**
 * What a file header says about one stored tensor: its name, dtype, shape and byte range
 * within the file's data buffer.
 *
 * @param name tensor name
 * @param dtype element type (a block type such as Q4_0 for quantized tensors, whose shape is then
 *     the logical one and whose byte size is whole blocks)
 * @param shape dimensions, outermost first
 * @param begin first byte, relative to the data buffer
 * @param end one past the last byte, relative to the data buffer
 */
public record TensorInfo(String name, DType dtype, Shape shape, long begin, long end) {
    /** Number of data bytes. */
    public long byteSize() {
        return end - begin;
    }
}
