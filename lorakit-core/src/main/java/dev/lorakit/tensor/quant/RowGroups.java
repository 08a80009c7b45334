package dev.lorakit.tensor.quant;

import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Parallel;
import dev.lorakit.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decode layout of a Q8_0 / Q4_0 weight W[N, K] ({@link DType#Q8_0_R32},
 * {@link DType#Q4_0_R32}): the same blocks and bytes as the row-major tensor, with the rows
 * interleaved in groups of {@link #ROWS} = 32 so that a vector lane serves one row and a
 * matrix-vector product needs no horizontal sums and no per-row scale broadcasts. llama.cpp
 * repacks its CPU weights at load for the same reason (its {@code block_q4_0x8}); the on-disk
 * format stays llama.cpp's row-major blocks.
 *
 * <p>Rows [32g, 32g + 32) form group g, stored at byte 32 g R (R = bytes of one row-major row)
 * as K/32 group blocks of 32 x (block bytes), one per block column b, in order. A group block
 * starts with the 32 fp16 scales of its rows (row r of the group at byte 2r), then holds the
 * rows' quants:
 * <ul>
 *   <li><b>Q4_0_R32</b> (576 bytes): 8 chunks of 64 bytes after the scales. Chunk m holds bytes
 *       2m and 2m+1 of every row's 16 nibble bytes: at 64 + 64m + 4i + 2h + s is byte 2m + s
 *       of row i + 16h (i &lt; 16, h, s in {0, 1}). Read as 16 little-endian ints, lane i is
 *       a short of row i (low half) and a short of row i + 16 (high half), whose four nibbles
 *       are weights 2m, 2m+16, 2m+1, 2m+17 (bits 0, 4, 8, 12).</li>
 *   <li><b>Q8_0_R32</b> (1088 bytes): 32 columns of 32 bytes after the scales: at 64 + 32j + r
 *       is q[j] of row r.</li>
 * </ul>
 * The N mod 32 rows after the last whole group stay row-major, after the groups. The tensor
 * therefore has exactly the bytes of its row-major twin, and {@link #interleave} /
 * {@link #deinterleave} are byte permutations.
 */
public final class RowGroups {
    /** Rows per group. */
    public static final int ROWS = 32;
    /** Bytes of a group block's scales (32 fp16). */
    public static final int SCALES_BYTES = ROWS * BlockFormat.SCALE_BYTES;
    /** Q4_0_R32: bytes of one chunk (two bytes of each of 32 rows). */
    public static final int Q4_CHUNK_BYTES = 64;

    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RowGroups() {
    }

    /** Whole groups of a matrix with n rows. */
    public static int groups(int n) {
        return n / ROWS;
    }

    /** Bytes of one group block: 32 row-major blocks. */
    public static int groupBlockBytes(DType dt) {
        return ROWS * dt.blockBytes();
    }

    /** Byte offset of group g's block column b in a matrix with k columns. */
    public static long groupBlockOffset(DType dt, int k, int g, int b) {
        return (long) g * ROWS * dt.bytesFor(k) + (long) b * groupBlockBytes(dt);
    }

    /** Byte offset of the fp16 scale of block b of row r. */
    private static long scaleOffset(DType dt, int n, int k, int r, int b) {
        int g = r / ROWS;
        if (g < groups(n)) {
            return groupBlockOffset(dt, k, g, b) + position(dt.rowMajor(), r % ROWS, 0);
        }
        return (long) r * dt.bytesFor(k) + (long) b * dt.blockBytes();
    }

    /**
     * The integer of weight j (0..31) of block b of row r with the Q4_0 offset removed (q, or
     * q - 8), like {@link BlockFormat#quant}.
     */
    private static int quant(DType dt, MemorySegment seg, int n, int k, int r, int b, int j) {
        int g = r / ROWS;
        if (g >= groups(n)) {
            return BlockFormat.quant(dt.rowMajor(), seg, (long) r * dt.bytesFor(k) + (long) b * dt.blockBytes(), j);
        }
        long gb = groupBlockOffset(dt, k, g, b);
        int i = r % ROWS;
        if (dt == DType.Q8_0_R32) {
            return seg.get(ValueLayout.JAVA_BYTE, gb + position(DType.Q8_0, i, BlockFormat.SCALE_BYTES + j));
        }
        // q[j] is the low nibble of quant byte j (j < 16), q[j] for j >= 16 the high nibble of byte j - 16
        int v = seg.get(ValueLayout.JAVA_BYTE, gb + position(DType.Q4_0, i, BlockFormat.SCALE_BYTES + (j & 15))) & 0xff;
        return (j < 16 ? v & 0x0f : v >>> 4) - BlockFormat.Q4_OFFSET;
    }

    /** The scale d of block b of row r of a row-interleaved tensor, as float32 (exact). */
    public static float scale(Tensor t, int r, int b) {
        requireInterleaved(t.dtype());
        return Float.float16ToFloat(t.segment().get(I16_LE, scaleOffset(t.dtype(), t.dim(0), t.dim(1), r, b)));
    }

    /**
     * The integer of weight j (0..31) of block b of row r of a row-interleaved tensor with the
     * Q4_0 offset removed: weight = quant x scale.
     */
    public static int quant(Tensor t, int r, int b, int j) {
        requireInterleaved(t.dtype());
        return quant(t.dtype(), t.segment(), t.dim(0), t.dim(1), r, b, j);
    }

    /** Element {@code index} (flat, row-major) of a row-interleaved tensor, dequantized exactly. */
    public static float element(Tensor t, long index) {
        requireInterleaved(t.dtype());
        int k = t.dim(1);
        int r = (int) (index / k);
        int c = (int) (index % k);
        int b = c / BlockFormat.BLOCK;
        MemorySegment seg = t.segment();
        float d = Float.float16ToFloat(seg.get(I16_LE, scaleOffset(t.dtype(), t.dim(0), k, r, b)));
        return quant(t.dtype(), seg, t.dim(0), k, r, b, c % BlockFormat.BLOCK) * d;
    }

    /**
     * Elements [first, first + len) of row r of a row-interleaved tensor, dequantized exactly,
     * into dst[off .. off + len).
     */
    public static void dequantizeRow(Tensor t, int r, int first, float[] dst, int off, int len) {
        requireInterleaved(t.dtype());
        DType dt = t.dtype();
        int n = t.dim(0);
        int k = t.dim(1);
        MemorySegment seg = t.segment();
        int i = 0;
        while (i < len) {
            int c = first + i;
            int b = c / BlockFormat.BLOCK;
            float d = Float.float16ToFloat(seg.get(I16_LE, scaleOffset(dt, n, k, r, b)));
            for (int j = c % BlockFormat.BLOCK; j < BlockFormat.BLOCK && i < len; j++, i++) {
                dst[off + i] = quant(dt, seg, n, k, r, b, j) * d;
            }
        }
    }

    /**
     * The row-interleaved copy of a row-major Q8_0 / Q4_0 matrix [N, K], in native memory owned
     * by {@code arena}: a byte permutation, so it holds exactly the same blocks.
     *
     * @throws IllegalArgumentException if w is not a rank-2 Q8_0 / Q4_0 tensor, or a block has
     *     an infinite or NaN scale (the kernels convert scales assuming finite values; such a
     *     weight is best left row-major: see {@link #hasFiniteScales})
     */
    public static Tensor interleave(Tensor w, Arena arena) {
        DType dt = w.dtype();
        if (w.shape().rank() != 2 || (dt != DType.Q8_0 && dt != DType.Q4_0)) {
            throw new IllegalArgumentException("can only interleave a rank-2 Q8_0 or Q4_0 weight, got " + w);
        }
        long bad = firstNonFiniteScale(w);
        if (bad >= 0) {
            throw new IllegalArgumentException("row " + bad / (w.dim(1) / BlockFormat.BLOCK) + " block " + bad % (w.dim(1) / BlockFormat.BLOCK)
                    + " has a non-finite fp16 scale; the decode kernels need finite scales");
        }
        int n = w.dim(0);
        int k = w.dim(1);
        DType target = dt.rowInterleaved();
        long bytes = w.byteSize();
        MemorySegment out = arena.allocate(Math.max(1, bytes), 64).asSlice(0, bytes);
        permute(dt, n, k, w.segment(), out, true);
        return Tensor.wrap(target, w.shape(), out);
    }

    /** True when every block scale of a row-major Q8_0 / Q4_0 tensor is finite, so {@link #interleave} takes it. */
    public static boolean hasFiniteScales(Tensor w) {
        return firstNonFiniteScale(w) < 0;
    }

    /** The flat index (row * blocks per row + block) of the first block with an inf or NaN scale, or -1. */
    private static long firstNonFiniteScale(Tensor w) {
        MemorySegment seg = w.segment();
        long bb = w.dtype().blockBytes();
        int rows = w.dim(0);
        long perRow = w.dim(1) / BlockFormat.BLOCK;
        AtomicLong first = new AtomicLong(Long.MAX_VALUE);
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (long i = r0 * perRow; i < r1 * perRow; i++) {
                if ((seg.get(I16_LE, i * bb) & 0x7c00) == 0x7c00) { // fp16 exponent all ones
                    long at = i;
                    first.accumulateAndGet(at, Math::min);
                    return;
                }
            }
        });
        return first.get() == Long.MAX_VALUE ? -1 : first.get();
    }

    /** The row-major heap copy (Q8_0 / Q4_0) of a row-interleaved tensor: the inverse of {@link #interleave}. */
    public static Tensor deinterleave(Tensor t) {
        requireInterleaved(t.dtype());
        Tensor out = Tensor.zeros(t.dtype().rowMajor(), t.shape());
        permute(t.dtype().rowMajor(), t.dim(0), t.dim(1), out.segment(), t.segment(), false);
        return out;
    }

    /**
     * Moves every byte between the row-major layout ({@code rowMajor}) and the interleaved one
     * ({@code interleaved}), towards the interleaved one when {@code toInterleaved}. A group
     * occupies the same byte range in both layouts, so each group is copied into a heap buffer
     * in one piece, permuted there with a per-block table, and copied back in one piece; groups
     * run in parallel.
     */
    private static void permute(DType dt, int n, int k, MemorySegment rowMajor, MemorySegment interleaved, boolean toInterleaved) {
        long rowBytes = dt.bytesFor(k);
        int groupBytes = Math.toIntExact(ROWS * rowBytes);
        int blocks = k / BlockFormat.BLOCK;
        int bb = dt.blockBytes();
        int groupBlock = ROWS * bb;
        int[] to = new int[groupBlock]; // byte s of row i's block -> its place in the group block
        for (int i = 0; i < ROWS; i++) {
            for (int b = 0; b < bb; b++) {
                to[i * bb + b] = position(dt, i, b);
            }
        }
        Parallel.forRange(groups(n), 1, (g0, g1) -> {
            byte[] src = new byte[groupBytes];
            byte[] dst = new byte[groupBytes];
            MemorySegment srcSeg = MemorySegment.ofArray(src);
            MemorySegment dstSeg = MemorySegment.ofArray(dst);
            for (int g = g0; g < g1; g++) {
                long at = (long) g * groupBytes;
                MemorySegment.copy(toInterleaved ? rowMajor : interleaved, at, srcSeg, 0, groupBytes);
                for (int b = 0; b < blocks; b++) {
                    int gb = b * groupBlock;
                    for (int i = 0; i < ROWS; i++) {
                        int r = Math.toIntExact(i * rowBytes + (long) b * bb);
                        int t = i * bb;
                        if (toInterleaved) {
                            for (int x = 0; x < bb; x++) {
                                dst[gb + to[t + x]] = src[r + x];
                            }
                        } else {
                            for (int x = 0; x < bb; x++) {
                                dst[r + x] = src[gb + to[t + x]];
                            }
                        }
                    }
                }
                MemorySegment.copy(dstSeg, 0, toInterleaved ? interleaved : rowMajor, at, groupBytes);
            }
        });
        long tail = (long) groups(n) * ROWS * rowBytes;
        long tailBytes = (long) n * rowBytes - tail;
        if (tailBytes > 0) {
            if (toInterleaved) {
                MemorySegment.copy(rowMajor, tail, interleaved, tail, tailBytes);
            } else {
                MemorySegment.copy(interleaved, tail, rowMajor, tail, tailBytes);
            }
        }
    }

    /** Where byte s of row i's block (scale bytes 0-1, then quants) sits in a group block; dt is Q8_0 or Q4_0. */
    private static int position(DType dt, int i, int s) {
        if (s < BlockFormat.SCALE_BYTES) {
            return BlockFormat.SCALE_BYTES * i + s;
        }
        int q = s - BlockFormat.SCALE_BYTES;
        return dt == DType.Q8_0
                ? SCALES_BYTES + ROWS * q + i
                : SCALES_BYTES + Q4_CHUNK_BYTES * (q >> 1) + 4 * (i & 15) + 2 * (i >> 4) + (q & 1);
    }

    private static void requireInterleaved(DType dt) {
        if (!dt.isRowInterleaved()) {
            throw new IllegalArgumentException(dt + " is not a row-interleaved type (expected Q8_0_R32 or Q4_0_R32)");
        }
    }
}
