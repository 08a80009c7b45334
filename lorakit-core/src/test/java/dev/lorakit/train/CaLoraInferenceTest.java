package dev.lorakit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.lora.MergedModelWriter;
import dev.lorakit.model.LlamaModel;
import dev.lorakit.nn.CrossEntropy;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An adapt output directory (PEFT LoRA + recovery files) applied by the inference engine: the
 * logits of {@link LlamaModel} with {@code --adapter DIR[:SCALE]} (unmerged and merged) equal a
 * float64 hand computation of the model with both branches (LoRA s B A x and recovery
 * s U GELU(D x), both times the user scale), and the training model's loss equals the
 * cross-entropy of those logits. Export refuses recovery modules (they cannot be merged).
 */
class CaLoraInferenceTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path adapter;
    static ModelConfig c;
    static List<LoraParameters> loras = new ArrayList<>();
    static List<RecoveryParameters> recs = new ArrayList<>();

    @BeforeAll
    static void setup() throws Exception {
        TinyModels.Spec spec = TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(16, 24, 2, 4, 2, 23).withSeed(21);
        model = TinyModels.write(dir.resolve("m"), spec);
        c = TinyModels.config(spec);
        TinyAdapters.Spec ls = TinyAdapters.spec(5).rank(2).alpha(3).stdB(0.3);
        for (int l = 0; l < 2; l++) {
            for (Projection p : List.of(Projection.Q_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ)) {
                ls.module(p.modulePath(l), p.inFeatures(c), p.outFeatures(c));
            }
        }
        for (LoraModule m : ls.modules()) {
            loras.add(LoraParameters.copyOf(m));
        }
        Random rnd = new Random(8);
        Map<String, RecoveryConfig.ModuleEntry> entries = new LinkedHashMap<>();
        for (int l = 0; l < 2; l++) {
            for (Projection p : Projection.values()) {
                int in = p.inFeatures(c);
                Tensor d = TinyAdapters.random(rnd, DType.F32, 1.5 / Math.sqrt(in), 3, in);
                Tensor u = TinyAdapters.random(rnd, DType.F32, 0.4, p.outFeatures(c), 3);
                recs.add(RecoveryParameters.of(p.modulePath(l), 0.75f, d, u));
                entries.put(p.modulePath(l), new RecoveryConfig.ModuleEntry(3, 0.75));
            }
        }
        RecoveryConfig rc = new RecoveryConfig(3, 0.75, List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                "down_proj"), model.toString(), entries);
        adapter = dir.resolve("adapted");
        java.nio.file.Files.createDirectories(adapter);
        new CaLoraParameters(loras, recs, ls.config(), rc).writeOutput(adapter, model, TrainConfig.builder().build());
    }

    /** Float64 logits [T, V] of one sequence with both branches times {@code userScale}. */
    static double[] referenceLogits(int[] seq, double userScale) {
        Map<String, double[]> w = new LinkedHashMap<>();
        for (NamedParameter p : FullParameters.load(model).parameters()) {
            double[] v = new double[p.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = p.value(i);
            }
            w.put(p.name(), v);
        }
        Map<String, Float64Llama.Branch> br = new LinkedHashMap<>();
        for (RecoveryParameters r : recs) {
            LoraParameters l = loras.stream().filter(x -> x.module().equals(r.module())).findFirst().orElse(null);
            br.put(r.module(), new Float64Llama.Branch(l == null ? null : CaLoraGradientTest.d(l.a()),
                    l == null ? null : CaLoraGradientTest.d(l.b()), l == null ? 0 : l.rank(),
                    l == null ? 0 : (double) (float) (userScale * l.scale()), CaLoraGradientTest.d(r.d()),
                    CaLoraGradientTest.d(r.u()), r.rank(), (double) (float) (userScale * 0.75)));
        }
        double[] h = Float64Llama.hidden(c, w, br, seq, 1, seq.length, Float64Llama.FINAL);
        return Float64Llama.linear(h, w.get(WeightLayout.LM_HEAD), null, seq.length, c.hiddenSize(), c.vocabSize());
    }

    @Test
    void inferenceWithLoraAndRecoveryEqualsTheHandComputationAndTheTrainingModel() {
        int[] seq = {3, 17, 5, 9, 22, 1, 14, 8, 11, 6, 19}; // 11 rows: the matmul path of every branch
        for (double scale : new double[] {1.0, 0.5}) {
            double[] ref = referenceLogits(seq, scale);
            for (boolean merge : new boolean[] {false, true}) {
                try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapter, scale)), merge)) {
                    float[] logits = m.logits(seq);
                    assertClose(ref, logits, 2e-5, "prefill, scale " + scale + (merge ? ", merged" : ""));
                    // decode path (matrix-vector branches): the last position after a prefill of the others
                    var cache = m.newCache(seq.length);
                    m.forward(new dev.lorakit.model.KvCache[] {cache}, new int[][] {java.util.Arrays.copyOf(seq, seq.length - 1)}, false);
                    float[] last = m.forward(new dev.lorakit.model.KvCache[] {cache}, new int[][] {{seq[seq.length - 1]}}, false);
                    double[] refLast = java.util.Arrays.copyOfRange(ref, (seq.length - 1) * c.vocabSize(), seq.length * c.vocabSize());
                    assertClose(refLast, last, 2e-5, "decode, scale " + scale + (merge ? ", merged" : ""));
                }
            }
        }
        // the training model: its loss is the cross-entropy of the inference logits
        int[] targets = new int[seq.length];
        for (int t = 0; t < seq.length; t++) {
            targets[t] = t + 1 < seq.length ? seq[t + 1] : CrossEntropy.IGNORE;
        }
        double[] ref = referenceLogits(seq, 1.0);
        double ce = 0;
        int V = c.vocabSize();
        for (int t = 0; t + 1 < seq.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < V; v++) {
                max = Math.max(max, ref[t * V + v]);
            }
            double s = 0;
            for (int v = 0; v < V; v++) {
                s += Math.exp(ref[t * V + v] - max);
            }
            ce += max + Math.log(s) - ref[t * V + targets[t]];
        }
        ce /= seq.length - 1;
        try (LlamaTrainingModel tm = LlamaTrainingModel.open(model, loras, recs)) {
            double loss = tm.forward(seq, targets, 1, seq.length, seq.length - 1, 0f, 0);
            assertEquals(ce, loss, 1e-5 * ce, "training loss vs the hand computation");
        }
        // and without its recovery branches the model is another one
        try (LlamaModel m = LlamaModel.open(model, List.of(new AdapterRef(adapter, 1.0)))) {
            float[] with = m.logits(seq);
            double[] without = referenceLogitsWithoutRecovery(seq);
            double diff = 0;
            for (int i = 0; i < with.length; i++) {
                diff = Math.max(diff, Math.abs(with[i] - without[i]));
            }
            assertTrue(diff > 1e-2, "the recovery branches change the logits (" + diff + ")");
        }
    }

    static double[] referenceLogitsWithoutRecovery(int[] seq) {
        Map<String, double[]> w = new LinkedHashMap<>();
        for (NamedParameter p : FullParameters.load(model).parameters()) {
            double[] v = new double[p.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = p.value(i);
            }
            w.put(p.name(), v);
        }
        Map<String, Float64Llama.Branch> br = new LinkedHashMap<>();
        for (LoraParameters l : loras) {
            br.put(l.module(), new Float64Llama.Branch(CaLoraGradientTest.d(l.a()), CaLoraGradientTest.d(l.b()), l.rank(),
                    l.scale(), null, null, 0, 0));
        }
        double[] h = Float64Llama.hidden(c, w, br, seq, 1, seq.length, Float64Llama.FINAL);
        return Float64Llama.linear(h, w.get(WeightLayout.LM_HEAD), null, seq.length, c.hiddenSize(), c.vocabSize());
    }

    @Test
    void exportRefusesRecoveryModules() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> MergedModelWriter.write(model, List.of(new AdapterRef(adapter, 1.0)), dir.resolve("merged"), null));
        assertTrue(e.getMessage().contains("recovery"), e.getMessage());
    }

    static void assertClose(double[] ref, float[] got, double tol, String what) {
        assertEquals(ref.length, got.length, what);
        double max = 0;
        double maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            max = Math.max(max, Math.abs(ref[i] - got[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        assertTrue(max <= tol * Math.max(1, maxRef), what + ": max abs error " + max + " (largest logit " + maxRef + ")");
    }
}
