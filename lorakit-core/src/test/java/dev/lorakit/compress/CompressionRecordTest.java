package dev.lorakit.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.hf.ModelArchitecture;
import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.tensor.DType;
import dev.lorakit.testing.TinyModels;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The config.json record: written and read back unchanged, accepted by the config reader, malformed fields named. */
class CompressionRecordTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final CompressionRecord FULL = new CompressionRecord(
            new CompressionRecord.Quantization(DType.Q4_0, List.of("q_proj", "down_proj", "lm_head")),
            new CompressionRecord.Pruning(PruneMethod.WANDA, null, new NmSparsity(2, 4), List.of("q_proj"), 0.5),
            new CompressionRecord.Calibration("c.jsonl", 3, 99, 16),
            new CompressionRecord.Structured(FfnPruning.Score.WEIGHT_NORMS, 128, 96, FfnPruning.FILE_NAME));

    @Test
    void writesAndReadsBack() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(TinyModels.config(TinyModels.Spec.of(ModelArchitecture.LLAMA)).toJson());
        FULL.writeTo(config);
        assertEquals(FULL, CompressionRecord.parse("config.json", config));
        assertEquals(4.5, config.get("quantization_config").get("bits_per_weight").asDouble());
        assertEquals("q4_0", config.get("quantization_config").get("format").asText());
        assertEquals("input_group_of_4", config.get("lorakit_pruning").get("comparison_group").asText());
        // lorakit's own quantization_config does not stop the model config from loading
        ModelConfig c = ModelConfig.parse("config.json", config.toString());
        assertEquals(64, c.hiddenSize());
        // quantization only: no pruning section at all
        ObjectNode q = (ObjectNode) JSON.readTree(config.toString());
        new CompressionRecord(FULL.quantization(), null, null, null).writeTo(q);
        assertFalse(q.has("lorakit_pruning"));
        CompressionRecord back = CompressionRecord.parse("config.json", q);
        assertNull(back.pruning());
        assertEquals(FULL.quantization(), back.quantization());
    }

    @Test
    void otherQuantizationMethodsAreStillRefusedAndMalformedRecordsNamed() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(TinyModels.config(TinyModels.Spec.of(ModelArchitecture.LLAMA)).toJson());
        config.putObject("quantization_config").put("quant_method", "gptq");
        BadInputException e = assertThrows(BadInputException.class, () -> ModelConfig.parse("config.json", config.toString()));
        assertTrue(e.getMessage().contains("quantized checkpoints are not supported"), e.getMessage());
        assertTrue(CompressionRecord.parse("config.json", config).isEmpty(), "another method's record is not lorakit's");

        config.putObject("quantization_config").put("quant_method", "lorakit").put("format", "q5_k").putArray("modules");
        e = assertThrows(BadInputException.class, () -> CompressionRecord.parse("config.json", config));
        assertEquals("config.json: field \"quantization_config.format\" must be \"q8_0\" or \"q4_0\", got \"q5_k\"", e.getMessage());
        config.remove("quantization_config");
        config.putObject("lorakit_pruning").put("method", "random");
        e = assertThrows(BadInputException.class, () -> CompressionRecord.parse("config.json", config));
        assertTrue(e.getMessage().startsWith("config.json: field \"lorakit_pruning.method\" must be magnitude or wanda"),
                e.getMessage());
    }
}
