package dev.lorakit.io.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Module names of the seven projections and their parsing. */
class ProjectionModuleTest {
    @Test
    void namesAndPaths() {
        assertEquals("model.layers.3.self_attn.q_proj", Projection.Q_PROJ.modulePath(3));
        assertEquals("model.layers.0.mlp.down_proj.weight", Projection.DOWN_PROJ.weightName(0));
        assertEquals("model.layers.12.self_attn.v_proj.bias", Projection.V_PROJ.biasName(12));
        assertEquals("mlp", Projection.GATE_PROJ.parentName());
        assertEquals("self_attn", Projection.O_PROJ.parentName());
        assertEquals(7, Projection.values().length);
    }

    @ParameterizedTest
    @EnumSource(Projection.class)
    void everyProjectionRoundTripsThroughItsPath(Projection p) {
        for (int layer : new int[] {0, 7, 31, 123}) {
            ProjectionModule m = new ProjectionModule(layer, p);
            assertEquals(Optional.of(m), ProjectionModule.parse(m.path()));
            assertEquals(Optional.of(m), ProjectionModule.parse("base_model.model." + m.path()), "PEFT prefix");
            assertEquals(Optional.of(m), ProjectionModule.parse(m.path().substring("model.".length())), "no prefix");
            assertEquals(p.weightName(layer), m.weightName());
            assertEquals(Optional.of(p), Projection.fromModuleName(p.moduleName()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "model.layers.3.mlp.q_proj",              // wrong parent
            "model.layers.3.self_attn.gate_proj",     // wrong parent
            "model.layers.3.self_attn.q_proj.weight", // a tensor, not a module
            "model.layers.3.self_attn.qkv_proj",
            "model.layers.x.self_attn.q_proj",
            "model.layers.03.self_attn.q_proj",       // not how HF numbers layers
            "model.layers.-1.self_attn.q_proj",
            "model.layers.3.self_attn",
            "model.embed_tokens",
            "lm_head",
            "model.mylayers.3.self_attn.q_proj",
            ""})
    void nonModulesAreEmpty(String name) {
        assertTrue(ProjectionModule.parse(name).isEmpty(), name);
    }

    @Test
    void featuresFollowTheConfig() {
        ModelConfig c = ModelConfigTest.parse(ModelConfigTest.LLAMA31_8B);
        assertEquals(4096, Projection.Q_PROJ.outFeatures(c));
        assertEquals(1024, Projection.K_PROJ.outFeatures(c));
        assertEquals(4096, Projection.K_PROJ.inFeatures(c));
        assertEquals(4096, Projection.O_PROJ.inFeatures(c));
        assertEquals(14336, Projection.UP_PROJ.outFeatures(c));
        assertEquals(14336, Projection.DOWN_PROJ.inFeatures(c));
        assertEquals(4096, Projection.DOWN_PROJ.outFeatures(c));
    }
}
