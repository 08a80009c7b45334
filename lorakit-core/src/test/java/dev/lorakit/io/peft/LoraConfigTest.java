package dev.lorakit.io.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LoraConfigTest {
    private static final String Q0 = "model.layers.0.self_attn.q_proj";
    private static final String Q1 = "model.layers.1.self_attn.q_proj";
    private static final String Q10 = "model.layers.10.self_attn.q_proj";
    private static final String K0 = "model.layers.0.self_attn.k_proj";
    private static final String O0 = "model.layers.0.self_attn.o_proj";
    private static final String DOWN_O0 = "model.layers.0.mlp.down_o_proj";

    private static LoraConfig parse(String json) {
        return LoraConfig.parse(json, "dir/adapter_config.json");
    }

    private static BadInputException refused(String json) {
        return assertThrows(BadInputException.class, () -> parse(json));
    }

    @Test
    void missingFieldsTakePeftDefaults() {
        LoraConfig c = parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q_proj\"]}");
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(0.0, c.loraDropout());
        assertFalse(c.useRslora());
        assertFalse(c.fanInFanOut());
        assertEquals("true", c.initLoraWeights());
        assertNull(c.taskType());
        assertNull(c.baseModelNameOrPath());
        assertEquals(Map.of(), c.rankPattern());
        assertEquals(List.of(), c.layersToTransform());
        assertEquals(1.0, c.scaling(Q0));
    }

    @Test
    void unknownKeysAreIgnored() {
        LoraConfig c = parse("{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 16, \"target_modules\": [\"q_proj\"],"
                + " \"some_future_option\": {\"x\": 1}, \"megatron_core\": \"megatron.core\", \"loftq_config\": {}}");
        assertEquals(4, c.r());
        assertEquals(4.0, c.scaling(Q0));
    }

    @Test
    void readsAConfigAsPeft019WritesIt() {
        String json = """
                {
                  "alora_invocation_tokens": null, "alpha_pattern": {}, "arrow_config": null, "auto_mapping": null,
                  "base_model_name_or_path": "Qwen/Qwen2.5-3B-Instruct", "bias": "none", "corda_config": null,
                  "ensure_weight_tying": false, "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false,
                  "inference_mode": true, "init_lora_weights": true, "layer_replication": null, "layers_pattern": null,
                  "layers_to_transform": null, "loftq_config": {}, "lora_alpha": 16, "lora_bias": false,
                  "lora_dropout": 0.05, "lora_ga_config": null, "megatron_config": null, "megatron_core": "megatron.core",
                  "modules_to_save": null, "peft_type": "LORA", "peft_version": "0.19.1", "qalora_group_size": 16,
                  "r": 16, "rank_pattern": {}, "revision": null,
                  "target_modules": ["q_proj", "down_proj", "o_proj", "gate_proj", "v_proj", "k_proj", "up_proj"],
                  "target_parameters": null, "task_type": "CAUSAL_LM", "trainable_token_indices": null,
                  "use_bdlora": null, "use_dora": false, "use_qalora": false, "use_rslora": false
                }""";
        LoraConfig c = parse(json);
        assertEquals(16, c.r());
        assertEquals(16.0, c.loraAlpha());
        assertEquals(0.05, c.loraDropout());
        assertEquals("CAUSAL_LM", c.taskType());
        assertEquals("Qwen/Qwen2.5-3B-Instruct", c.baseModelNameOrPath());
        assertEquals("0.19.1", c.peftVersion());
        assertTrue(c.inferenceMode());
        assertTrue(c.targets(Q0));
        assertTrue(c.targets("model.layers.3.mlp.down_proj"));
        assertFalse(c.targets("lm_head"));
        assertEquals(1.0, c.scaling(Q0));
    }

    // ---- scaling -------------------------------------------------------------------------

    @Test
    void scalingIsAlphaOverRank() {
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(32).targetModules("q_proj").build();
        assertEquals(2.0, c.scaling(Q0));
    }

    @Test
    void rsloraScalingIsAlphaOverSqrtRank() {
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(32).useRslora(true).targetModules("q_proj").build();
        assertEquals(8.0, c.scaling(Q0));
        LoraConfig odd = LoraConfig.builder().r(8).loraAlpha(16).useRslora(true).targetModules("q_proj").build();
        assertEquals(16 / Math.sqrt(8), odd.scaling(Q0));
    }

    @Test
    void rsloraUsesThePatternRankAndAlpha() {
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(32).useRslora(true).targetModules("q_proj", "k_proj")
                .rankPattern(Map.of("k_proj", 4)).alphaPattern(Map.of("k_proj", 6.0)).build();
        assertEquals(8.0, c.scaling(Q0));
        assertEquals(3.0, c.scaling(K0));
    }

    // ---- rank_pattern / alpha_pattern matching (PEFT: re.match(rf"(.*\.)?({key})$", name)) -

    @Test
    void suffixKeyOverridesEveryMatchingModuleAndNothingElse() {
        LoraConfig c = LoraConfig.builder().r(8).loraAlpha(16).targetModules("q_proj", "k_proj")
                .rankPattern(Map.of("q_proj", 4)).alphaPattern(Map.of("k_proj", 2.0)).build();
        assertEquals(4, c.rank(Q0));
        assertEquals(4, c.rank(Q10));
        assertEquals(8, c.rank(K0));
        assertEquals(16.0, c.alpha(Q0));
        assertEquals(2.0, c.alpha(K0));
        assertEquals(16.0 / 4, c.scaling(Q0));
        assertEquals(2.0 / 8, c.scaling(K0));
    }

    @Test
    void keyMatchesOnlyAtADotBoundary() {
        LoraConfig c = LoraConfig.builder().r(8).targetModules("o_proj", "down_o_proj")
                .rankPattern(Map.of("o_proj", 2)).build();
        assertEquals(2, c.rank(O0));
        assertEquals(8, c.rank(DOWN_O0), "\"o_proj\" must not match \"down_o_proj\"");
        assertEquals(8, c.rank("model.layers.0.self_attn.o_proj_extra"), "the key must end the name");
        assertEquals(2, c.rank("o_proj"), "the whole name may be the key");
    }

    @Test
    void regexKeyMatchesOneLayerOnly() {
        LoraConfig c = LoraConfig.builder().r(8).targetModules("q_proj")
                .rankPattern(Map.of("layers\\.0\\.self_attn\\.q_proj", 2)).build();
        assertEquals(2, c.rank(Q0));
        assertEquals(8, c.rank(Q1));
        assertEquals(8, c.rank(Q10), "layers.0 must not match layers.10");
        assertEquals(8, c.rank("model.xlayers.0.self_attn.q_proj"));
    }

    @Test
    void regexKeyWithAlternationAndClass() {
        LoraConfig c = LoraConfig.builder().r(8).targetModules("q_proj", "k_proj", "o_proj")
                .rankPattern(Map.of("layers\\.[01]\\.self_attn\\.(q|k)_proj", 2)).build();
        assertEquals(2, c.rank(Q0));
        assertEquals(2, c.rank(K0));
        assertEquals(2, c.rank(Q1));
        assertEquals(8, c.rank(O0));
        assertEquals(8, c.rank(Q10));
    }

    @Test
    void caretKeyMatchesOnlyFromTheStartOfTheName() {
        LoraConfig c = LoraConfig.builder().r(8).targetModules("q_proj")
                .rankPattern(Map.of("^model.layers.0.self_attn.q_proj", 2)).build();
        assertEquals(2, c.rank(Q0));
        assertEquals(8, c.rank("decoder." + Q0));
    }

    @Test
    void firstMatchingKeyWinsInMapOrder() {
        Map<String, Integer> suffixFirst = new java.util.LinkedHashMap<>();
        suffixFirst.put("q_proj", 4);
        suffixFirst.put("layers\\.0\\.self_attn\\.q_proj", 2);
        Map<String, Integer> regexFirst = new java.util.LinkedHashMap<>();
        regexFirst.put("layers\\.0\\.self_attn\\.q_proj", 2);
        regexFirst.put("q_proj", 4);
        LoraConfig a = LoraConfig.builder().targetModules("q_proj").rankPattern(suffixFirst).build();
        LoraConfig b = LoraConfig.builder().targetModules("q_proj").rankPattern(regexFirst).build();
        assertEquals(4, a.rank(Q0));
        assertEquals(2, b.rank(Q0));
        assertEquals(4, b.rank(Q1));
        assertEquals("q_proj", a.rankPatternKey(Q0).orElseThrow());
    }

    @Test
    void patternOrderIsTheFileOrder() {
        LoraConfig c = parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q_proj\"],"
                + " \"rank_pattern\": {\"layers\\\\.0\\\\.self_attn\\\\.q_proj\": 2, \"q_proj\": 4}}");
        assertEquals(List.of("layers\\.0\\.self_attn\\.q_proj", "q_proj"), List.copyOf(c.rankPattern().keySet()));
        assertEquals(2, c.rank(Q0));
        assertEquals(4, c.rank(Q1));
    }

    @Test
    void pythonNamedGroupsAreUnderstood() {
        LoraConfig c = LoraConfig.builder().targetModules("q_proj")
                .rankPattern(Map.of("(?P<proj>q)_proj", 2)).build();
        assertEquals(2, c.rank(Q0));
    }

    // ---- target_modules -----------------------------------------------------------------

    @Test
    void listTargetsMatchExactNamesAndDottedSuffixes() {
        LoraConfig c = LoraConfig.builder().targetModules("q_proj", "mlp.down_proj").build();
        assertTrue(c.targets(Q0));
        assertTrue(c.targets("q_proj"));
        assertTrue(c.targets("model.layers.5.mlp.down_proj"));
        assertFalse(c.targets(K0));
        assertFalse(c.targets("model.layers.0.self_attn.xq_proj"));
        assertFalse(c.targets("model.layers.0.self_attn.q_proj.base_layer"));
        assertFalse(c.targets("model.layers.0.other_mlp.down_proj"));
    }

    @Test
    void regexTargetsMustMatchTheWholeName() {
        LoraConfig c = parse("{\"peft_type\": \"LORA\","
                + " \"target_modules\": \"model\\\\.layers\\\\.\\\\d+\\\\.self_attn\\\\.(q|v)_proj\"}");
        assertTrue(c.targetModules() instanceof TargetModules.Regex);
        assertTrue(c.targets(Q0));
        assertTrue(c.targets("model.layers.7.self_attn.v_proj"));
        assertFalse(c.targets(K0));
        assertFalse(c.targets("base." + Q0), "fullmatch: no prefix allowed");
        LoraConfig bare = parse("{\"peft_type\": \"LORA\", \"target_modules\": \"q_proj\"}");
        assertFalse(bare.targets(Q0), "a string is a regex, not a suffix");
        assertTrue(bare.targets("q_proj"));
    }

    @ParameterizedTest
    @CsvSource({"all-linear", "ALL-LINEAR", "All-Linear"})
    void allLinearSelectsEverythingButTheHead(String value) {
        LoraConfig c = parse("{\"peft_type\": \"LORA\", \"target_modules\": \"" + value + "\"}");
        assertTrue(c.targetModules() instanceof TargetModules.AllLinear);
        assertTrue(c.targets(Q0));
        assertTrue(c.targets("model.layers.3.mlp.gate_proj"));
        assertFalse(c.targets("lm_head"));
        assertTrue(c.toJson().contains("\"target_modules\": \"all-linear\""));
    }

    @Test
    void excludeModulesWins() {
        LoraConfig list = LoraConfig.builder().targetModules("q_proj", "k_proj")
                .excludeModules(new TargetModules.Names(List.of("layers.0.self_attn.q_proj"))).build();
        assertFalse(list.targets(Q0));
        assertTrue(list.targets(Q1));
        assertTrue(list.targets(K0));
        LoraConfig regex = LoraConfig.builder().targetModules(new TargetModules.AllLinear())
                .excludeModules(new TargetModules.Regex(".*\\.mlp\\..*")).build();
        assertTrue(regex.targets(Q0));
        assertFalse(regex.targets("model.layers.0.mlp.up_proj"));
    }

    @Test
    void layersToTransformSelectsLayersOfSuffixMatches() {
        LoraConfig c = parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q_proj\", \"" + Q1 + "\"],"
                + " \"layers_to_transform\": [0, 2], \"layers_pattern\": \"layers\"}");
        assertTrue(c.targets(Q0));
        assertTrue(c.targets("model.layers.2.self_attn.q_proj"));
        assertFalse(c.targets("model.layers.3.self_attn.q_proj"));
        assertTrue(c.targets(Q1), "an exact name in target_modules bypasses layers_to_transform, as in PEFT");
        assertFalse(c.targets(K0));
        LoraConfig single = parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q_proj\"], \"layers_to_transform\": 1}");
        assertTrue(single.targets(Q1));
        assertFalse(single.targets(Q0));
        assertFalse(single.targets("encoder.q_proj"), "no layer index in the name: not selected");
        assertTrue(single.targets("q_proj"), "the bare entry is an exact match, which skips the layer check");
        LoraConfig otherPattern = parse("{\"peft_type\": \"LORA\", \"target_modules\": [\"q_proj\"],"
                + " \"layers_to_transform\": [0], \"layers_pattern\": [\"h\"]}");
        assertFalse(otherPattern.targets(Q0), "the name has no .h.N. part");
        assertTrue(otherPattern.targets("transformer.h.0.attn.q_proj"));
    }

    // ---- refusals and field errors --------------------------------------------------------

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "\"peft_type\": \"ADALORA\"                              | peft_type",
        "\"peft_type\": \"LORA\", \"bias\": \"all\"              | bias",
        "\"peft_type\": \"LORA\", \"bias\": \"lora_only\"        | bias",
        "\"peft_type\": \"LORA\", \"use_dora\": true             | use_dora",
        "\"peft_type\": \"LORA\", \"lora_bias\": true            | lora_bias",
        "\"peft_type\": \"LORA\", \"modules_to_save\": [\"lm_head\"] | modules_to_save",
        "\"peft_type\": \"LORA\", \"target_parameters\": [\"experts.gate_up_proj\"] | target_parameters",
        "\"peft_type\": \"LORA\", \"use_qalora\": true           | use_qalora",
        "\"peft_type\": \"LORA\", \"layer_replication\": [[0, 2]] | layer_replication",
        "\"peft_type\": \"LORA\", \"trainable_token_indices\": [1, 2] | trainable_token_indices",
        "\"peft_type\": \"LORA\", \"alora_invocation_tokens\": [5] | alora_invocation_tokens",
        "\"peft_type\": \"LORA\", \"use_some_new_variant\": true | use_some_new_variant",
        "\"peft_type\": \"LORA\", \"init_lora_weights\": \"pissa_niter_4\" | init_lora_weights",
        "\"peft_type\": \"LORA\", \"init_lora_weights\": \"olora\" | init_lora_weights",
        "\"peft_type\": \"LORA\", \"init_lora_weights\": \"loftq\" | init_lora_weights",
        "\"peft_type\": \"LORA\", \"init_lora_weights\": \"mystery\" | init_lora_weights",
        "\"peft_type\": \"LORA\", \"r\": -3                      | r",
        "\"peft_type\": \"LORA\", \"r\": 8.0                     | r",
        "\"peft_type\": \"LORA\", \"r\": \"8\"                   | r",
        "\"peft_type\": \"LORA\", \"lora_alpha\": \"16\"         | lora_alpha",
        "\"peft_type\": \"LORA\", \"lora_dropout\": 1.5          | lora_dropout",
        "\"peft_type\": \"LORA\", \"use_rslora\": \"yes\"        | use_rslora",
        "\"peft_type\": \"LORA\", \"rank_pattern\": {\"q_proj\": 0} | rank_pattern",
        "\"peft_type\": \"LORA\", \"rank_pattern\": {\"q_(proj\": 4} | rank_pattern",
        "\"peft_type\": \"LORA\", \"alpha_pattern\": [1]         | alpha_pattern",
        "\"peft_type\": \"LORA\", \"target_modules\": null, \"r\": 4 | target_modules",
        "\"peft_type\": \"LORA\", \"target_modules\": 3          | target_modules",
        "\"peft_type\": \"LORA\", \"target_modules\": \"q_(proj\" | target_modules",
        "\"peft_type\": \"LORA\", \"target_modules\": \"q_proj\", \"layers_to_transform\": [0] | layers_to_transform",
        "\"peft_type\": \"LORA\", \"layers_pattern\": \"layers\" | layers_pattern",
        "\"peft_type\": \"LORA\", \"layers_to_transform\": [-1]  | layers_to_transform",
    })
    void refusesWithTheFileAndField(String fields, String field) {
        String json = "{" + fields + (fields.contains("target_modules") ? "" : ", \"target_modules\": [\"q_proj\"]") + "}";
        BadInputException e = refused(json);
        assertTrue(e.getMessage().startsWith("dir/adapter_config.json: "), e.getMessage());
        assertTrue(e.getMessage().contains("\"" + field + "\""), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void peftTypeErrorNamesTheValue() {
        BadInputException e = refused("{\"peft_type\": \"IA3\", \"target_modules\": [\"q_proj\"]}");
        assertTrue(e.getMessage().contains("\"IA3\""), e.getMessage());
        assertTrue(refused("{\"target_modules\": [\"q_proj\"]}").getMessage().contains("\"peft_type\" is missing"));
    }

    @Test
    void refusesMalformedJson() {
        assertTrue(refused("{\"peft_type\": ").getMessage().startsWith("dir/adapter_config.json: not valid JSON"));
        assertTrue(refused("[1]").getMessage().contains("must be a JSON object"));
        assertTrue(refused("{\"peft_type\": \"LORA\", \"peft_type\": \"LORA\", \"target_modules\": [\"q\"]}")
                .getMessage().contains("not valid JSON"));
    }

    @Test
    void readNamesAMissingFile(@TempDir Path dir) {
        BadInputException e = assertThrows(BadInputException.class, () -> LoraConfig.read(dir.resolve("adapter_config.json")));
        assertTrue(e.getMessage().contains("adapter_config.json: no such file"), e.getMessage());
    }

    @Test
    void readsFromAFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("adapter_config.json");
        Files.writeString(f, "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 3.5, \"target_modules\": [\"q_proj\"]}");
        assertEquals(1.75, LoraConfig.read(f).scaling(Q0));
    }

    // ---- JSON round trip and the merged convenience ----------------------------------------

    @Test
    void jsonRoundTripKeepsEveryField() {
        Map<String, Integer> ranks = new java.util.LinkedHashMap<>();
        ranks.put("layers\\.0\\.self_attn\\.q_proj", 2);
        ranks.put("k_proj", 6);
        Map<String, Double> alphas = new java.util.LinkedHashMap<>();
        alphas.put("v_proj", 3.5);
        alphas.put("q_proj", 12.0);
        LoraConfig c = LoraConfig.builder().r(16).loraAlpha(24).useRslora(true).rankPattern(ranks).alphaPattern(alphas)
                .targetModules("q_proj", "k_proj", "v_proj").excludeModules(new TargetModules.Regex(".*\\.layers\\.9\\..*"))
                .layersToTransform(List.of(0, 1, 2)).layersPattern(List.of("layers")).fanInFanOut(true)
                .loraDropout(0.05).initLoraWeights("gaussian").taskType("CAUSAL_LM").baseModelNameOrPath("org/model \u00e9")
                .revision("main").inferenceMode(false).peftVersion("0.19.1").build();
        LoraConfig back = parse(c.toJson());
        assertEquals(c, back);
        assertEquals(List.copyOf(ranks.keySet()), List.copyOf(back.rankPattern().keySet()));
        assertEquals(List.copyOf(alphas.keySet()), List.copyOf(back.alphaPattern().keySet()));
    }

    @Test
    void mergedConfigHasScalingOneAndSuffixTargets() {
        LoraConfig m = LoraConfig.forMerged(12, List.of(Q0, K0, "model.layers.1.mlp.down_proj"), "base/model");
        assertEquals(12, m.r());
        assertEquals(12.0, m.loraAlpha());
        assertFalse(m.useRslora());
        assertEquals(Map.of(), m.rankPattern());
        assertEquals(Map.of(), m.alphaPattern());
        assertEquals(new TargetModules.Names(List.of("down_proj", "k_proj", "q_proj")), m.targetModules());
        assertEquals(1.0, m.scaling(Q0));
        assertEquals("base/model", m.baseModelNameOrPath());
        assertTrue(m.targets(Q0) && m.targets(K0) && m.targets("model.layers.1.mlp.down_proj"));
    }
}
