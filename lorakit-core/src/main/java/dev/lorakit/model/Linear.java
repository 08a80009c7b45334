package dev.lorakit.model;

import dev.lorakit.lora.AdapterBranch;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.kernel.Matmul;
import dev.lorakit.tensor.ops.Ops;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One linear layer of the model: {@code y = x W^T (+ b) + sum of branches(x)}. The frozen
 * weight W [out, in] stays in its stored dtype (memory-mapped); branches (LoRA, later recovery
 * modules) run unmerged beside it. Up to {@link #MATVEC_ROWS} rows stream W once through the
 * batched matrix-vector kernel (decode); more rows use the packed matmul (prefill).
 */
public final class Linear {
    /** Row count up to which the bandwidth-bound matrix-vector path is used. */
    public static final int MATVEC_ROWS = 8;

    private final String name;
    private Tensor weight;        // [out, in]
    private final float[] bias;   // [out] or null
    private final List<AdapterBranch> branches = new ArrayList<>();
    private LinearInputObserver inputObserver; // calibration hook, usually null

    public Linear(String name, Tensor weight, float[] bias) {
        if (weight.shape().rank() != 2) {
            throw new IllegalArgumentException(name + ": weight must be 2-D, got " + weight.shape());
        }
        if (bias != null && bias.length != weight.dim(0)) {
            throw new IllegalArgumentException(name + ": bias of " + bias.length + " for " + weight.dim(0) + " outputs");
        }
        this.name = name;
        this.weight = weight;
        this.bias = bias;
    }

    /** The module name, e.g. model.layers.3.self_attn.q_proj. */
    public String name() {
        return name;
    }

    public Tensor weight() {
        return weight;
    }

    public int inFeatures() {
        return weight.dim(1);
    }

    public int outFeatures() {
        return weight.dim(0);
    }

    /** Adds a branch computed beside the frozen product. */
    public void addBranch(AdapterBranch branch) {
        if (branch.inFeatures() != inFeatures() || branch.outFeatures() != outFeatures()) {
            throw new IllegalArgumentException(name + ": branch " + branch.inFeatures() + " -> " + branch.outFeatures()
                    + " does not fit the layer " + inFeatures() + " -> " + outFeatures());
        }
        branches.add(branch);
    }

    public List<AdapterBranch> branches() {
        return Collections.unmodifiableList(branches);
    }

    /** Replaces the frozen weight (merged mode folds branches into a private copy). */
    void replaceWeight(Tensor merged, List<AdapterBranch> remainingBranches) {
        if (!merged.shape().equals(weight.shape())) {
            throw new IllegalArgumentException(name + ": merged weight " + merged.shape() + " != " + weight.shape());
        }
        weight = merged;
        branches.clear();
        branches.addAll(remainingBranches);
    }

    /** Sets (or, with null, removes) the observer that sees every input of {@link #forward}. */
    void observeInputs(LinearInputObserver observer) {
        inputObserver = observer;
    }

    /** y[rows, out] = x[rows, in] W^T + b + branches; x and y are row-major and must not overlap. */
    public void forward(float[] x, int rows, float[] y) {
        int in = inFeatures();
        int out = outFeatures();
        if (inputObserver != null) {
            inputObserver.observe(name, x, rows, in);
        }
        if (rows <= MATVEC_ROWS) {
            Ops.matvecBatch(weight, x, 0, y, 0, rows);
        } else {
            Matmul.gemm(Tensor.view(x, 0, rows, in), false, weight, true, Tensor.view(y, 0, rows, out), false);
        }
        if (bias != null) {
            for (int r = 0; r < rows; r++) {
                Ops.add(y, r * out, bias, 0, y, r * out, out);
            }
        }
        for (AdapterBranch branch : branches) {
            branch.forward(x, rows, y);
        }
    }
}
