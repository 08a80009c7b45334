package dev.lorakit.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.HfModelDirectory;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.safetensors.SafetensorsCheckpoint;
import dev.lorakit.io.safetensors.SafetensorsWriter;
import dev.lorakit.lora.AdapterRef;
import dev.lorakit.tensor.DType;
import dev.lorakit.tensor.Tensor;
import dev.lorakit.tensor.ops.Ops;
import dev.lorakit.tensor.quant.BlockQuantizer;
import dev.lorakit.tensor.quant.Dequantize;
import dev.lorakit.testing.TinyAdapters;
import dev.lorakit.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Hugging Face model directory whose q/k/v/o/gate/up/down weights are Q8_0 / Q4_0 loads through
 * the ordinary HfModelDirectory / LlamaModel path and runs the same forward (decode through the
 * batched matvec, prefill through the packed matmul, with and without a LoRA) as the model whose
 * weights are those blocks dequantized to F32, within 1e-4 of the logits' scale; except that a
 * Q4_0 model decodes on 8-bit activations (the row-group kernels, as llama.cpp does): each input
 * of a projection moves by up to 1/254 of its 32-block's largest magnitude, which on these random
 * models (large logits, a LoRA with large factors) moves the logits by up to 4 % of their scale,
 * so its decode paths get 5e-2 (the kernels themselves are checked exactly in
 * RowGroupMatVecTest). Repacking the weights into row groups changes nothing else: prefill logits
 * are bit-identical to those of the row-major model (merged adapters and tail rows included), and
 * sequences decoded together get exactly their own logits.
 */
class QuantizedModelTest {
    @TempDir
    Path dir;

    /** A copy of {@code source} with each linear projection weight replaced by {@code change}. */
    static Path rewrite(Path source, Path target, UnaryOperator<Tensor> change) throws IOException {
        Files.createDirectories(target);
        Files.copy(source.resolve("config.json"), target.resolve("config.json"));
        Path gen = source.resolve("generation_config.json");
        if (Files.exists(gen)) {
            Files.copy(gen, target.resolve("generation_config.json"));
        }
        Set<String> projections = new HashSet<>();
        for (int l = 0; l < 2; l++) {
            for (Projection p : Projection.values()) {
                projections.add(p.weightName(l));
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (var src = SafetensorsCheckpoint.open(source)) {
            for (String name : src.names()) {
                Tensor t = src.get(name).copy();
                out.put(name, projections.contains(name) ? change.apply(t) : t);
            }
            SafetensorsWriter.write(target.resolve(SafetensorsCheckpoint.SINGLE_FILE), out);
        }
        return target;
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertClose(expected, actual, 1e-4f, what);
    }

    static void assertClose(float[] expected, float[] actual, float relative, String what) {
        assertEquals(expected.length, actual.length);
        float scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], relative * Math.max(1, scale), what + " [" + i + "]");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void quantizedModelRunsLikeItsDequantizedTwin(DType dt) throws Exception {
        for (ModelArchitecture arch : new ModelArchitecture[] {ModelArchitecture.LLAMA, ModelArchitecture.QWEN2}) {
            Path base = TinyModels.write(dir.resolve(arch + "-f32"), TinyModels.Spec.of(arch));
            Path quant = rewrite(base, dir.resolve(arch + "-" + dt), t -> BlockQuantizer.quantize(t, dt));
            Path deq = rewrite(quant, dir.resolve(arch + "-" + dt + "-deq"), Dequantize::toF32);
            try (HfModelDirectory d = HfModelDirectory.open(quant)) {
                d.validateWeights();
                assertEquals(dt, d.weight(Projection.Q_PROJ.weightName(1)).dtype());
                assertEquals(dt, d.weights().info(Projection.DOWN_PROJ.weightName(0)).dtype());
                assertEquals(DType.F32, d.weight(WeightLayout.EMBED_TOKENS).dtype());
            }
            Random rnd = new Random(8);
            int[] decode = new int[5];
            int[] prefill = new int[19];
            for (int i = 0; i < prefill.length; i++) {
                prefill[i] = rnd.nextInt(256);
            }
            System.arraycopy(prefill, 0, decode, 0, decode.length);
            Path adapter = TinyAdapters.llama(3, 2, 64, 32, 128).rank(4).alpha(8).stdB(0.3)
                    .write(dir.resolve(arch + "-" + dt + "-lora"));
            for (List<AdapterRef> adapters : List.of(List.<AdapterRef>of(), List.of(new AdapterRef(adapter, 1.0)))) {
                try (LlamaModel q = LlamaModel.open(quant, adapters); LlamaModel f = LlamaModel.open(deq, adapters)) {
                    String what = arch + " " + dt + (adapters.isEmpty() ? "" : " + LoRA");
                    // measured on these random two-layer models: up to 1.4e-2 of the scale, 3.7e-2 with the large LoRA
                    float decodeTolerance = dt == DType.Q4_0 && Ops.rowInterleavedKernels() ? 5e-2f : 1e-4f;
                    assertClose(f.logits(decode), q.logits(decode), decodeTolerance, what + " decode path");
                    assertClose(f.logits(prefill), q.logits(prefill), what + " prefill path");
                    KvCache cq = q.newCache(4);
                    KvCache cf = f.newCache(4);
                    q.forward(new KvCache[] {cq}, new int[][] {prefill}, false);
                    f.forward(new KvCache[] {cf}, new int[][] {prefill}, false);
                    assertClose(f.forward(new KvCache[] {cf}, new int[][] {{7}}, false),
                            q.forward(new KvCache[] {cq}, new int[][] {{7}}, false), decodeTolerance, what + " cached decode step");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void rowGroupsChangeOnlyTheDecodeArithmetic(DType dt) throws Exception {
        assumeTrue(Ops.rowInterleavedKernels(), "the row-group kernels need 16 float lanes");
        // one KV head: k_proj and v_proj have 16 rows, all of them tail rows after no whole group
        Path base = TinyModels.write(dir.resolve("rg-f32"), TinyModels.Spec.of(ModelArchitecture.LLAMA).withSizes(64, 128, 2, 4, 1, 256));
        Path quant = rewrite(base, dir.resolve("rg-" + dt), t -> BlockQuantizer.quantize(t, dt));
        Path adapter = TinyAdapters.llama(3, 2, 64, 16, 128).rank(4).alpha(8).stdB(0.05).write(dir.resolve("rg-lora"));
        Random rnd = new Random(3);
        int[] prefill = new int[23];
        for (int i = 0; i < prefill.length; i++) {
            prefill[i] = rnd.nextInt(256);
        }
        for (boolean merge : new boolean[] {false, true}) {
            List<AdapterRef> adapters = merge ? List.of(new AdapterRef(adapter, 1.0)) : List.of();
            try (LlamaModel groups = LlamaModel.open(quant, adapters, merge, true);
                 LlamaModel rows = LlamaModel.open(quant, adapters, merge, false)) {
                for (Linear lin : groups.linears()) {
                    if (!lin.name().equals("lm_head")) {
                        assertEquals(dt.rowInterleaved(), lin.weight().dtype(), lin.name() + (merge ? " (merged)" : "") + " is repacked");
                    }
                }
                float[] a = groups.logits(prefill);
                float[] b = rows.logits(prefill);
                for (int i = 0; i < a.length; i++) {
                    assertEquals(Float.floatToIntBits(b[i]), Float.floatToIntBits(a[i]), dt + (merge ? " merged" : "")
                            + " prefill logit " + i + " is bit-identical");
                }
                if (dt == DType.Q8_0) {
                    assertClose(rows.logits(new int[] {5, 9, 2}), groups.logits(new int[] {5, 9, 2}), 1e-5f, "Q8_0 decode path");
                }
                // decoding two sequences together gives each exactly its own decode step's logits
                KvCache a1 = groups.newCache(8);
                KvCache b1 = groups.newCache(8);
                KvCache a2 = groups.newCache(8);
                KvCache b2 = groups.newCache(8);
                for (KvCache[] pair : new KvCache[][] {{a1, a2}, {b1, b2}}) {
                    int[] prompt = pair[0] == a1 ? new int[] {4, 8, 15} : new int[] {16, 23, 42, 99};
                    for (KvCache cache : pair) {
                        groups.forward(new KvCache[] {cache}, new int[][] {prompt}, false);
                    }
                }
                float[] together = groups.forward(new KvCache[] {a1, b1}, new int[][] {{7}, {9}}, false);
                float[] aloneA = groups.forward(new KvCache[] {a2}, new int[][] {{7}}, false);
                float[] aloneB = groups.forward(new KvCache[] {b2}, new int[][] {{9}}, false);
                for (int i = 0; i < aloneA.length; i++) {
                    assertEquals(Float.floatToIntBits(aloneA[i]), Float.floatToIntBits(together[i]), dt + " sequence 0 logit " + i);
                    assertEquals(Float.floatToIntBits(aloneB[i]), Float.floatToIntBits(together[aloneA.length + i]),
                            dt + " sequence 1 logit " + i);
                }
            }
        }
    }

    @Test
    void quantizedEmbeddingsAreRejected() throws Exception {
        Path base = TinyModels.write(dir.resolve("f32"), TinyModels.Spec.of(ModelArchitecture.LLAMA));
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        Files.copy(base.resolve("config.json"), bad.resolve("config.json"));
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (var src = SafetensorsCheckpoint.open(base)) {
            for (String name : src.names()) {
                Tensor t = src.get(name).copy();
                out.put(name, name.equals(WeightLayout.EMBED_TOKENS) ? BlockQuantizer.quantize(t, DType.Q4_0) : t);
            }
            SafetensorsWriter.write(bad.resolve(SafetensorsCheckpoint.SINGLE_FILE), out);
        }
        BadInputException e = assertThrows(BadInputException.class, () -> LlamaModel.open(bad, List.of()).close());
        assertTrue(e.getMessage().contains("model.embed_tokens.weight\" has dtype Q4_0"), e.getMessage());
        assertTrue(e.getMessage().contains("only the linear projection weights may be block-quantized"), e.getMessage());
    }
}
