package dev.lorakit.synth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.WeightLayout;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.tensor.DType;
import org.junit.jupiter.api.Test;

/** The presets' shapes and parameter counts, computed by hand. */
class ModelPresetTest {
    @Test
    void base6mIsTheBundledByteLevelBaseModelShape() {
        ModelConfig c = ModelPreset.BASE6M.config(DType.F32);
        assertEquals("base6m", ModelPreset.BASE6M.cliName());
        assertEquals(256, c.hiddenSize());
        assertEquals(688, c.intermediateSize());
        assertEquals(8, c.numHiddenLayers());
        assertEquals(8, c.numAttentionHeads());
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(32, c.headDim());
        assertEquals(512, c.maxPositionEmbeddings());
        assertEquals(ByteTokenizerBuilder.VOCAB_SIZE, c.vocabSize());
        assertEquals(ByteTokenizerBuilder.BOS_ID, c.bosTokenId());
        assertFalse(c.tieWordEmbeddings());
        // per layer: q 256*256 + k, v 128*256 each + o 256*256 + gate, up, down 3*688*256 + two norms 2*256
        long layer = 65_536 + 2 * 32_768 + 65_536 + 3 * 176_128 + 512;
        assertEquals(725_504, layer);
        // embeddings and LM head 2*259*256, final norm 256
        assertEquals(8 * layer + 2 * 66_304 + 256, WeightLayout.parameterCount(c));
        assertEquals(5_936_896, WeightLayout.parameterCount(c));
    }

    @Test
    void bench20mHasTheDocumentedCount() {
        assertEquals(25_570_816, WeightLayout.parameterCount(ModelPreset.BENCH20M.config(DType.F32)));
    }
}
