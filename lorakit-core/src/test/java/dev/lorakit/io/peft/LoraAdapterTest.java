package dev.lorakit.io.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LoraAdapterTest {
    private static final String Q0 = "model.layers.0.self_attn.q_proj";
    private static final String V0 = "model.layers.0.self_attn.v_proj";
    private static final String CONFIG = "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4,"
            + " \"target_modules\": [\"q_proj\", \"v_proj\"]}";

    @TempDir
    Path tmp;

    private static byte[] bytes(Tensor t) {
        return t.segment().toArray(ValueLayout.JAVA_BYTE);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void roundTripKeepsEveryFieldAndTensorBitExact(DType dtype) throws Exception {
        TinyAdapters.Spec spec = TinyAdapters.llama(42 + dtype.ordinal(), 2, 16, 8, 24).dtype(dtype).rank(4).alpha(12)
                .rslora(dtype == DType.F16).rankPattern("layers\\.1\\.mlp\\.down_proj", 2).rankPattern("k_proj", 3)
                .alphaPattern("v_proj", 5.5);
        LoraConfig config = spec.config();
        List<LoraModule> modules = spec.modules();
        Path dir = tmp.resolve("adapter-" + dtype);
        LoraAdapterWriter.write(dir, config, modules);
        try (LoraAdapter adapter = LoraAdapter.open(dir)) {
            assertEquals(config, adapter.config());
            assertEquals(List.copyOf(config.rankPattern().keySet()), List.copyOf(adapter.config().rankPattern().keySet()));
            assertEquals(Map.of("format", "pt"), adapter.metadata());
            assertEquals(modules.size(), adapter.modules().size());
            long params = 0;
            long bytes = 0;
            for (int i = 0; i < modules.size(); i++) {
                LoraModule w = modules.get(i);
                LoraModule r = adapter.modules().get(i);
                assertEquals(w.name(), r.name(), "file order");
                assertEquals(dtype, r.a().dtype());
                assertEquals(dtype, r.b().dtype());
                assertEquals(w.a().shape(), r.a().shape());
                assertEquals(w.b().shape(), r.b().shape());
                assertArrayEquals(bytes(w.a()), bytes(r.a()), w.name() + " A");
                assertArrayEquals(bytes(w.b()), bytes(r.b()), w.name() + " B");
                assertEquals(w.alpha(), r.alpha());
                assertEquals(w.scaling(), r.scaling());
                assertEquals(w.fanInFanOut(), r.fanInFanOut());
                assertEquals(w.deltaFrobeniusNorm(), r.deltaFrobeniusNorm());
                assertTrue(r.a().segment().isMapped(), "tensors stay memory-mapped");
                assertEquals(r, adapter.module(r.name()));
                params += w.parameterCount();
                bytes += w.byteSize();
            }
            assertEquals(params, adapter.parameterCount());
            assertEquals(bytes, adapter.byteSize());
            LoraModule down1 = adapter.module("model.layers.1.mlp.down_proj");
            assertEquals(2, down1.rank());
            assertEquals(4, adapter.module("model.layers.0.mlp.down_proj").rank());
            assertEquals(3, adapter.module("model.layers.1.self_attn.k_proj").rank());
            LoraModule v0 = adapter.module(V0);
            assertEquals(5.5, v0.alpha());
            assertEquals(dtype == DType.F16 ? 5.5 / 2 : 5.5 / 4, v0.scaling());
            assertFalse(adapter.find("model.layers.9.self_attn.q_proj").isPresent());
            BadInputException e = assertThrows(BadInputException.class, () -> adapter.module("lm_head"));
            assertTrue(e.getMessage().contains("lm_head"));
        }
    }

    @Test
    void modulesFollowTheFileOrder() throws Exception {
        Random rng = new Random(3);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(PeftKeys.loraB(V0), TinyAdapters.random(rng, DType.F32, 1, 6, 2));
        t.put(PeftKeys.loraA(Q0), TinyAdapters.random(rng, DType.F32, 1, 2, 5));
        t.put(PeftKeys.loraA(V0), TinyAdapters.random(rng, DType.F32, 1, 2, 5));
        t.put(PeftKeys.loraB(Q0), TinyAdapters.random(rng, DType.F32, 1, 5, 2));
        try (LoraAdapter adapter = LoraAdapter.open(TinyAdapters.writeRaw(tmp.resolve("a"), CONFIG, t))) {
            assertEquals(List.of(V0, Q0), adapter.modules().stream().map(LoraModule::name).toList());
            assertEquals(6, adapter.module(V0).outFeatures());
            assertEquals(2.0, adapter.module(V0).scaling());
        }
    }

    // ---- refusals ------------------------------------------------------------------------

    private BadInputException refusedWith(Map<String, Tensor> tensors) throws Exception {
        return refusedWith(CONFIG, tensors);
    }

    private BadInputException refusedWith(String config, Map<String, Tensor> tensors) throws Exception {
        Path dir = TinyAdapters.writeRaw(tmp.resolve("bad"), config, tensors);
        BadInputException e = assertThrows(BadInputException.class, () -> LoraAdapter.open(dir).close());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static Map<String, Tensor> validPair(String module, int r) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(PeftKeys.loraA(module), Tensor.zeros(DType.F32, r, 5));
        t.put(PeftKeys.loraB(module), Tensor.zeros(DType.F32, 6, r));
        return t;
    }

    private static void assertNames(BadInputException e, String file, String key, String what) {
        assertTrue(e.getMessage().contains(file), e.getMessage());
        assertTrue(e.getMessage().contains("\"" + key + "\""), e.getMessage());
        assertTrue(e.getMessage().contains(what), e.getMessage());
    }

    @Test
    void refusesDora() throws Exception {
        Map<String, Tensor> t = validPair(Q0, 2);
        String key = PeftKeys.PREFIX + Q0 + ".lora_magnitude_vector";
        t.put(key, Tensor.zeros(DType.F32, 6));
        assertNames(refusedWith(t), "adapter_model.safetensors", key, "DoRA");
        BadInputException cfg = refusedWith(CONFIG.replace("}", ", \"use_dora\": true}"), validPair(Q0, 2));
        assertNames(cfg, "adapter_config.json", "use_dora", "DoRA");
    }

    @Test
    void refusesLoraBias() throws Exception {
        Map<String, Tensor> t = validPair(Q0, 2);
        String key = PeftKeys.PREFIX + Q0 + ".lora_B.bias";
        t.put(key, Tensor.zeros(DType.F32, 6));
        assertNames(refusedWith(t), "adapter_model.safetensors", key, "bias");
    }

    @Test
    void refusesEmbeddingLora() throws Exception {
        Map<String, Tensor> t = validPair(Q0, 2);
        String key = PeftKeys.PREFIX + "model.embed_tokens.lora_embedding_A";
        t.put(key, Tensor.zeros(DType.F32, 2, 100));
        assertNames(refusedWith(t), "adapter_model.safetensors", key, "embedding LoRA");
    }

    @Test
    void refusesModulesToSaveAndFullWeights() throws Exception {
        Map<String, Tensor> t = validPair(Q0, 2);
        String key = PeftKeys.PREFIX + "lm_head.modules_to_save.weight";
        t.put(key, Tensor.zeros(DType.F32, 10, 6));
        assertNames(refusedWith(t), "adapter_model.safetensors", key, "modules_to_save");
        Map<String, Tensor> full = validPair(Q0, 2);
        String embed = PeftKeys.PREFIX + "model.embed_tokens.weight";
        full.put(embed, Tensor.zeros(DType.F32, 10, 6));
        assertNames(refusedWith(full), "adapter_model.safetensors", embed, "full weight");
        BadInputException cfg = refusedWith(CONFIG.replace("}", ", \"modules_to_save\": [\"lm_head\"]}"), validPair(Q0, 2));
        assertNames(cfg, "adapter_config.json", "modules_to_save", "full copies");
    }

    @Test
    void refusesKeysWithAnAdapterNameOrWithoutThePrefix() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        String named = PeftKeys.PREFIX + Q0 + ".lora_A.default.weight";
        t.put(named, Tensor.zeros(DType.F32, 2, 5));
        assertNames(refusedWith(t), "adapter_model.safetensors", named, "adapter name \"default\"");
        Map<String, Tensor> bare = new LinkedHashMap<>();
        String noPrefix = Q0 + ".lora_A.weight";
        bare.put(noPrefix, Tensor.zeros(DType.F32, 2, 5));
        assertNames(refusedWith(bare), "adapter_model.safetensors", noPrefix, "base_model.model.");
    }

    @Test
    void refusesUnpairedFactors() throws Exception {
        Map<String, Tensor> onlyA = validPair(Q0, 2);
        onlyA.put(PeftKeys.loraA(V0), Tensor.zeros(DType.F32, 2, 5));
        assertNames(refusedWith(onlyA), "adapter_model.safetensors", PeftKeys.loraA(V0), "no matching lora_B");
        Map<String, Tensor> onlyB = validPair(Q0, 2);
        onlyB.put(PeftKeys.loraB(V0), Tensor.zeros(DType.F32, 6, 2));
        assertNames(refusedWith(onlyB), "adapter_model.safetensors", PeftKeys.loraB(V0), "no matching lora_A");
    }

    @Test
    void refusesShapeMismatch() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(PeftKeys.loraA(Q0), Tensor.zeros(DType.F32, 2, 5));
        t.put(PeftKeys.loraB(Q0), Tensor.zeros(DType.F32, 6, 3));
        BadInputException e = refusedWith(t);
        assertNames(e, "adapter_model.safetensors", PeftKeys.loraA(Q0), "[2, 5] has 2 rows but lora_B [6, 3] has 3 columns");
        Map<String, Tensor> cube = new LinkedHashMap<>();
        cube.put(PeftKeys.loraA(Q0), Tensor.zeros(DType.F32, 2, 5, 1));
        cube.put(PeftKeys.loraB(Q0), Tensor.zeros(DType.F32, 6, 2));
        assertNames(refusedWith(cube), "adapter_model.safetensors", PeftKeys.loraA(Q0), "not a matrix");
    }

    @Test
    void refusesRankThatDisagreesWithTheConfig() throws Exception {
        BadInputException plain = refusedWith(validPair(Q0, 3));
        assertNames(plain, "adapter_model.safetensors", PeftKeys.loraA(Q0), "rank 3 but adapter_config.json gives module");
        assertTrue(plain.getMessage().contains("rank 2 (field \"r\")"), plain.getMessage());
        String patterned = CONFIG.replace("}", ", \"rank_pattern\": {\"layers\\\\.0\\\\.self_attn\\\\.q_proj\": 4}}");
        BadInputException e = refusedWith(patterned, validPair(Q0, 2));
        assertTrue(e.getMessage().contains("rank 4 (rank_pattern key \"layers\\.0\\.self_attn\\.q_proj\")"), e.getMessage());
        try (LoraAdapter ok = LoraAdapter.open(TinyAdapters.writeRaw(tmp.resolve("ok"), patterned, validPair(Q0, 4)))) {
            assertEquals(4, ok.module(Q0).rank());
            assertEquals(1.0, ok.module(Q0).scaling());
        }
    }

    @Test
    void refusesNonComputeDtypes() throws Exception {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put(PeftKeys.loraA(Q0), Tensor.zeros(DType.F64, 2, 5));
        t.put(PeftKeys.loraB(Q0), Tensor.zeros(DType.F32, 6, 2));
        assertNames(refusedWith(t), "adapter_model.safetensors", PeftKeys.loraA(Q0), "dtype F64");
    }

    @Test
    void refusesModulesTheConfigDoesNotTarget() throws Exception {
        String k0 = "model.layers.0.self_attn.k_proj";
        BadInputException e = refusedWith(validPair(k0, 2));
        assertNames(e, "adapter_model.safetensors", PeftKeys.loraA(k0), "not selected by adapter_config.json");
    }

    @Test
    void refusesMissingConfigPickleOnlyAndEmptyAdapters() throws Exception {
        BadInputException noConfig = refusedWith(null, validPair(Q0, 2));
        assertTrue(noConfig.getMessage().contains("adapter_config.json: missing"), noConfig.getMessage());

        Path pickle = TinyAdapters.writeRaw(tmp.resolve("pickle"), CONFIG, null);
        Files.write(pickle.resolve("adapter_model.bin"), new byte[] {(byte) 0x80, 2});
        BadInputException bin = assertThrows(BadInputException.class, () -> LoraAdapter.open(pickle));
        assertTrue(bin.getMessage().contains("adapter_model.bin: pickle weights are not read"), bin.getMessage());
        assertTrue(bin.getMessage().contains("convert"), bin.getMessage());

        Path noWeights = TinyAdapters.writeRaw(tmp.resolve("noweights"), CONFIG, null);
        BadInputException missing = assertThrows(BadInputException.class, () -> LoraAdapter.open(noWeights));
        assertTrue(missing.getMessage().contains("adapter_model.safetensors: missing"), missing.getMessage());

        BadInputException empty = refusedWith(new LinkedHashMap<>());
        assertTrue(empty.getMessage().contains("holds no LoRA factors"), empty.getMessage());

        BadInputException noDir = assertThrows(BadInputException.class, () -> LoraAdapter.open(tmp.resolve("nothing")));
        assertTrue(noDir.getMessage().contains("no such directory"), noDir.getMessage());
    }

    @Test
    void configErrorsNameTheConfigFile() throws Exception {
        BadInputException e = refusedWith("{\"peft_type\": \"LORA\", \"bias\": \"all\", \"target_modules\": [\"q_proj\"]}",
                validPair(Q0, 2));
        assertTrue(e.getMessage().contains("adapter_config.json: field \"bias\" is \"all\""), e.getMessage());
    }
}
