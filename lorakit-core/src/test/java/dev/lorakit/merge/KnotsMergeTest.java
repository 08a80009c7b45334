package dev.lorakit.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** KnOTS against a dense reference: SVD of the stacked updates, element-wise rule on the V blocks, U S V^T. */
class KnotsMergeTest {
    @TempDir
    Path dir;

    private static MergeOptions options(MergeOptions.KnotsMerge rule, Double density, MergeOptions.MajoritySign sign) {
        return MergeOptions.defaults().withDensity(density).withSignElection(sign, rule);
    }

    /** The KnOTS merge computed densely: stack, EJML SVD, rule on the V blocks, rebuild. */
    private static double[] reference(ModuleFactors f, MergeOptions o) {
        int dIn = f.dIn();
        int dOut = f.dOut();
        int n = f.terms().size();
        double[] stack = new double[dOut * n * dIn];
        for (int t = 0; t < n; t++) {
            ScaledFactors s = f.terms().get(t);
            for (int r = 0; r < dOut; r++) {
                for (int c = 0; c < dIn; c++) {
                    double v = 0;
                    for (int k = 0; k < s.rank(); k++) {
                        v += s.bt()[k * dOut + r] * s.a()[k * dIn + c];
                    }
                    stack[r * n * dIn + t * dIn + c] = s.coefficient() * v;
                }
            }
        }
        DenseSvd svd = DenseSvd.of(stack, dOut, n * dIn);
        int kept = 0;
        while (kept < svd.values().length && svd.value(kept) > 1e-10 * svd.value(0)) {
            kept++;
        }
        double[][] blocks = new double[n][kept * dIn];
        double[] flip = new double[kept]; // the sign convention: largest |u_j| entry positive
        for (int j = 0; j < kept; j++) {
            int arg = 0;
            for (int r = 1; r < dOut; r++) {
                if (Math.abs(svd.u(r, j)) > Math.abs(svd.u(arg, j))) {
                    arg = r;
                }
            }
            flip[j] = svd.u(arg, j) < 0 ? -1 : 1;
        }
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < kept; j++) {
                for (int c = 0; c < dIn; c++) {
                    blocks[t][j * dIn + c] = flip[j] * svd.v(t * dIn + c, j);
                }
            }
        }
        double density = o.density() == null ? 1 : o.density();
        double[] merged;
        if (o.knotsMerge() == MergeOptions.KnotsMerge.MEAN) {
            merged = TaskVectorRules.sum(blocks);
            for (int i = 0; i < merged.length; i++) {
                merged[i] /= n;
            }
        } else {
            double[][] trimmed = new double[n][];
            for (int t = 0; t < n; t++) {
                trimmed[t] = TaskVectorRules.trim(blocks[t], density);
            }
            merged = TaskVectorRules.disjointMerge(trimmed, TaskVectorRules.electSigns(trimmed, o.majoritySign()));
        }
        double[] out = new double[dOut * dIn];
        for (int j = 0; j < kept; j++) {
            for (int r = 0; r < dOut; r++) {
                double us = flip[j] * svd.u(r, j) * svd.value(j);
                for (int c = 0; c < dIn; c++) {
                    out[r * dIn + c] += us * merged[j * dIn + c];
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"TIES,1.0,TOTAL", "TIES,0.5,TOTAL", "TIES,0.3,FREQUENCY", "MEAN,1.0,TOTAL"})
    void matchesTheDenseConstruction(MergeOptions.KnotsMerge rule, double density, MergeOptions.MajoritySign sign) {
        for (int seed = 1; seed <= 4; seed++) {
            ModuleFactors f = MergeFixtures.randomModule(seed, 7, 9, new int[] {2, 3, 2}, new double[] {1, 0.5, -1.5},
                    new double[] {2, 1, 0.25});
            MergeOptions o = options(rule, density, sign);
            ObjectNode figures = JsonNodeFactory.instance.objectNode();
            double[] got = new KnotsMerge(o).merge(f, figures).dense();
            double[] want = reference(f, o);
            assertTrue(MergeFixtures.relativeError(got, want) < 1e-9, rule + " " + density + " seed " + seed + ": "
                    + MergeFixtures.relativeError(got, want));
            assertEquals(7, figures.get("aligned_rank").asInt());
        }
    }

    @Test
    void meanIsTheWeightedSumOverN() {
        ModuleFactors f = MergeFixtures.randomModule(5, 12, 10, new int[] {3, 4}, new double[] {1, 2}, new double[] {1, 0.5});
        double[] got = new KnotsMerge(options(MergeOptions.KnotsMerge.MEAN, null, MergeOptions.MajoritySign.TOTAL))
                .merge(f, JsonNodeFactory.instance.objectNode()).dense();
        double[] sum = f.denseSum();
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= 2;
        }
        assertTrue(MergeFixtures.relativeError(got, sum) < 1e-10);
    }

    @Test
    void oneAdapterWithWeightOneComesBackThroughFiles() throws Exception {
        String q = "model.layers.0.self_attn.q_proj";
        String down = "model.layers.0.mlp.down_proj";
        List<Path> inputs = List.of(
                TinyAdapters.spec(1).module(q, 16, 16).module(down, 24, 16).rank(4).alpha(8).write(dir.resolve("plain")),
                TinyAdapters.spec(2).module(q, 16, 16).rank(8).alpha(4).rslora(true).dtype(DType.BF16).write(dir.resolve("rs")),
                TinyAdapters.spec(3).module(q, 16, 16).module(down, 24, 16).rank(2).rankPattern("down_proj", 5)
                        .alphaPattern("down_proj", 3).write(dir.resolve("pattern")));
        for (Path input : inputs) {
            Path out = dir.resolve("out-" + input.getFileName());
            try (MergeInputs in = MergeInputs.open(List.of(input), null)) {
                LoraMerger.merge(in, MergeMethods.create("knots", MergeOptions.defaults()), DType.F32, out, null);
            }
            try (LoraAdapter a = LoraAdapter.open(input); LoraAdapter m = LoraAdapter.open(out)) {
                for (LoraModule original : a.modules()) {
                    double err = MergeFixtures.relativeError(MergeFixtures.dense(m.module(original.name())),
                            MergeFixtures.dense(original));
                    assertTrue(err < 1e-6, input + " " + original.name() + ": " + err);
                }
            }
        }
    }

    @Test
    void rankOptionKeepsTheTopTriplets() {
        ModuleFactors f = MergeFixtures.randomModule(9, 10, 8, new int[] {3, 3}, new double[] {1, 1}, new double[] {1, 1});
        MergeOptions o = options(MergeOptions.KnotsMerge.TIES, null, MergeOptions.MajoritySign.TOTAL).withRank(2);
        LowRankUpdate u = new KnotsMerge(o).merge(f, JsonNodeFactory.instance.objectNode());
        assertEquals(2, u.rank());
        assertEquals(2, new KnotsMerge(o).outputRank(new MergePlan.Module("m", 10, 8, List.of(0, 1), List.of(3, 3))));
    }
}
