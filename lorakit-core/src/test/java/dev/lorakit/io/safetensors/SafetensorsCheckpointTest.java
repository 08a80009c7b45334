package dev.lorakit.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.io.TensorSource;
import dev.lorakit.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which layouts {@link SafetensorsCheckpoint#open} accepts and what it says about the others. */
class SafetensorsCheckpointTest {
    @TempDir
    Path dir;

    private static final Map<String, Tensor> ONE = Map.of("w", Tensor.ofFloats(new float[] {1, 2}, 2));

    private String rejected(Path path, String... fragments) {
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsCheckpoint.open(path).close());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain <" + f + ">: " + e.getMessage());
        }
        return e.getMessage();
    }

    @Test
    void opensAFileOfAnyName() throws IOException {
        Path f = dir.resolve("consolidated.safetensors");
        SafetensorsWriter.write(f, ONE);
        try (TensorSource src = SafetensorsCheckpoint.open(f)) {
            assertInstanceOf(SafetensorsFile.class, src);
            assertEquals(2f, src.get("w").getFloat(1));
            assertEquals(f.toString(), src.description());
        }
    }

    @Test
    void directoryPrefersTheSingleFileLikeHuggingFace() throws IOException {
        SafetensorsWriter.write(dir.resolve("model.safetensors"), ONE);
        Files.writeString(dir.resolve(SafetensorsIndex.FILE_NAME), "not even json");
        try (TensorSource src = SafetensorsCheckpoint.open(dir)) {
            assertInstanceOf(SafetensorsFile.class, src);
        }
    }

    @Test
    void directoryWithOnlyPickleWeights() throws IOException {
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {'P', 'K', 3, 4});
        rejected(dir, "pytorch_model.bin", "pickle", "not supported", "convert the model to safetensors");
        rejected(dir.resolve("pytorch_model.bin"), "pickle", "convert the model to safetensors");
        Files.writeString(dir.resolve("pytorch_model.bin.index.json"), "{}");
        rejected(dir.resolve("pytorch_model.bin.index.json"), "pickle");
    }

    @Test
    void emptyDirectorySaysWhatWasExpected() {
        String msg = rejected(dir, "no model.safetensors or model.safetensors.index.json", "expected Hugging Face safetensors weights");
        assertTrue(msg.startsWith(dir + ": "), msg);
    }

    @Test
    void directoryWithOtherSafetensorsFilesListsThem() throws IOException {
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), ONE);
        rejected(dir, "found adapter_model.safetensors", "pass the file itself");
    }

    @Test
    void missingPathAndUnknownFileType() throws IOException {
        rejected(dir.resolve("nope"), "no such file or directory");
        Path gguf = Files.writeString(dir.resolve("model.gguf"), "GGUF");
        rejected(gguf, "not a safetensors checkpoint", "expected a .safetensors file");
    }
}
