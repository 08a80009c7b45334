package dev.lorakit.adapt;

import dev.lorakit.compress.ChannelSlicing;
import dev.lorakit.compress.FfnPruning;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraConfig;
import dev.lorakit.io.peft.LoraModule;
import dev.lorakit.io.peft.TargetModules;
import dev.lorakit.io.recovery.RecoveryConfig;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.train.CaLoraParameters;
import dev.lorakit.train.LoraParameters;
import dev.lorakit.train.RecoveryParameters;
import dev.lorakit.train.TrainConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * The starting point of a CA-LoRA run: the task LoRA (knowledge inheritance or a fresh init) and
 * the recovery modules.
 *
 * <p>Inheritance: every module of the existing adapter is copied exactly (A, B converted to
 * float32; rank and scaling as its config gives them, rsLoRA and patterns included). When the
 * compressed model's FFN was structurally pruned, gate_proj and up_proj keep the lora_B rows of
 * the kept channels and down_proj keeps the lora_A columns ({@link ChannelSlicing}), so
 * {@code s B' A'} is exactly the kept rows/columns of the original {@code s B A}. A module the
 * compressed model no longer has would be dropped; FFN-channel pruning removes none.
 *
 * <p>Recovery modules go on the configured projections of every layer: rank = --recovery-rank,
 * else the module's LoRA rank, else the LoRA config's default r; scale = the module's LoRA
 * scaling, else the LoRA config's default scaling (lora_alpha / r, or / sqrt(r) with rsLoRA).
 * D is Kaiming-uniform, U = 0.
 */
public final class KnowledgeInheritance {
    /** Added to the run's seed for the recovery modules' generator (so they never change the LoRA init). */
    static final long RECOVERY_SEED_OFFSET = 0x5EC0_7E21L;

    private KnowledgeInheritance() {
    }

    /** The existing adapter's modules, unsliced, as (frozen) LoRAs for the teacher. */
    public static List<LoraParameters> teacherLoras(LoraAdapter adapter) {
        List<LoraParameters> out = new ArrayList<>();
        for (LoraModule m : adapter.modules()) {
            out.add(LoraParameters.copyOf(m));
        }
        return out;
    }

    /**
     * Exact copies of the existing adapter's modules for the student, sliced by the pruning
     * record; modules outside the student's layers are dropped.
     */
    public static List<LoraParameters> inherit(LoraAdapter adapter, ModelConfig student, Optional<FfnPruning> pruning) {
        List<LoraParameters> out = new ArrayList<>();
        for (LoraModule m : adapter.modules()) {
            ProjectionModule pm = ProjectionModule.parse(m.name()).orElseThrow(
                    () -> new IllegalArgumentException(m.name() + " is not a projection module"));
            if (pm.layer() >= student.numHiddenLayers()) {
                continue; // the compressed model has no such module
            }
            out.add(LoraParameters.copyOf(slice(m, pm, pruning)));
        }
        return out;
    }

    /** The module with the pruned FFN channels removed from its factors (itself if nothing was pruned there). */
    public static LoraModule slice(LoraModule m, ProjectionModule pm, Optional<FfnPruning> pruning) {
        if (pruning.isEmpty()) {
            return m;
        }
        int[] kept = pruning.get().keptChannels(pm.layer());
        Tensor a = m.a();
        Tensor b = m.b();
        switch (pm.projection()) {
            case GATE_PROJ, UP_PROJ -> b = ChannelSlicing.rows(b, kept);       // W lost rows: B loses them too
            case DOWN_PROJ -> a = ChannelSlicing.columns(a, kept);             // W lost columns: A loses them too
            default -> {
                return m;
            }
        }
        return new LoraModule(m.name(), a, b, m.alpha(), m.scaling(), m.fanInFanOut());
    }

    /**
     * Fresh PEFT-initialised LoRAs (A Kaiming-uniform, B = 0) on {@code modules}, with the ranks and
     * scalings {@code config} gives them; A drawn from one generator seeded with {@code seed},
     * module by module.
     */
    public static List<LoraParameters> fresh(List<String> modules, LoraConfig config, ModelConfig student, long seed) {
        Random rnd = new Random(seed);
        List<LoraParameters> out = new ArrayList<>();
        for (String name : modules) {
            ProjectionModule pm = ProjectionModule.parse(name).orElseThrow(
                    () -> new IllegalArgumentException(name + " is not a projection module"));
            if (pm.layer() >= student.numHiddenLayers()) {
                continue;
            }
            out.add(LoraParameters.init(student, pm.layer(), pm.projection(), config.rank(name), (float) config.scaling(name), rnd));
        }
        return out;
    }

    /** The adapter config of a fresh LoRA shaped by the training options (as {@code lorakit train} writes it). */
    public static LoraConfig configFromOptions(TrainConfig cfg, ModelConfig student, String baseModel) {
        List<String> names = optionModules(cfg, student);
        return LoraConfig.builder().r(cfg.rank()).loraAlpha(cfg.alpha()).useRslora(cfg.rslora())
                .loraDropout(cfg.loraDropout()).targetModules(TargetModules.suffixesOf(names))
                .baseModelNameOrPath(baseModel).build();
    }

    /** The modules --targets selects on every layer of the student. */
    public static List<String> optionModules(TrainConfig cfg, ModelConfig student) {
        List<String> names = new ArrayList<>();
        for (int layer = 0; layer < student.numHiddenLayers(); layer++) {
            for (Projection p : Projection.values()) {
                if (cfg.targets().contains(p.moduleName())) {
                    names.add(p.modulePath(layer));
                }
            }
        }
        return names;
    }

    /**
     * Builds every trainable tensor of a run: the LoRAs (given) and, with {@code ac.recovery()},
     * recovery modules on {@code ac.recoveryTargets()} of every layer of the student.
     *
     * @param loras      the task LoRAs (inherited or fresh)
     * @param loraConfig the config they are written with
     * @param seed       the run's seed
     */
    public static CaLoraParameters parameters(List<LoraParameters> loras, LoraConfig loraConfig, ModelConfig student,
                                              AdaptConfig ac, long seed, String baseModel) {
        if (!ac.recovery()) {
            return new CaLoraParameters(loras, List.of(), loraConfig, null);
        }
        Map<String, LoraParameters> byModule = new LinkedHashMap<>();
        loras.forEach(p -> byModule.put(p.module(), p));
        double defaultScaling = LoraConfig.scaling(loraConfig.loraAlpha(), loraConfig.r(), loraConfig.useRslora());
        int defaultRank = ac.recoveryRank() != null ? ac.recoveryRank() : loraConfig.r();
        Random rnd = new Random(seed + RECOVERY_SEED_OFFSET);
        List<RecoveryParameters> rec = new ArrayList<>();
        Map<String, RecoveryConfig.ModuleEntry> entries = new LinkedHashMap<>();
        for (int layer = 0; layer < student.numHiddenLayers(); layer++) {
            for (Projection p : Projection.values()) {
                if (!ac.recoveryTargets().contains(p.moduleName())) {
                    continue;
                }
                String name = p.modulePath(layer);
                LoraParameters lora = byModule.get(name);
                int rank = ac.recoveryRank() != null ? ac.recoveryRank() : lora != null ? lora.rank() : loraConfig.r();
                double scaling = lora != null ? loraConfig.scaling(name) : defaultScaling;
                rec.add(RecoveryParameters.init(student, layer, p, rank, (float) scaling, rnd));
                entries.put(name, new RecoveryConfig.ModuleEntry(rank, scaling));
            }
        }
        List<String> targets = AdaptConfig.ALL_PROJECTIONS.stream().filter(ac.recoveryTargets()::contains).toList();
        RecoveryConfig rc = new RecoveryConfig(defaultRank, defaultScaling, targets, baseModel, entries);
        return new CaLoraParameters(loras, rec, loraConfig, rc);
    }
}
