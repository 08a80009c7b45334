package dev.lorakit.train;

import static dev.lorakit.train.TrainFixtures.bytes;
import static dev.lorakit.train.TrainFixtures.jsonl;
import static dev.lorakit.train.TrainFixtures.quote;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lorakit.BadInputException;
import dev.lorakit.generate.ChatMessage;
import dev.lorakit.io.tokenizer.ByteTokenizerBuilder;
import dev.lorakit.io.tokenizer.TextTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TrainingDataTest {
    private static final int IGN = TrainingExample.IGNORE;
    private static final int V = ByteTokenizerBuilder.VOCAB_SIZE;

    @TempDir
    Path dir;
    TextTokenizer tok;
    ExampleEncoder chatml;

    @BeforeEach
    void setUp() {
        tok = TrainFixtures.byteTokenizer(dir.resolve("tok"), true);
        chatml = new ExampleEncoder(tok, TrainFixtures.template(TrainFixtures.CHATML), V);
    }

    @AfterEach
    void tearDown() {
        tok.close();
    }

    /** Expected ids/labels built from text pieces, each labelled or not, after a BOS (label -100). */
    private static TrainingExample expected(Object... textAndLabelled) {
        List<Integer> ids = new ArrayList<>(List.of(0));
        List<Integer> labels = new ArrayList<>(List.of(IGN));
        for (int i = 0; i < textAndLabelled.length; i += 2) {
            String text = (String) textAndLabelled[i];
            boolean labelled = (Boolean) textAndLabelled[i + 1];
            for (int id : text.equals("</s>") ? new int[] {1} : bytes(text)) {
                ids.add(id);
                labels.add(labelled ? id : IGN);
            }
        }
        return new TrainingExample(ids.stream().mapToInt(Integer::intValue).toArray(),
                labels.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void promptCompletionLabelsTheCompletionAndEos() {
        TrainingData data = TrainingData.read(jsonl(dir, "pc.jsonl",
                "{\"prompt\": \"Q: 2+2?\", \"completion\": \" A: 4\"}"), chatml, 64);
        assertEquals(TrainingData.Format.PROMPT_COMPLETION, data.format());
        assertEquals(expected("Q: 2+2?", false, " A: 4", true, "</s>", true), data.examples().getFirst());
        TrainingExample ex = data.examples().getFirst();
        assertEquals(1, ex.inputIds()[ex.length() - 1]);  // EOS id, labelled so the model learns to stop
        assertEquals(6, ex.targetCount());  // " A: 4" and EOS
        assertEquals(new TrainingData.Stats(1, 0, 0, 0, ex.length(), 6), data.stats());
    }

    @Test
    void plainTextFilesArePackedIntoWindowsOfSeqLen() throws Exception {
        Path txt = dir.resolve("corpus.txt");
        java.nio.file.Files.writeString(txt, "abcdef\n\nghij\nk\n");
        TrainingData data = TrainingData.read(txt, chatml, 5);
        assertEquals(TrainingData.Format.PACKED_TEXT, data.format());
        // stream: BOS a b c d e f BOS g h i j BOS k (14 tokens), BOS labels ignored -> windows of 5
        int[] stream = {0, bytes("a")[0], bytes("b")[0], bytes("c")[0], bytes("d")[0], bytes("e")[0], bytes("f")[0], 0,
                bytes("g")[0], bytes("h")[0], bytes("i")[0], bytes("j")[0], 0, bytes("k")[0]};
        assertEquals(3, data.size());
        int pos = 0;
        for (TrainingExample ex : data.examples()) {
            for (int t = 0; t < ex.length(); t++, pos++) {
                assertEquals(stream[pos], ex.inputIds()[t]);
                assertEquals(stream[pos] == 0 ? IGN : stream[pos], ex.labels()[t]);
            }
        }
        assertEquals(14, pos);
        assertArrayEquals(new int[] {1, 1, 3}, data.lines());
        // targets: 11 labelled tokens minus the first label of windows 2 and 3 (position 0 predicts nothing)
        assertEquals(new TrainingData.Stats(3, 0, 0, 0, 14, 9), data.stats());
        java.nio.file.Files.writeString(txt, "\n \n");
        assertThrows(BadInputException.class, () -> TrainingData.read(txt, chatml, 5));
    }

    /** Seeded random prompt/completion pairs: layout [BOS, prompt, completion, EOS], mask exactly the prompt. */
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void promptCompletionLayoutOnRandomText(long seed) {
        Random r = new Random(seed);
        for (int n = 0; n < 30; n++) {
            String p = randomText(r, r.nextInt(12));
            String c = randomText(r, r.nextInt(12));
            TrainingExample ex = chatml.promptCompletion(p, c);
            int[] pb = bytes(p);
            int[] cb = bytes(c);
            assertEquals(pb.length + cb.length + 2, ex.length());
            assertEquals(0, ex.inputIds()[0]);
            assertArrayEquals(pb, Arrays.copyOfRange(ex.inputIds(), 1, 1 + pb.length));
            assertArrayEquals(cb, Arrays.copyOfRange(ex.inputIds(), 1 + pb.length, 1 + pb.length + cb.length));
            for (int t = 0; t < ex.length(); t++) {
                assertEquals(t <= pb.length ? IGN : ex.inputIds()[t], ex.labels()[t]);
            }
            assertEquals(cb.length + 1, ex.targetCount());
        }
    }

    private static String randomText(Random r, int len) {
        StringBuilder sb = new StringBuilder();
        String alphabet = "ab c\n\u00e9\u65e5!";
        for (int i = 0; i < len; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    @Test
    void textLabelsEveryTokenButBos() {
        TrainingData data = TrainingData.read(jsonl(dir, "t.jsonl", "{\"text\": \"hello\"}", "", "{\"text\": \"x\"}"),
                chatml, 64);
        assertEquals(TrainingData.Format.TEXT, data.format());
        assertEquals(expected("hello", true), data.examples().get(0));
        assertEquals(expected("x", true), data.examples().get(1));
        assertArrayEquals(new int[] {1, 3}, data.lines());  // blank lines are not examples
        assertEquals(new TrainingData.Stats(2, 0, 0, 0, 8, 6), data.stats());
    }

    @Test
    void textWithoutBosLabelsEveryToken() {
        try (TextTokenizer noBos = TrainFixtures.byteTokenizer(dir.resolve("nobos"), false)) {
            TrainingExample ex = new ExampleEncoder(noBos, null, V).text("abc");
            assertArrayEquals(bytes("abc"), ex.inputIds());
            assertArrayEquals(bytes("abc"), ex.labels());
            assertEquals(2, ex.targetCount());  // labels[0] is never a target after the shift
        }
    }

    @Test
    void chatmlLabelsExactlyTheAssistantTurns() {
        String line = "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                + "{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello!\"}, "
                + "{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}]}";
        TrainingData data = TrainingData.read(jsonl(dir, "chat.jsonl", line), chatml, 512);
        assertEquals(TrainingData.Format.MESSAGES, data.format());
        TrainingExample want = expected(
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", false,
                "Hello!<|im_end|>\n", true,
                "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n", false,
                "4<|im_end|>\n", true);
        assertEquals(want, data.examples().getFirst());
    }

    @Test
    void zephyrStyleLabelsTheReplyAndItsEos() {
        ExampleEncoder zephyr = new ExampleEncoder(tok, TrainFixtures.template(TrainFixtures.ZEPHYR), V);
        TrainingExample ex = zephyr.chat(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Yo"),
                ChatMessage.user("Bye"), ChatMessage.assistant("Ciao")));
        TrainingExample want = expected("<|user|>\nHi", false, "</s>", false, "\n<|assistant|>\n", false,
                "Yo", true, "</s>", true, "\n", true,
                "<|user|>\nBye", false, "</s>", false, "\n<|assistant|>\n", false,
                "Ciao", true, "</s>", true, "\n", true);
        assertEquals(want, ex);
    }

    @Test
    void conversationWithoutAssistantTurnIsSkipped() {
        TrainingData data = TrainingData.read(jsonl(dir, "c.jsonl",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}"),
                chatml, 512);
        assertEquals(1, data.size());
        assertEquals(1, data.stats().skipped());
        assertArrayEquals(new int[] {2}, data.lines());
    }

    /** Real model templates: every assistant turn is one labelled run that holds its reply; nothing else is labelled. */
    @ParameterizedTest
    @ValueSource(strings = {"zephyr", "qwen2-instruct", "qwen2.5-instruct", "llama3-instruct", "llama3.1-instruct",
            "llama3.2-instruct", "llama2-chat", "mistral-instruct-v0.2"})
    void realTemplatesLabelEachAssistantReply(String name) {
        ExampleEncoder enc = new ExampleEncoder(tok, TrainFixtures.realTemplate(name), V);
        List<String> replies = List.of("The answer is 4.", "Six, of course.");
        TrainingExample ex = enc.chat(List.of(ChatMessage.user("What is 2+2?"), ChatMessage.assistant(replies.get(0)),
                ChatMessage.user("And 3+3?"), ChatMessage.assistant(replies.get(1))));
        List<String> runs = labelledRuns(ex);
        assertEquals(2, runs.size(), name + ": " + runs);
        for (int k = 0; k < 2; k++) {
            String run = runs.get(k);
            assertTrue(run.contains(replies.get(k)), name + ": run " + k + " = " + run);
            assertTrue(!run.contains("3+3") && !run.contains("2+2"), name + ": a user turn is labelled: " + run);
        }
    }

    private static List<String> labelledRuns(TrainingExample ex) {
        List<String> runs = new ArrayList<>();
        int t = 0;
        while (t < ex.length()) {
            if (ex.labels()[t] == IGN) {
                t++;
                continue;
            }
            int s = t;
            while (t < ex.length() && ex.labels()[t] != IGN) {
                assertEquals(ex.inputIds()[t], ex.labels()[t]);
                t++;
            }
            runs.add(TrainFixtures.textOf(ex.inputIds(), s, t));
        }
        return runs;
    }

    @Test
    void templateThatRewritesEarlierTurnsIsRefused() {
        // Mistral v0.3 moves the system prompt into the last user turn, so a prefix renders differently.
        ExampleEncoder enc = new ExampleEncoder(tok, TrainFixtures.realTemplate("mistral-instruct-v0.3"), V);
        BadInputException e = assertThrows(BadInputException.class, () -> enc.chat(List.of(ChatMessage.system("S"),
                ChatMessage.user("a"), ChatMessage.assistant("b"), ChatMessage.user("c"), ChatMessage.assistant("d"))));
        assertTrue(e.getMessage().contains("cannot locate the assistant turn"), e.getMessage());
    }

    @Test
    void preTokenizedIsTakenAsIs() {
        TrainingData data = TrainingData.read(jsonl(dir, "ids.jsonl",
                "{\"input_ids\": [5, 6, 7, 8], \"labels\": [-100, -100, 7, 8]}"), chatml, 64);
        assertEquals(TrainingData.Format.TOKENIZED, data.format());
        assertEquals(new TrainingExample(new int[] {5, 6, 7, 8}, new int[] {IGN, IGN, 7, 8}), data.examples().getFirst());
    }

    @Test
    void truncationDropsTheTailAndSkipsExamplesLeftWithoutTargets() {
        TrainingData data = TrainingData.read(jsonl(dir, "trunc.jsonl",
                "{\"input_ids\": [5, 6, 7, 8, 9, 10], \"labels\": [5, 6, 7, 8, 9, 10]}",
                "{\"input_ids\": [5, 6, 7, 8, 9], \"labels\": [-100, -100, -100, -100, 9]}",
                "{\"input_ids\": [5, 6, 7], \"labels\": [-100, 6, 7]}",
                "{\"input_ids\": [5, 6], \"labels\": [5, -100]}"), chatml, 4);
        assertEquals(2, data.size());
        assertEquals(new TrainingExample(new int[] {5, 6, 7, 8}, new int[] {5, 6, 7, 8}), data.examples().get(0));
        assertEquals(new TrainingExample(new int[] {5, 6, 7}, new int[] {IGN, 6, 7}), data.examples().get(1));
        assertArrayEquals(new int[] {1, 3}, data.lines());
        // 2 truncated (3 tokens dropped); line 2 lost its only target, line 4's only label is at position 0
        assertEquals(new TrainingData.Stats(4, 2, 3, 2, 7, 5), data.stats());
    }

    @Test
    void promptCompletionTruncatedInsideThePromptIsSkipped() {
        TrainingData data = TrainingData.read(jsonl(dir, "p.jsonl",
                "{\"prompt\": \"a long prompt\", \"completion\": \"c\"}", "{\"prompt\": \"p\", \"completion\": \"c\"}"),
                chatml, 6);
        assertEquals(1, data.size());
        assertEquals(1, data.stats().skipped());
        assertEquals(1, data.stats().truncated());
        assertEquals(16 - 6, data.stats().droppedTokens());
    }

    @Test
    void errorsNameFileLineAndField() {
        assertError("{\"prompt\": \"a\"", "bad.jsonl:1: not valid JSON");
        assertError("[1, 2]", "bad.jsonl:1: expected a JSON object per line");
        assertError("{\"prompt\": 3, \"completion\": \"c\"}", "bad.jsonl:1: \"prompt\" must be a string, got 3");
        assertError("{\"completion\": \"c\"}", "bad.jsonl:1: \"prompt\" must be a string, got nothing");
        assertError("{\"foo\": 1}", "bad.jsonl:1: expected {\"prompt\",\"completion\"}");
        assertError("{\"text\": \"a\", \"messages\": []}", "bad.jsonl:1: has both \"messages\" and \"text\"");
        assertError("{\"text\": \"a\"}\n{\"prompt\": \"a\", \"completion\": \"b\"}",
                "bad.jsonl:2: a prompt/completion example in a file of text examples");
        assertError("{\"messages\": {}}", "bad.jsonl:1: \"messages\" must be an array");
        assertError("{\"messages\": [{\"role\": \"user\"}]}", "bad.jsonl:1: \"messages[0].content\" must be a string");
        assertError("{\"messages\": [{\"role\": 1, \"content\": \"x\"}]}", "bad.jsonl:1: \"messages[0].role\" must be a string");
        assertError("{\"messages\": []}", "bad.jsonl:1: \"messages\" is empty");
        assertError("{\"input_ids\": [1, 2]}", "bad.jsonl:1: \"labels\" is missing");
        assertError("{\"input_ids\": [1, 2], \"labels\": [1]}",
                "bad.jsonl:1: \"input_ids\" has 2 tokens but \"labels\" has 1");
        assertError("{\"input_ids\": [1, 259], \"labels\": [1, 2]}",
                "bad.jsonl:1: \"input_ids\"[1] = 259 is not a token id of the model (expected 0..258)");
        assertError("{\"input_ids\": [1, 2], \"labels\": [-1, 2]}", "bad.jsonl:1: \"labels\"[0] = -1 must be -100");
        assertError("{\"input_ids\": [1, 2.5], \"labels\": [1, 2]}", "bad.jsonl:1: \"input_ids\"[1] must be an integer");
        assertError("\n\n", "bad.jsonl: no examples");
        assertError("{\"input_ids\": [1, 2], \"labels\": [1, -100]}", "bad.jsonl: none of its 1 examples has a token to learn");
    }

    @Test
    void messagesWithoutChatTemplateAndMissingFileAreRefused() throws Exception {
        ExampleEncoder noTemplate = new ExampleEncoder(tok, null, V);
        Path f = jsonl(dir, "m.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
        BadInputException e = assertThrows(BadInputException.class, () -> TrainingData.read(f, noTemplate, 64));
        assertTrue(e.getMessage().startsWith(f + ":1: \"messages\" data needs the model's chat template"), e.getMessage());
        e = assertThrows(BadInputException.class, () -> TrainingData.read(dir.resolve("none.jsonl"), chatml, 64));
        assertEquals(dir.resolve("none.jsonl") + ": no such file", e.getMessage());
        Path latin1 = dir.resolve("latin1.jsonl");
        java.nio.file.Files.write(latin1, new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xE9, '"', '}'});
        e = assertThrows(BadInputException.class, () -> TrainingData.read(latin1, chatml, 64));
        assertEquals(latin1 + ": not UTF-8 text; expected a UTF-8 JSONL file", e.getMessage());
        e = assertThrows(BadInputException.class, () -> TrainingData.read(f, chatml, 1));
        assertTrue(e.getMessage().contains("--seq-len must be at least 2"), e.getMessage());
    }

    @Test
    void tokenizerIdsBeyondTheModelVocabularyAreRefused() {
        ExampleEncoder small = new ExampleEncoder(tok, null, 100);  // byte 'a' = 3 + 97 = 100
        BadInputException e = assertThrows(BadInputException.class, () -> small.text("a"));
        assertTrue(e.getMessage().contains("produced token id 100, outside the model's vocabulary of 100"), e.getMessage());
    }

    private void assertError(String content, String expectedPrefix) {
        Path f = jsonl(dir, "bad.jsonl", content);
        BadInputException e = assertThrows(BadInputException.class, () -> TrainingData.read(f, chatml, 64));
        String msg = e.getMessage().replace(dir + "/", "");
        assertTrue(msg.startsWith(expectedPrefix), "got: " + msg + "\nwanted: " + expectedPrefix);
        assertTrue(!msg.contains("\n"), "one line: " + msg);
    }

    @Test
    void quotedStringsRoundTripThroughJsonl() {
        String prompt = "line1\n\"quoted\" \u00e9\u65e5";
        TrainingData data = TrainingData.read(jsonl(dir, "q.jsonl",
                "{\"prompt\": " + quote(prompt) + ", \"completion\": \"ok\"}"), chatml, 64);
        assertEquals(expected(prompt, false, "ok", true, "</s>", true), data.examples().getFirst());
    }
}
