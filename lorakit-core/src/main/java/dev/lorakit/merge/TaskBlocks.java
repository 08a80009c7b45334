package dev.lorakit.merge;

import dev.lorakit.tensor.kernel.RowProducts;

/**
 * The task vectors {@code T_t = c_t B_t A_t} of one module (c_t = weight x scaling), produced a
 * block of rows at a time so that a dense merge never holds n dense [dOut, dIn] matrices. Entry
 * (o, i) is the fused multiply-add chain {@code sum_j (c_t b_tj[o]) a_tj[i]} over j ascending,
 * bit for bit the same whether computed in a block or alone ({@link #entry}).
 */
final class TaskBlocks {
    /** Target doubles per task block (128 KiB, more if 4 rows need it), so that n task blocks stay in cache together. */
    private static final int BLOCK_DOUBLES = 1 << 14;

    private final ModuleFactors module;
    private final int blockRows;
    private final double[] coeff;

    TaskBlocks(ModuleFactors module) {
        this.module = module;
        // at least 4 rows, so that generation uses the kernel's 4-row blocks even for wide modules
        this.blockRows = Math.min(module.dOut(), Math.max(4, BLOCK_DOUBLES / module.dIn()));
        this.coeff = new double[blockRows * module.maxRank()];
    }

    /** Rows per block (the last block may be shorter). */
    int blockRows() {
        return blockRows;
    }

    /** Number of task vectors (inputs that have the module). */
    int count() {
        return module.terms().size();
    }

    /** Writes rows [row0, row0 + rows) of T_t into {@code out} [rows, dIn]. */
    void generate(int t, int row0, int rows, double[] out) {
        ScaledFactors f = module.terms().get(t);
        int r = f.rank();
        int dOut = module.dOut();
        double c = f.coefficient();
        for (int o = 0; o < rows; o++) {
            for (int j = 0; j < r; j++) {
                coeff[o * r + j] = c * f.bt()[j * dOut + row0 + o];
            }
        }
        RowProducts.combineTiled(coeff, 0, rows, r, f.a(), 0, module.dIn(), out, 0);
    }

    /** The single entry of T_t at flat row-major index {@code index}, identical to its value in a block. */
    double entry(int t, long index) {
        ScaledFactors f = module.terms().get(t);
        int o = (int) (index / module.dIn());
        int i = (int) (index % module.dIn());
        double c = f.coefficient();
        double acc = 0.0;
        for (int j = 0; j < f.rank(); j++) {
            acc = Math.fma(c * f.bt()[j * module.dOut() + o], f.a()[j * module.dIn() + i], acc);
        }
        return acc;
    }
}
