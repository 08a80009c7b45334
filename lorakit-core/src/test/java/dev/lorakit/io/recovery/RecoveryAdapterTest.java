package dev.lorakit.io.recovery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.testing.TinyAdapters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The recovery file format: an exact round trip, and one clear error for each kind of broken directory. */
class RecoveryAdapterTest {
    @TempDir
    Path dir;

    static final String Q = "model.layers.0.self_attn.q_proj";
    static final String DOWN = "model.layers.1.mlp.down_proj";

    static RecoveryConfig config() {
        Map<String, RecoveryConfig.ModuleEntry> e = new LinkedHashMap<>();
        e.put(Q, new RecoveryConfig.ModuleEntry(4, 2.0));
        e.put(DOWN, new RecoveryConfig.ModuleEntry(3, 1.5));
        return new RecoveryConfig(4, 2.0, List.of("q_proj", "down_proj"), "base/model", e);
    }

    static List<RecoveryModule> modules() {
        Random rnd = new Random(1);
        return List.of(new RecoveryModule(Q, TinyAdapters.random(rnd, DType.F32, 0.1, 4, 8), TinyAdapters.random(rnd, DType.F32, 0.1, 8, 4), 2.0),
                new RecoveryModule(DOWN, TinyAdapters.random(rnd, DType.F32, 0.1, 3, 16), TinyAdapters.random(rnd, DType.F32, 0.1, 8, 3), 1.5));
    }

    @Test
    void writeThenOpenGivesTheSameModules() throws Exception {
        RecoveryAdapterWriter.write(dir, config(), modules());
        assertTrue(RecoveryConfig.isPresent(dir));
        try (RecoveryAdapter r = RecoveryAdapter.open(dir)) {
            assertEquals(config(), r.config());
            List<RecoveryModule> want = modules();
            assertEquals(want.size(), r.modules().size());
            for (int i = 0; i < want.size(); i++) {
                RecoveryModule a = want.get(i);
                RecoveryModule b = r.modules().get(i);
                assertEquals(a.name(), b.name());
                assertEquals(a.scaling(), b.scaling(), 0.0);
                assertArrayEquals(a.d().toFloatArray(), b.d().toFloatArray());
                assertArrayEquals(a.u().toFloatArray(), b.u().toFloatArray());
            }
        }
        String text = Files.readString(dir.resolve(RecoveryConfig.CONFIG_FILE));
        assertTrue(text.contains("\"format\" : \"lorakit.recovery\"") && text.contains("\"activation\" : \"gelu\""), text);
    }

    @Test
    void brokenDirectoriesGiveOneLineErrors() throws Exception {
        RecoveryAdapterWriter.write(dir, config(), modules());
        Path st = dir.resolve(RecoveryConfig.WEIGHTS_FILE);
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (RecoveryModule m : modules()) {
            t.put(RecoveryConfig.keyD(m.name()), m.d());
            t.put(RecoveryConfig.keyU(m.name()), m.u());
        }
        // a missing tensor
        Map<String, Tensor> missing = new LinkedHashMap<>(t);
        missing.remove(RecoveryConfig.keyU(DOWN));
        SafetensorsWriter.write(st, missing);
        expect("no tensor \"" + RecoveryConfig.keyU(DOWN) + "\"");
        // a rank that disagrees with the config
        Map<String, Tensor> wrong = new LinkedHashMap<>(t);
        wrong.put(RecoveryConfig.keyD(Q), Tensor.zeros(DType.F32, 5, 8));
        SafetensorsWriter.write(st, wrong);
        expect("has shape [5, 8], expected [4, in]");
        // an extra tensor
        Map<String, Tensor> extra = new LinkedHashMap<>(t);
        extra.put("base_model.model.lm_head.recovery_D.weight", Tensor.zeros(DType.F32, 2, 2));
        SafetensorsWriter.write(st, extra);
        expect("belongs to no module");
        SafetensorsWriter.write(st, t);
        // config problems
        String good = config().toJson();
        Path cf = dir.resolve(RecoveryConfig.CONFIG_FILE);
        Files.writeString(cf, good.replace("\"format_version\" : 1", "\"format_version\" : 7"));
        expect("format_version 7 is newer");
        Files.writeString(cf, good.replace("\"activation\" : \"gelu\"", "\"activation\" : \"relu\""));
        expect("field \"activation\" must be \"gelu\"");
        Files.writeString(cf, good.replace("\"r\" : 3", "\"r\" : 0"));
        expect("field \"modules." + DOWN + ".r\" must be a positive integer");
        Files.writeString(cf, good);
        Files.delete(st);
        expect(RecoveryConfig.WEIGHTS_FILE + ": missing");
    }

    void expect(String fragment) {
        BadInputException e = assertThrows(BadInputException.class, () -> RecoveryAdapter.open(dir).close());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line");
    }
}
