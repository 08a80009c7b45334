package dev.lorakit.testing;

import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.PeftKeys;
import dev.lorakit.io.peft.TargetModules;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates small random PEFT LoRA adapters for tests, deterministic from a seed: choose the
 * modules (or a tiny Llama's), dtype, ranks, alpha, rsLoRA and patterns, then take the config
 * and modules in memory or write a PEFT directory. {@link #writeRaw} writes hand-made (corrupt)
 * directories.
 */
public final class TinyAdapters {
    /** The Llama attention and MLP projections, in checkpoint order. */
    public static final List<String> LLAMA_PROJECTIONS = List.of(
            "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    private TinyAdapters() {
    }

    /** An adapter spec with no modules yet. */
    public static Spec spec(long seed) {
        return new Spec(seed);
    }

    /**
     * A spec with every projection of a tiny Llama: per layer q [hidden -> hidden], k and v
     * [hidden -> kvDim], o [hidden -> hidden], gate and up [hidden -> intermediate],
     * down [intermediate -> hidden], named model.layers.N.self_attn.q_proj etc.
     */
    public static Spec llama(long seed, int layers, int hidden, int kvDim, int intermediate) {
        Spec s = new Spec(seed);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            s.module(p + "self_attn.q_proj", hidden, hidden);
            s.module(p + "self_attn.k_proj", hidden, kvDim);
            s.module(p + "self_attn.v_proj", hidden, kvDim);
            s.module(p + "self_attn.o_proj", hidden, hidden);
            s.module(p + "mlp.gate_proj", hidden, intermediate);
            s.module(p + "mlp.up_proj", hidden, intermediate);
            s.module(p + "mlp.down_proj", intermediate, hidden);
        }
        return s;
    }

    /** A heap tensor of N(0, std^2) values rounded to the dtype. */
    public static Tensor random(Random rng, DType dtype, double std, int... dims) {
        Tensor t = Tensor.zeros(dtype, dims);
        for (long i = 0; i < t.size(); i++) {
            t.setFloat(i, (float) (rng.nextGaussian() * std));
        }
        return t;
    }

    /**
     * Writes an adapter directory from raw parts: the config text as given and the tensors
     * under their keys, in order (safetensors metadata {"format": "pt"}).
     */
    public static Path writeRaw(Path dir, String configJson, Map<String, Tensor> tensors) throws IOException {
        AtomicFiles.writeDirectory(dir, tmp -> {
            if (configJson != null) {
                AtomicFiles.writeString(tmp.resolve(PeftKeys.CONFIG_FILE), configJson);
            }
            if (tensors != null) {
                SafetensorsWriter.write(tmp.resolve(PeftKeys.WEIGHTS_FILE), tensors,
                        Map.of(PeftKeys.FORMAT_KEY, PeftKeys.FORMAT_PT));
            }
        });
        return dir;
    }

    /** What to generate; every setter returns this. */
    public static final class Spec {
        private final long seed;
        private final Map<String, int[]> modules = new LinkedHashMap<>(); // name -> {in, out}
        private DType dtype = DType.F32;
        private int rank = 4;
        private double alpha = 8;
        private boolean rslora;
        private final Map<String, Integer> rankPattern = new LinkedHashMap<>();
        private final Map<String, Double> alphaPattern = new LinkedHashMap<>();
        private TargetModules targets;
        private String baseModel = "tiny-llama";
        private double stdB = 0.5;

        private Spec(long seed) {
            this.seed = seed;
        }

        /** Adds a module with in and out features. */
        public Spec module(String name, int in, int out) {
            modules.put(name, new int[] {in, out});
            return this;
        }

        public Spec dtype(DType v) { dtype = v; return this; }

        /** The default rank r. */
        public Spec rank(int v) { rank = v; return this; }

        /** The default lora_alpha. */
        public Spec alpha(double v) { alpha = v; return this; }

        public Spec rslora(boolean v) { rslora = v; return this; }

        /** Appends a rank_pattern entry (match order = call order). */
        public Spec rankPattern(String key, int r) { rankPattern.put(key, r); return this; }

        /** Appends an alpha_pattern entry (match order = call order). */
        public Spec alphaPattern(String key, double a) { alphaPattern.put(key, a); return this; }

        /** target_modules; default: the distinct last components of the module names. */
        public Spec targets(TargetModules v) { targets = v; return this; }

        public Spec baseModel(String v) { baseModel = v; return this; }

        /** Standard deviation of B's entries (A's is 1/sqrt(in)); 0 gives PEFT's freshly initialised B. */
        public Spec stdB(double v) { stdB = v; return this; }

        /** The config these settings describe. */
        public LoraConfig config() {
            return LoraConfig.builder().r(rank).loraAlpha(alpha).useRslora(rslora)
                    .rankPattern(rankPattern).alphaPattern(alphaPattern)
                    .targetModules(targets != null ? targets : TargetModules.suffixesOf(modules.keySet()))
                    .baseModelNameOrPath(baseModel).build();
        }

        /** Random heap modules, the same for the same spec and seed. */
        public List<LoraModule> modules() {
            LoraConfig config = config();
            Random rng = new Random(seed);
            List<LoraModule> out = new ArrayList<>();
            for (Map.Entry<String, int[]> e : modules.entrySet()) {
                String name = e.getKey();
                int in = e.getValue()[0];
                int outFeatures = e.getValue()[1];
                int r = config.rank(name);
                Tensor a = random(rng, dtype, 1 / Math.sqrt(in), r, in);
                Tensor b = random(rng, dtype, stdB, outFeatures, r);
                out.add(LoraModule.of(name, a, b, config));
            }
            return out;
        }

        /** Writes the adapter directory with {@link LoraAdapterWriter}; returns dir. */
        public Path write(Path dir) throws IOException {
            LoraAdapterWriter.write(dir, config(), modules());
            return dir;
        }
    }
}
