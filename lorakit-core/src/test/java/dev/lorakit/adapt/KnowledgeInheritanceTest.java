package dev.lorakit.adapt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.compress.CompressOptions;
import dev.lorakit.compress.FfnPruning;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.tensor.DType;
import dev.lorakit.train.CaLoraParameters;
import dev.lorakit.train.LlamaTrainingModel;
import dev.lorakit.train.LoraParameters;
import dev.lorakit.train.RecoveryParameters;
import dev.lorakit.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Knowledge inheritance: the student's LoRA starts as the existing adapter exactly (so its
 * update s B A is the adapter's at step 0, rsLoRA and patterns included), recovery modules
 * start at U = 0 with the LoRA's rank and scale, and with U = 0 the student's forward is bit for
 * bit the compressed model + the existing LoRA. On a structurally pruned model the factors are
 * sliced so that s B' A' is exactly the kept rows (gate/up) or columns (down) of s B A.
 */
class KnowledgeInheritanceTest {
    @TempDir
    static Path dir;
    static Path teacher;
    static Path adapter;

    @BeforeAll
    static void setup() throws Exception {
        teacher = AdaptFixtures.teacher(dir.resolve("teacher"));
        adapter = AdaptFixtures.adapterSpec(11).write(dir.resolve("lora"));
    }

    static TrainConfig cfg() {
        return TrainConfig.builder().seed(5).build();
    }

    @Test
    void inheritedLoraIsTheExistingAdapterAndTheStudentStartsAtCompressedPlusLora() throws Exception {
        Path student = AdaptFixtures.compress(teacher, CompressOptions.builder().quantize(DType.Q4_0).build(), dir.resolve("q4"));
        AdaptConfig ac = AdaptConfig.defaults(teacher.toString(), adapter.toString());
        ModelPair pair = Adaptation.check(ac, student, cfg());
        CaLoraParameters params = Adaptation.initialParameters(ac, pair, cfg());
        List<LoraParameters> plain = new ArrayList<>();
        try (LoraAdapter a = LoraAdapter.open(adapter)) {
            assertEquals(a.modules().size(), params.loras().size());
            for (int i = 0; i < a.modules().size(); i++) {
                LoraModule m = a.modules().get(i);
                LoraParameters p = params.loras().get(i);
                assertEquals(m.name(), p.module());
                assertEquals(m.rank(), p.rank());
                assertEquals((float) m.scaling(), p.scale(), 0f, m.name() + " scaling (rsLoRA, alpha_pattern)");
                assertArrayEquals(m.a().toFloatArray(), p.a(), m.name() + " A");
                assertArrayEquals(m.b().toFloatArray(), p.b(), m.name() + " B");
                plain.add(LoraParameters.copyOf(m));
            }
            assertEquals(3, a.module("model.layers.1.mlp.down_proj").rank(), "the rank pattern is in play");
            assertEquals(a.config().toBuilder().baseModelNameOrPath(student.toString()).build(), params.loraConfig(),
                    "the adapter keeps the existing config, now for the compressed model");
        }
        // recovery: 7 projections x 2 layers, rank and scale of the module's LoRA, U = 0, D within the Kaiming bound
        assertEquals(14, params.recoveries().size());
        for (RecoveryParameters r : params.recoveries()) {
            LoraParameters l = params.loras().stream().filter(p -> p.module().equals(r.module())).findFirst().orElseThrow();
            assertEquals(l.rank(), r.rank(), r.module());
            assertEquals(l.scale(), r.scale(), 0f, r.module());
            for (float u : r.u()) {
                assertEquals(0f, u);
            }
            double bound = 1 / Math.sqrt(r.inFeatures());
            for (float d : r.d()) {
                assertTrue(Math.abs(d) <= bound);
            }
        }
        assertEquals(3, params.recoveryConfig().modules().get("model.layers.1.mlp.down_proj").rank());

        int B = 2;
        int T = 9;
        int[] tokens = new int[B * T];
        int[] targets = new int[B * T];
        Random rnd = new Random(3);
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 3 + rnd.nextInt(256);
            targets[i] = i % T == T - 1 ? CrossEntropy.IGNORE : 3 + rnd.nextInt(256);
        }
        double count = CrossEntropy.countTargets(targets, targets.length);
        try (LlamaTrainingModel a = LlamaTrainingModel.open(student, params.loras(), params.recoveries());
             LlamaTrainingModel b = LlamaTrainingModel.open(student, plain)) {
            double la = a.forward(tokens, targets, B, T, count, 0f, 0);
            double lb = b.forward(tokens, targets, B, T, count, 0f, 0);
            assertEquals(Double.doubleToLongBits(lb), Double.doubleToLongBits(la), "loss bit for bit: " + la + " vs " + lb);
            assertArrayEquals(b.rowLosses(), a.rowLosses());
            assertArrayEquals(Arrays.copyOf(b.hidden(LlamaTrainingModel.FINAL_HIDDEN), B * T * 64),
                    Arrays.copyOf(a.hidden(LlamaTrainingModel.FINAL_HIDDEN), B * T * 64));
        }
    }

    @Test
    void slicedLoraOfAPrunedModelIsTheKeptPartOfTheExistingUpdate() throws Exception {
        Path student = AdaptFixtures.compress(teacher, CompressOptions.builder().ffnKeep(96).quantize(DType.Q8_0).build(),
                dir.resolve("pruned"));
        FfnPruning pruning = FfnPruning.read(student).orElseThrow();
        AdaptConfig ac = AdaptConfig.defaults(teacher.toString(), adapter.toString());
        ModelPair pair = Adaptation.check(ac, student, cfg());
        assertTrue(pair.pruning().isPresent());
        CaLoraParameters params = Adaptation.initialParameters(ac, pair, cfg());
        int sliced = 0;
        try (LoraAdapter a = LoraAdapter.open(adapter)) {
            for (int i = 0; i < a.modules().size(); i++) {
                LoraModule m = a.modules().get(i);
                LoraParameters p = params.loras().get(i);
                ProjectionModule pm = ProjectionModule.parse(m.name()).orElseThrow();
                int[] kept = pruning.keptChannels(pm.layer());
                double[][] full = delta(m.a().toFloatArray(), m.b().toFloatArray(), m.rank(), m.inFeatures(), m.outFeatures(),
                        (float) m.scaling()); // the scale the model applies
                double[][] mine = delta(p.a(), p.b(), p.rank(), p.inFeatures(), p.outFeatures(), p.scale());
                assertEquals((float) m.scaling(), p.scale(), 0f);
                switch (pm.projection()) {
                    case GATE_PROJ, UP_PROJ -> {
                        assertEquals(96, p.outFeatures());
                        for (int r = 0; r < kept.length; r++) {
                            assertArrayEquals(full[kept[r]], mine[r], 0.0, m.name() + " row " + r);
                        }
                        sliced++;
                    }
                    case DOWN_PROJ -> {
                        assertEquals(96, p.inFeatures());
                        for (int o = 0; o < p.outFeatures(); o++) {
                            for (int j = 0; j < kept.length; j++) {
                                assertEquals(full[o][kept[j]], mine[o][j], 0.0, m.name() + " [" + o + "," + j + "]");
                            }
                        }
                        sliced++;
                    }
                    default -> {
                        assertArrayEquals(m.a().toFloatArray(), p.a());
                        assertArrayEquals(m.b().toFloatArray(), p.b());
                    }
                }
            }
        }
        assertEquals(6, sliced, "gate, up, down of both layers");
        for (RecoveryParameters r : params.recoveries()) {
            assertEquals(r.projection().inFeatures(pair.student()), r.inFeatures());
            assertEquals(r.projection().outFeatures(pair.student()), r.outFeatures());
        }
        // the sliced LoRAs and the recovery modules fit the pruned model
        try (LlamaTrainingModel m = LlamaTrainingModel.open(student, params.loras(), params.recoveries())) {
            int[] tokens = {5, 9, 40, 77, 3, 8};
            int[] targets = {9, 40, 77, 3, 8, CrossEntropy.IGNORE};
            double loss = m.forward(tokens, targets, 1, 6, 5, 0f, 0);
            m.backward();
            assertTrue(Double.isFinite(loss) && loss > 0);
        }
        assertEquals(Projection.values().length * 2, params.recoveries().size());
    }

    /** scale * B A in float64, [out][in]. */
    static double[][] delta(float[] a, float[] b, int r, int in, int out, double scale) {
        double[][] d = new double[out][in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) {
                    s += (double) b[o * r + k] * a[k * in + i];
                }
                d[o][i] = scale * s;
            }
        }
        return d;
    }
}
