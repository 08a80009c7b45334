package dev.lorakit.adapt;

import dev.lorakit.BadInputException;
import dev.lorakit.compress.FfnPruning;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import dev.lorakit.io.peft.LoraAdapter;
import dev.lorakit.io.peft.LoraModule;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The two models of a CA-LoRA run, checked to belong together: the uncompressed teacher and the
 * compressed student must share architecture, hidden size, layers, heads, head dim, vocabulary,
 * embedding tying, RoPE and norm settings; the FFN size may differ only when the student
 * carries a structured-pruning record ({@value FfnPruning#FILE_NAME}) going from the teacher's
 * size to its own. Both directories' weights are validated.
 *
 * @param teacherDir the uncompressed model
 * @param studentDir the compressed model
 * @param teacher    the teacher's config
 * @param student    the student's config
 * @param pruning    the student's FFN-channel pruning record, if any
 */
public record ModelPair(Path teacherDir, Path studentDir, ModelConfig teacher, ModelConfig student,
                        Optional<FfnPruning> pruning) {
    public ModelPair {
        Objects.requireNonNull(pruning, "pruning");
    }

    /**
     * Opens both directories (configs and weight headers), checks them, and closes them again.
     *
     * @throws BadInputException one line naming the directory and the field that disagrees
     */
    public static ModelPair check(Path teacherDir, Path studentDir) {
        ModelConfig t;
        ModelConfig s;
        try (HfModelDirectory td = HfModelDirectory.open(teacherDir)) {
            td.validateWeights();
            t = td.config();
        }
        try (HfModelDirectory sd = HfModelDirectory.open(studentDir)) {
            sd.validateWeights();
            s = sd.config();
        }
        String where = studentDir.resolve(ModelConfig.FILE_NAME) + ": ";
        String vs = " (the teacher " + teacherDir + " has ";
        same(where, "architectures", s.architecture(), t.architecture(), vs);
        same(where, "hidden_size", s.hiddenSize(), t.hiddenSize(), vs);
        same(where, "num_hidden_layers", s.numHiddenLayers(), t.numHiddenLayers(), vs);
        same(where, "num_attention_heads", s.numAttentionHeads(), t.numAttentionHeads(), vs);
        same(where, "num_key_value_heads", s.numKeyValueHeads(), t.numKeyValueHeads(), vs);
        same(where, "head_dim", s.headDim(), t.headDim(), vs);
        same(where, "vocab_size", s.vocabSize(), t.vocabSize(), vs);
        same(where, "tie_word_embeddings", s.tieWordEmbeddings(), t.tieWordEmbeddings(), vs);
        same(where, "rope_theta", s.ropeTheta(), t.ropeTheta(), vs);
        same(where, "rope_scaling", s.ropeScaling(), t.ropeScaling(), vs);
        same(where, "rms_norm_eps", s.rmsNormEps(), t.rmsNormEps(), vs);
        same(where, "attention_bias", s.attentionBias(), t.attentionBias(), vs);
        Optional<FfnPruning> pruning = FfnPruning.read(studentDir);
        if (pruning.isEmpty()) {
            same(where, "intermediate_size", s.intermediateSize(), t.intermediateSize(),
                    " without a structured-pruning record " + FfnPruning.FILE_NAME + vs);
        } else {
            FfnPruning p = pruning.get();
            String file = studentDir.resolve(FfnPruning.FILE_NAME) + ": ";
            if (p.originalSize() != t.intermediateSize()) {
                throw new BadInputException(file + "original_intermediate_size is " + p.originalSize() + " but the teacher "
                        + teacherDir + " has intermediate_size " + t.intermediateSize() + " (pruned from another model?)");
            }
            if (p.keptSize() != s.intermediateSize()) {
                throw new BadInputException(file + "intermediate_size is " + p.keptSize() + " but " + where
                        + "intermediate_size is " + s.intermediateSize());
            }
            if (p.layers() != s.numHiddenLayers()) {
                throw new BadInputException(file + "kept_channels covers " + p.layers() + " layers, the model has "
                        + s.numHiddenLayers());
            }
        }
        return new ModelPair(teacherDir, studentDir, t, s, pruning);
    }

    private static void same(String where, String field, Object student, Object teacher, String vs) {
        if (!Objects.equals(student, teacher)) {
            throw new BadInputException(where + "field \"" + field + "\" is " + student + vs + teacher
                    + "); the compressed model must be compressed from the teacher");
        }
    }

    /**
     * Checks that every module of an existing adapter is a projection of the teacher with the
     * teacher's shape (the adapter was trained on the uncompressed model).
     *
     * @throws BadInputException naming the adapter, module and shapes
     */
    public void checkAdapter(LoraAdapter adapter) {
        for (LoraModule m : adapter.modules()) {
            Optional<ProjectionModule> pm = ProjectionModule.parse(m.name());
            if (pm.isEmpty() || pm.get().layer() >= teacher.numHiddenLayers()) {
                throw new BadInputException(adapter.directory() + ": module " + m.name() + " is not a projection of the teacher "
                        + teacherDir + " (expected model.layers.N.{self_attn.q,k,v,o,mlp.gate,up,down}_proj with N < "
                        + teacher.numHiddenLayers() + ")");
            }
            Projection p = pm.get().projection();
            if (m.inFeatures() != p.inFeatures(teacher) || m.outFeatures() != p.outFeatures(teacher)) {
                throw new BadInputException(adapter.directory() + ": module " + m.name() + " has LoRA shape " + m.inFeatures()
                        + " -> " + m.outFeatures() + " but the teacher " + teacherDir + " has " + p.inFeatures(teacher) + " -> "
                        + p.outFeatures(teacher) + " (adapter trained for another base model?)");
            }
        }
    }

    /** The module names of the student's projections, every layer, in layer then projection order. */
    public List<String> studentModules() {
        List<String> out = new ArrayList<>();
        for (int l = 0; l < student.numHiddenLayers(); l++) {
            for (Projection p : Projection.values()) {
                out.add(p.modulePath(l));
            }
        }
        return out;
    }
}
