package dev.lorakit.io.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsFile;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraAdapterWriterTest {
    /** The keys of an adapter_config.json written by PEFT 0.19.1 (sorted, as save_pretrained writes them). */
    private static final List<String> PEFT_0_19_1_KEYS = List.of(
            "alora_invocation_tokens", "alpha_pattern", "arrow_config", "auto_mapping", "base_model_name_or_path",
            "bias", "corda_config", "ensure_weight_tying", "eva_config", "exclude_modules", "fan_in_fan_out",
            "inference_mode", "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform",
            "loftq_config", "lora_alpha", "lora_bias", "lora_dropout", "lora_ga_config", "megatron_config",
            "megatron_core", "modules_to_save", "peft_type", "peft_version", "qalora_group_size", "r",
            "rank_pattern", "revision", "target_modules", "target_parameters", "task_type",
            "trainable_token_indices", "use_bdlora", "use_dora", "use_qalora", "use_rslora");

    @TempDir
    Path tmp;

    @Test
    void writesPeftsConfigKeysAndTensorNames() throws Exception {
        TinyAdapters.Spec spec = TinyAdapters.llama(9, 1, 8, 4, 12).rank(2).alpha(16).dtype(DType.BF16);
        Path dir = spec.write(tmp.resolve("out"));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors"),
                    files.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
        }
        String text = Files.readString(dir.resolve("adapter_config.json"));
        JsonNode json = new ObjectMapper().readTree(text);
        List<String> keys = new ArrayList<>();
        json.fieldNames().forEachRemaining(keys::add);
        assertEquals(PEFT_0_19_1_KEYS, keys, "exactly PEFT's keys, sorted");
        assertEquals("LORA", json.get("peft_type").asText());
        assertEquals("CAUSAL_LM", json.get("task_type").asText());
        assertEquals(2, json.get("r").intValue());
        assertTrue(json.get("r").isIntegralNumber());
        assertEquals(16, json.get("lora_alpha").intValue());
        assertTrue(json.get("lora_alpha").isIntegralNumber(), "integral alpha written as an int, as PEFT does");
        assertEquals("none", json.get("bias").asText());
        assertFalse(json.get("use_dora").booleanValue());
        assertFalse(json.get("lora_bias").booleanValue());
        assertTrue(json.get("init_lora_weights").booleanValue());
        assertTrue(json.get("inference_mode").booleanValue());
        assertTrue(json.get("modules_to_save").isNull());
        assertEquals("megatron.core", json.get("megatron_core").asText());
        assertEquals(16, json.get("qalora_group_size").intValue());
        assertTrue(json.get("loftq_config").isObject() && json.get("loftq_config").isEmpty());
        assertEquals("tiny-llama", json.get("base_model_name_or_path").asText());
        List<String> targets = new ArrayList<>();
        json.get("target_modules").forEach(n -> targets.add(n.asText()));
        assertEquals(List.of("down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"), targets);
        assertTrue(text.startsWith("{\n  \"alora_invocation_tokens\": null,\n  \"alpha_pattern\": {},\n"), text);
        assertTrue(text.contains("\"target_modules\": [\n    \"down_proj\",\n"), text);
        assertTrue(text.endsWith("\"use_rslora\": false\n}"), text);

        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            List<String> expected = new ArrayList<>();
            for (String p : TinyAdapters.LLAMA_PROJECTIONS) {
                expected.add("base_model.model.model.layers.0." + p + ".lora_A.weight");
                expected.add("base_model.model.model.layers.0." + p + ".lora_B.weight");
            }
            assertEquals(expected, List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertEquals(DType.BF16, st.info(expected.get(0)).dtype());
            assertEquals(List.of(2, 8), List.of(st.info(expected.get(0)).shape().dim(0), st.info(expected.get(0)).shape().dim(1)));
            assertEquals(List.of(8, 2), List.of(st.info(expected.get(1)).shape().dim(0), st.info(expected.get(1)).shape().dim(1)));
        }
    }

    @Test
    void writesPatternsInMatchOrderAndFloatAlphas() throws Exception {
        TinyAdapters.Spec spec = TinyAdapters.spec(1).module("model.layers.0.self_attn.q_proj", 4, 4)
                .module("model.layers.1.self_attn.q_proj", 4, 4).rank(2).alpha(2.5)
                .rankPattern("q_proj", 3).rankPattern("layers\\.0\\.self_attn\\.q_proj", 1).alphaPattern("q_proj", 7);
        Path dir = spec.write(tmp.resolve("p"));
        String text = Files.readString(dir.resolve("adapter_config.json"));
        assertTrue(text.contains("\"rank_pattern\": {\n    \"q_proj\": 3,\n    \"layers\\\\.0\\\\.self_attn\\\\.q_proj\": 1\n  }"), text);
        assertTrue(text.contains("\"lora_alpha\": 2.5"), text);
        try (LoraAdapter a = LoraAdapter.open(dir)) {
            assertEquals(3, a.module("model.layers.0.self_attn.q_proj").rank(), "first matching key wins: q_proj");
            assertEquals(7.0 / 3, a.module("model.layers.1.self_attn.q_proj").scaling());
        }
    }

    @Test
    void refusesToWriteOverAnInput() throws Exception {
        Path input = TinyAdapters.llama(5, 1, 8, 4, 8).write(tmp.resolve("in"));
        try (LoraAdapter adapter = LoraAdapter.open(input)) {
            BadInputException same = assertThrows(BadInputException.class, () -> LoraAdapterWriter.write(input,
                    adapter.config(), adapter.modules(), List.of(adapter.directory())));
            assertTrue(same.getMessage().contains("it is the input"), same.getMessage());
            BadInputException parent = assertThrows(BadInputException.class, () -> LoraAdapterWriter.write(tmp,
                    adapter.config(), adapter.modules(), List.of(adapter.weightsFile())));
            assertTrue(parent.getMessage().contains("it contains the input"), parent.getMessage());
            Path viaDots = tmp.resolve("in").resolve("..").resolve("in");
            assertThrows(BadInputException.class, () -> LoraAdapterWriter.requireNotAnInput(viaDots, List.of(input)));
            Path link = Files.createSymbolicLink(tmp.resolve("link"), input);
            assertThrows(BadInputException.class, () -> LoraAdapterWriter.requireNotAnInput(link, List.of(input)));
            assertThrows(BadInputException.class, () -> LoraAdapterWriter.requireNotAnInput(input, List.of(link)));

            Path copy = tmp.resolve("copy");
            LoraAdapterWriter.write(copy, adapter.config(), adapter.modules(), List.of(adapter.directory()));
            try (LoraAdapter back = LoraAdapter.open(copy)) {
                assertEquals(adapter.config(), back.config());
                assertEquals(adapter.parameterCount(), back.parameterCount());
            }
            LoraAdapterWriter.requireNotAnInput(input.resolve("sub"), List.of(input));
        }
        try (LoraAdapter stillThere = LoraAdapter.open(input)) {
            assertEquals(7, stillThere.modules().size());
        }
    }

    @Test
    void replacesAnExistingOutputAtomicallyLeavingNoTemporaries() throws Exception {
        Path out = tmp.resolve("out");
        TinyAdapters.llama(1, 1, 8, 4, 8).rank(2).write(out);
        TinyAdapters.llama(2, 2, 8, 4, 8).rank(3).write(out);
        try (LoraAdapter a = LoraAdapter.open(out)) {
            assertEquals(14, a.modules().size());
            assertEquals(3, a.config().r());
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of("out"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void refusesModulesThatDisagreeWithTheConfig() {
        LoraConfig config = LoraConfig.builder().r(2).loraAlpha(4).targetModules("q_proj").build();
        String q = "model.layers.0.self_attn.q_proj";
        LoraModule ok = LoraModule.of(q, Tensor.zeros(DType.F32, 2, 3), Tensor.zeros(DType.F32, 3, 2), config);
        Path out = tmp.resolve("never");
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> LoraAdapterWriter.write(out,
                config, List.of(new LoraModule(q, Tensor.zeros(DType.F32, 3, 3), Tensor.zeros(DType.F32, 3, 3), 4, 4.0 / 3, false))));
        assertTrue(rank.getMessage().contains("rank 3"), rank.getMessage());
        IllegalArgumentException scaling = assertThrows(IllegalArgumentException.class, () -> LoraAdapterWriter.write(out,
                config, List.of(new LoraModule(q, ok.a(), ok.b(), 4, 1.0, false))));
        assertTrue(scaling.getMessage().contains("scaling"), scaling.getMessage());
        String k = "model.layers.0.self_attn.k_proj";
        IllegalArgumentException target = assertThrows(IllegalArgumentException.class, () -> LoraAdapterWriter.write(out,
                config, List.of(new LoraModule(k, ok.a(), ok.b(), 4, 2, false))));
        assertTrue(target.getMessage().contains("not selected"), target.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoraAdapterWriter.write(out, config, List.of(ok, ok)));
        assertThrows(IllegalArgumentException.class, () -> LoraAdapterWriter.write(out, config, List.of()));
        assertFalse(Files.exists(out));
    }

    @Test
    void mergedConfigOutputReadsBack() throws Exception {
        List<LoraModule> src = TinyAdapters.llama(77, 2, 8, 4, 8).rank(5).modules();
        List<String> names = src.stream().map(LoraModule::name).toList();
        LoraConfig merged = LoraConfig.forMerged(5, names, "base");
        List<LoraModule> modules = src.stream().map(m -> LoraModule.of(m.name(), m.a(), m.b(), merged)).toList();
        Path dir = tmp.resolve("merged");
        LoraAdapterWriter.write(dir, merged, modules);
        try (LoraAdapter a = LoraAdapter.open(dir)) {
            assertEquals(merged, a.config());
            assertEquals(new TreeSet<>(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
                    new TreeSet<>(((TargetModules.Names) a.config().targetModules()).names()));
            for (LoraModule m : a.modules()) {
                assertEquals(1.0, m.scaling());
            }
        }
    }
}
