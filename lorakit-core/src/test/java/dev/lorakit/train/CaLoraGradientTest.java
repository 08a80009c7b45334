package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The whole-model gradient check of CA-LoRA training: a student (a tiny model of other weights
 * and FFN size than the teacher, like a compressed copy) with LoRAs on q/v/down and recovery
 * modules on all seven projections, loss CE + lambda * MSE(h_student, h_teacher) over the real
 * positions of a padded batch, h the final RMS-normed hidden state or a block's output. The
 * float32 {@link LlamaTrainingModel} must give the loss of the float64 reference
 * ({@link Float64Llama} with branches) and, for every LoRA and recovery tensor, gradients that
 * match float64 central differences of the reference at sampled entries (normwise relative
 * error per tensor at most {@link #TOL}). Cases: distillation of the final hidden state, of
 * block 0 and of the last block, distillation alone (no target) and no distillation (the
 * recovery branch inside the model under CE alone).
 */
class CaLoraGradientTest {
    /** Normwise relative tolerance per tensor (float32 model against float64 differences). */
    static final double TOL = 5e-5;
    static final double EPS = 1e-6;
    static final int SAMPLES = 6;

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"final, 1.0, true", "0, 2.5, true", "1, 0.5, true", "final, 1.0, false", "none, 0, true"})
    void loraAndRecoveryGradientsOfCePlusDistillationMatchFiniteDifferences(String kd, double lambda, boolean withTargets)
            throws Exception {
        Path teacherDir = TinyModels.write(dir.resolve("t"), TinyModels.Spec.of(ModelArchitecture.LLAMA)
                .withSizes(16, 24, 2, 4, 2, 23).withSeed(7));
        Path studentDir = TinyModels.write(dir.resolve("s"), TinyModels.Spec.of(ModelArchitecture.LLAMA)
                .withSizes(16, 20, 2, 4, 2, 23).withSeed(9));
        int layer = kd.equals("none") || kd.equals("final") ? LlamaTrainingModel.FINAL_HIDDEN : Integer.parseInt(kd);
        boolean distill = !kd.equals("none");
        int B = 2;
        int T = 5;
        int[] lengths = {5, 3};
        Random rnd = new Random(13);
        int[] tokens = new int[B * T];
        int[] targets = new int[B * T];
        Arrays.fill(targets, CrossEntropy.IGNORE);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                tokens[b * T + t] = 3 + rnd.nextInt(20);
            }
            for (int t = 0; withTargets && t + 1 < lengths[b]; t++) {
                targets[b * T + t] = tokens[b * T + t + 1];
            }
        }
        double count = Math.max(1, CrossEntropy.countTargets(targets, targets.length));
        double positions = lengths[0] + lengths[1];

        // teacher: its own weights + a LoRA, forward only
        List<LoraParameters> teacherLoras = new ArrayList<>();
        for (LoraModule m : TinyAdapters.llama(3, 2, 16, 8, 24).rank(2).alpha(4).stdB(0.3).modules()) {
            teacherLoras.add(LoraParameters.copyOf(m));
        }
        float[] hT;
        try (LlamaTrainingModel t = LlamaTrainingModel.frozen(teacherDir, teacherLoras)) {
            hT = t.forwardHidden(tokens, B, T, layer).clone();
        }

        // student: LoRAs on q, v, down; recovery on all seven projections (U random so that D gets gradients)
        ModelConfig c = TinyModels.config(TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(16, 20, 2, 4, 2, 23));
        TinyAdapters.Spec spec = TinyAdapters.spec(5).rank(2).alpha(3).stdB(0.3);
        for (int l = 0; l < 2; l++) {
            for (Projection p : List.of(Projection.Q_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ)) {
                spec.module(p.modulePath(l), p.inFeatures(c), p.outFeatures(c));
            }
        }
        List<LoraParameters> loras = new ArrayList<>();
        for (LoraModule m : spec.modules()) {
            loras.add(LoraParameters.copyOf(m));
        }
        List<RecoveryParameters> recs = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            for (Projection p : Projection.values()) {
                int in = p.inFeatures(c);
                int out = p.outFeatures(c);
                Tensor d = TinyAdapters.random(rnd, DType.F32, 1.5 / Math.sqrt(in), 3, in);
                Tensor u = TinyAdapters.random(rnd, DType.F32, 0.4, out, 3);
                recs.add(RecoveryParameters.of(p.modulePath(l), 0.8f, d, u));
            }
        }
        double ce;
        double kdTerm = 0;
        try (LlamaTrainingModel m = LlamaTrainingModel.open(studentDir, loras, recs)) {
            m.zeroGrad();
            ce = m.forward(tokens, targets, B, T, count, 0f, 0);
            if (distill) {
                kdTerm = m.distill(hT, layer, lengths, positions, lambda);
            }
            m.backward();
        }

        Map<String, double[]> w = new LinkedHashMap<>();
        for (NamedParameter p : FullParameters.load(studentDir).parameters()) {
            double[] v = new double[p.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = p.value(i);
            }
            w.put(p.name(), v);
        }
        Map<String, double[][]> branchArrays = new LinkedHashMap<>(); // module -> {A, B, D, U}
        for (LoraParameters p : loras) {
            branchArrays.computeIfAbsent(p.module(), k -> new double[4][])[0] = d(p.a());
            branchArrays.get(p.module())[1] = d(p.b());
        }
        for (RecoveryParameters p : recs) {
            branchArrays.computeIfAbsent(p.module(), k -> new double[4][])[2] = d(p.d());
            branchArrays.get(p.module())[3] = d(p.u());
        }
        Map<String, Float64Llama.Branch> branches = new LinkedHashMap<>();
        for (LoraParameters p : loras) {
            double[][] a = branchArrays.get(p.module());
            branches.put(p.module(), new Float64Llama.Branch(a[0], a[1], p.rank(), p.scale(), null, null, 0, 0));
        }
        for (RecoveryParameters p : recs) {
            double[][] a = branchArrays.get(p.module());
            Float64Llama.Branch old = branches.get(p.module());
            branches.put(p.module(), old == null
                    ? new Float64Llama.Branch(null, null, 0, 0, a[2], a[3], p.rank(), p.scale())
                    : new Float64Llama.Branch(old.a(), old.b(), old.loraRank(), old.loraScale(), a[2], a[3], p.rank(), p.scale()));
        }
        Reference ref = () -> {
            double loss = Float64Llama.loss(c, w, branches, tokens, targets, B, T, count);
            if (distill) {
                loss += lambda * kd(Float64Llama.hidden(c, w, branches, tokens, B, T, layer), hT, lengths, T, 16, positions);
            }
            return loss;
        };
        double refCe = Float64Llama.loss(c, w, branches, tokens, targets, B, T, count);
        assertEquals(refCe, ce, 1e-5 * Math.max(1e-3, Math.abs(refCe)), "CE vs float64 reference");
        if (distill) {
            double refKd = kd(Float64Llama.hidden(c, w, branches, tokens, B, T, layer), hT, lengths, T, 16, positions);
            assertEquals(refKd, kdTerm, 1e-5 * refKd, "distillation MSE vs float64 reference");
            assertTrue(refKd > 1e-3, "teacher and student differ: " + refKd);
        }

        int checked = 0;
        for (LoraParameters p : loras) {
            double[][] a = branchArrays.get(p.module());
            check(p.module() + ".lora_A", a[0], p.gradA(), ref, rnd);
            check(p.module() + ".lora_B", a[1], p.gradB(), ref, rnd);
            checked += 2;
        }
        for (RecoveryParameters p : recs) {
            double[][] a = branchArrays.get(p.module());
            check(p.module() + ".recovery_D", a[2], p.gradD(), ref, rnd);
            check(p.module() + ".recovery_U", a[3], p.gradU(), ref, rnd);
            checked += 2;
        }
        assertEquals(2 * 3 * 2 + 2 * 7 * 2, checked);
    }

    interface Reference {
        double loss();
    }

    /** sum over real positions of (h - t)^2 / (positions * C). */
    static double kd(double[] h, float[] t, int[] lengths, int T, int C, double positions) {
        double s = 0;
        for (int b = 0; b < lengths.length; b++) {
            for (int i = b * T * C; i < (b * T + lengths[b]) * C; i++) {
                double diff = h[i] - t[i];
                s += diff * diff;
            }
        }
        return s / (positions * C);
    }

    static void check(String what, double[] v, float[] grad, Reference ref, Random rnd) {
        double maxRef = 0;
        double maxDiff = 0;
        for (int j = 0; j < SAMPLES; j++) {
            int i = rnd.nextInt(v.length);
            double keep = v[i];
            v[i] = keep + EPS;
            double up = ref.loss();
            v[i] = keep - EPS;
            double down = ref.loss();
            v[i] = keep;
            double fd = (up - down) / (2 * EPS);
            maxRef = Math.max(maxRef, Math.abs(fd));
            maxDiff = Math.max(maxDiff, Math.abs(grad[i] - fd));
        }
        assertTrue(maxRef > 1e-7, what + ": the sampled gradient entries are all about zero (" + maxRef + ")");
        double err = maxDiff / maxRef;
        assertTrue(err <= TOL, what + ": relative error " + err + " > " + TOL);
    }

    static double[] d(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }
}
