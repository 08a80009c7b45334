package dev.lorakit.tensor;

import java.util.Locale;

/**
 * Element types of stored tensors, named as safetensors names them.
 *
 * <p>Only {@link #F32}, {@link #F16} and {@link #BF16} are compute types: the kernels read them
 * directly (converting to float32 on the fly). The integer and fp8 types exist so that any valid
 * safetensors file can be opened, inspected and round-tripped.
 */
public enum DType {
    BOOL(1, false),
    U8(1, false),
    I8(1, false),
    F8_E4M3(1, false),
    F8_E5M2(1, false),
    I16(2, false),
    U16(2, false),
    F16(2, true),
    BF16(2, true),
    I32(4, false),
    U32(4, false),
    F32(4, true),
    I64(8, false),
    U64(8, false),
    F64(8, false);

    private final int byteSize;
    private final boolean compute;

    DType(int byteSize, boolean compute) {
        this.byteSize = byteSize;
        this.compute = compute;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the float types the kernels read directly (F32, F16, BF16). */
    public boolean isCompute() {
        return compute;
    }

    /** The name used in safetensors headers ("F32", "BF16", ...). */
    public String safetensorsName() {
        return name();
    }

    /**
     * Looks a dtype up by its safetensors name.
     *
     * @return the dtype, or null if the name is not a known safetensors dtype
     */
    public static DType fromSafetensorsName(String name) {
        if (name == null) {
            return null;
        }
        try {
            return DType.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Parses a torch dtype name as found in config.json ("float32", "bfloat16", "float16"). */
    public static DType fromTorchName(String name) {
        if (name == null) {
            return null;
        }
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "float32", "float" -> F32;
            case "float16", "half" -> F16;
            case "bfloat16" -> BF16;
            case "float64", "double" -> F64;
            default -> null;
        };
    }

    /** The torch name of a compute dtype ("float32", "float16", "bfloat16"). */
    public String torchName() {
        return switch (this) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case F64 -> "float64";
            default -> name().toLowerCase(Locale.ROOT);
        };
    }
}
