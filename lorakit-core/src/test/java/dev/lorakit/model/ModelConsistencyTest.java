package dev.lorakit.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine against itself: cached decode, batching and merging must not change the logits. */
class ModelConsistencyTest {
    @TempDir
    Path dir;

    static int[] randomIds(Random rnd, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = rnd.nextInt(vocab);
        }
        return ids;
    }

    static void assertClose(float[] expected, int eOff, float[] actual, int aOff, int n, String what) {
        float scale = 0;
        for (int i = 0; i < n; i++) {
            scale = Math.max(scale, Math.abs(expected[eOff + i]));
        }
        for (int i = 0; i < n; i++) {
            assertEquals(expected[eOff + i], actual[aOff + i], 2e-5f * Math.max(1, scale), what + " [" + i + "]");
        }
    }

    Path model(ModelArchitecture arch, DType dtype) {
        return TinyModels.write(dir.resolve(arch + "-" + dtype), TinyModels.Spec.of(arch).withDtype(dtype));
    }

    Path adapter(String name, long seed) throws Exception {
        return TinyAdapters.llama(seed, 2, 64, 32, 128).rank(4).alpha(8).stdB(0.3).write(dir.resolve(name));
    }

    @ParameterizedTest
    @EnumSource(ModelArchitecture.class)
    void cachedDecodeEqualsFullForward(ModelArchitecture arch) throws Exception {
        Path m = model(arch, DType.F32);
        int[] ids = randomIds(new Random(1), 11, 256);
        try (LlamaModel model = LlamaModel.open(m, List.of(new AdapterRef(adapter("a", 3), 1.0)))) {
            int vocab = model.config().vocabSize();
            float[] full = model.logits(ids);
            KvCache cache = model.newCache(2);
            // prefill 4 tokens, then decode one at a time
            float[] first = model.forward(new KvCache[] {cache}, new int[][] {java.util.Arrays.copyOf(ids, 4)}, true);
            assertClose(full, 0, first, 0, 4 * vocab, "prefill");
            for (int t = 4; t < ids.length; t++) {
                float[] step = model.forward(new KvCache[] {cache}, new int[][] {{ids[t]}}, false);
                assertClose(full, t * vocab, step, 0, vocab, "decode position " + t);
            }
            assertEquals(ids.length, cache.length());
        }
    }

    @Test
    void batchedSequencesEqualSingleSequences() throws Exception {
        Path m = model(ModelArchitecture.QWEN2, DType.BF16);
        Random rnd = new Random(2);
        int[][] prompts = {randomIds(rnd, 5, 256), randomIds(rnd, 9, 256), randomIds(rnd, 1, 256)};
        try (LlamaModel model = LlamaModel.open(m, List.of())) {
            int vocab = model.config().vocabSize();
            float[][] single = new float[prompts.length][];
            for (int s = 0; s < prompts.length; s++) {
                single[s] = model.logits(prompts[s]);
            }
            KvCache[] caches = {model.newCache(4), model.newCache(4), model.newCache(4)};
            float[] last = model.forward(caches, prompts, false);
            for (int s = 0; s < prompts.length; s++) {
                assertClose(single[s], (prompts[s].length - 1) * vocab, last, s * vocab, vocab, "prefill seq " + s);
            }
            // three decode steps with all sequences together
            int[][] next = {{7}, {8}, {9}};
            float[] step = model.forward(caches, next, false);
            for (int s = 0; s < prompts.length; s++) {
                int[] ext = java.util.Arrays.copyOf(prompts[s], prompts[s].length + 1);
                ext[prompts[s].length] = next[s][0];
                float[] ref = model.logits(ext);
                assertClose(ref, prompts[s].length * vocab, step, s * vocab, vocab, "batched decode seq " + s);
            }
        }
    }

    @Test
    void mergedEqualsUnmergedAndAdaptersMatter() throws Exception {
        Path m = model(ModelArchitecture.LLAMA, DType.F32);
        List<AdapterRef> refs = List.of(new AdapterRef(adapter("a", 3), 0.7), new AdapterRef(adapter("b", 4), 1.3));
        int[] ids = randomIds(new Random(5), 12, 256);
        float[] base;
        float[] unmerged;
        float[] merged;
        try (LlamaModel model = LlamaModel.open(m, List.of())) {
            base = model.logits(ids);
        }
        try (LlamaModel model = LlamaModel.open(m, refs, false)) {
            unmerged = model.logits(ids);
        }
        try (LlamaModel model = LlamaModel.open(m, refs, true)) {
            merged = model.logits(ids);
        }
        assertClose(unmerged, 0, merged, 0, unmerged.length, "merged vs unmerged");
        double diff = 0;
        for (int i = 0; i < base.length; i++) {
            diff = Math.max(diff, Math.abs(base[i] - unmerged[i]));
        }
        assertTrue(diff > 1e-2, "the adapters must change the logits, max diff " + diff);
        // scale 0 is the base model
        try (LlamaModel model = LlamaModel.open(m, List.of(new AdapterRef(adapter("c", 6), 0.0)))) {
            assertClose(base, 0, model.logits(ids), 0, base.length, "scale 0");
        }
    }

    @Test
    void badInputsAreRefused() throws Exception {
        Path m = model(ModelArchitecture.LLAMA, DType.F32);
        Path wrong = TinyAdapters.llama(1, 2, 64, 64, 128).write(dir.resolve("wrong-kv"));
        BadInputException e = assertThrows(BadInputException.class, () -> LlamaModel.open(m, List.of(new AdapterRef(wrong, 1))));
        assertTrue(e.getMessage().contains("k_proj") && e.getMessage().contains(wrong.toString()), e.getMessage());
        Path deep = TinyAdapters.llama(1, 3, 64, 32, 128).write(dir.resolve("three-layers"));
        e = assertThrows(BadInputException.class, () -> LlamaModel.open(m, List.of(new AdapterRef(deep, 1))));
        assertTrue(e.getMessage().contains("model.layers.2"), e.getMessage());
        try (LlamaModel model = LlamaModel.open(m, List.of())) {
            e = assertThrows(BadInputException.class, () -> model.logits(new int[] {1, 999}));
            assertTrue(e.getMessage().contains("999"), e.getMessage());
        }
    }

    @Test
    void adapterRefParsesScale() {
        assertEquals(new AdapterRef(Path.of("a/b"), 0.5), AdapterRef.parse("a/b:0.5"));
        assertEquals(new AdapterRef(Path.of("c:d"), 1.0), AdapterRef.parse("c:d"));
        assertEquals(new AdapterRef(Path.of("e"), 1.0), AdapterRef.parse("e"));
    }
}
