package dev.lorakit.io.peft;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * adapter_config.json in PEFT's layout: reading with field-by-field validation and refusals of
 * unsupported features, and writing every key PEFT 0.19 writes, sorted and indented as
 * {@code json.dumps(indent=2, sort_keys=True)} lays them out. The one deliberate difference:
 * {@code rank_pattern} and {@code alpha_pattern} keep their order (PEFT sorts them), because
 * the first matching key wins and reordering could change which one does.
 */
final class LoraConfigJson {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .build();

    /** The keys PEFT 0.19.1 writes for a LoRA adapter (checked against saved adapter_config.json files). */
    static final List<String> PEFT_KEYS = List.of(
            "alora_invocation_tokens", "alpha_pattern", "arrow_config", "auto_mapping", "base_model_name_or_path",
            "bias", "corda_config", "ensure_weight_tying", "eva_config", "exclude_modules", "fan_in_fan_out",
            "inference_mode", "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform",
            "loftq_config", "lora_alpha", "lora_bias", "lora_dropout", "lora_ga_config", "megatron_config",
            "megatron_core", "modules_to_save", "peft_type", "peft_version", "qalora_group_size", "r", "rank_pattern",
            "revision", "target_modules", "target_parameters", "task_type", "trainable_token_indices", "use_bdlora",
            "use_dora", "use_qalora", "use_rslora");

    /** Keys of LoRA variants that change the forward pass: refused unless null / empty / false. */
    private static final Map<String, String> VARIANT_KEYS = Map.ofEntries(
            Map.entry("target_parameters", "LoRA on raw parameters (e.g. MoE expert tensors)"),
            Map.entry("layer_replication", "layer replication (it changes the model's layer stack)"),
            Map.entry("trainable_token_indices", "trainable token embeddings"),
            Map.entry("alora_invocation_tokens", "activated LoRA (aLoRA applies only after invocation tokens)"),
            Map.entry("arrow_config", "Arrow routing between several LoRAs"),
            Map.entry("use_bdlora", "block-diagonal LoRA"),
            Map.entry("use_qalora", "QALoRA (A reads pooled inputs)"),
            Map.entry("monteclora_config", "MonteCLoRA"),
            Map.entry("velora_config", "VeLoRA"),
            Map.entry("kasa_config", "KaSA"));

    /** Keys PEFT may write that do not change the adapter's math; read and ignored. */
    private static final Set<String> IGNORED_KEYS = Set.of("auto_mapping", "corda_config", "eva_config",
            "ensure_weight_tying", "loftq_config", "lora_ga_config", "megatron_config", "megatron_core",
            "qalora_group_size", "runtime_config");

    private LoraConfigJson() {
    }

    static LoraConfig read(Path file) {
        String where = file.toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(where + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot read: " + e.getMessage(), e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(where + ": not valid UTF-8");
        }
        return parse(text, where);
    }

    static LoraConfig parse(String json, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new BadInputException(where + ": not valid JSON: " + e.getOriginalMessage().replace('\n', ' '));
        }
        if (root == null || !root.isObject()) {
            throw new BadInputException(where + ": must be a JSON object (a PEFT adapter_config.json)");
        }
        Fields f = new Fields((ObjectNode) root, where);
        refuseUnsupported(f);
        LoraConfig.Builder b = LoraConfig.builder()
                .r(f.positiveInt("r", 8))
                .loraAlpha(f.number("lora_alpha", 8))
                .useRslora(f.bool("use_rslora", false))
                .rankPattern(f.intMap("rank_pattern"))
                .alphaPattern(f.numberMap("alpha_pattern"))
                .targetModules(f.targets("target_modules"))
                .excludeModules(f.targets("exclude_modules"))
                .layersToTransform(f.intOrIntList("layers_to_transform"))
                .layersPattern(f.stringOrStringList("layers_pattern"))
                .fanInFanOut(f.bool("fan_in_fan_out", false))
                .loraDropout(f.number("lora_dropout", 0))
                .initLoraWeights(f.initLoraWeights())
                .taskType(f.string("task_type"))
                .baseModelNameOrPath(f.string("base_model_name_or_path"))
                .revision(f.string("revision"))
                .inferenceMode(f.bool("inference_mode", false))
                .peftVersion(f.string("peft_version"));
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new BadInputException(where + ": " + e.getMessage(), e);
        }
    }

    private static void refuseUnsupported(Fields f) {
        JsonNode type = f.node("peft_type");
        if (type == null) {
            throw f.bad("peft_type", "is missing; expected \"LORA\" (is this a PEFT adapter_config.json?)");
        }
        if (!type.isTextual() || !type.asText().equals("LORA")) {
            throw f.bad("peft_type", "is " + type + "; only \"LORA\" adapters are supported");
        }
        String bias = f.string("bias");
        if (bias != null && !bias.equals("none")) {
            throw f.bad("bias", "is \"" + bias + "\": adapters that also train base-layer biases are not supported;"
                    + " only \"none\" is");
        }
        if (f.bool("use_dora", false)) {
            throw f.bad("use_dora", "is true: DoRA adapters are not supported yet; refusing rather than applying"
                    + " them as plain LoRA (which would silently give wrong weights)");
        }
        if (f.bool("lora_bias", false)) {
            throw f.bad("lora_bias", "is true: LoRA B biases are not supported yet; refusing rather than dropping them");
        }
        JsonNode save = f.node("modules_to_save");
        if (isSet(save)) {
            throw f.bad("modules_to_save", "is " + save + ": full copies of modules are not supported, only LoRA"
                    + " factors; retrain without modules_to_save or merge those modules into the base model");
        }
        for (Map.Entry<String, String> v : VARIANT_KEYS.entrySet()) {
            JsonNode n = f.node(v.getKey());
            if (isSet(n)) {
                throw f.bad(v.getKey(), "is " + n + ": " + v.getValue() + " is not supported; only plain LoRA is");
            }
        }
        for (Map.Entry<String, JsonNode> e : f.obj.properties()) {
            String key = e.getKey();
            if (key.startsWith("use_") && e.getValue().isBoolean() && e.getValue().booleanValue()
                    && !PEFT_KEYS.contains(key) && !IGNORED_KEYS.contains(key)) {
                throw f.bad(key, "is true: an unknown LoRA variant flag; lorakit cannot apply it faithfully");
            }
        }
    }

    /** True for a value that turns a feature on: anything but null, false, an empty list/object or "". */
    private static boolean isSet(JsonNode n) {
        if (n == null || n.isNull() || (n.isBoolean() && !n.booleanValue())) {
            return false;
        }
        if (n.isContainerNode() || n.isTextual()) {
            return !n.isEmpty() && !(n.isTextual() && n.asText().isEmpty());
        }
        return true;
    }

    /** Typed access to the fields of one config object, with errors naming the file and field. */
    private record Fields(ObjectNode obj, String where) {
        JsonNode node(String name) {
            return obj.get(name);
        }

        BadInputException bad(String field, String problem) {
            return new BadInputException(where + ": field \"" + field + "\" " + problem);
        }

        boolean bool(String name, boolean dflt) {
            JsonNode n = obj.get(name);
            if (n == null || n.isNull()) {
                return dflt;
            }
            if (!n.isBoolean()) {
                throw bad(name, "must be true or false, got " + n);
            }
            return n.booleanValue();
        }

        int positiveInt(String name, int dflt) {
            JsonNode n = obj.get(name);
            if (n == null) {
                return dflt;
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
                throw bad(name, "must be a positive integer, got " + n);
            }
            return n.intValue();
        }

        double number(String name, double dflt) {
            JsonNode n = obj.get(name);
            if (n == null) {
                return dflt;
            }
            if (!n.isNumber() || !Double.isFinite(n.doubleValue())) {
                throw bad(name, "must be a finite number, got " + n);
            }
            return n.doubleValue();
        }

        String string(String name) {
            JsonNode n = obj.get(name);
            if (n == null || n.isNull()) {
                return null;
            }
            if (!n.isTextual()) {
                throw bad(name, "must be a string or null, got " + n);
            }
            return n.asText();
        }

        Map<String, Integer> intMap(String name) {
            Map<String, Integer> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : objectEntries(name)) {
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() <= 0) {
                    throw bad(name, "value for \"" + e.getKey() + "\" must be a positive integer, got " + v);
                }
                out.put(e.getKey(), v.intValue());
            }
            return out;
        }

        Map<String, Double> numberMap(String name) {
            Map<String, Double> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : objectEntries(name)) {
                JsonNode v = e.getValue();
                if (!v.isNumber() || !Double.isFinite(v.doubleValue())) {
                    throw bad(name, "value for \"" + e.getKey() + "\" must be a finite number, got " + v);
                }
                out.put(e.getKey(), v.doubleValue());
            }
            return out;
        }

        private Iterable<Map.Entry<String, JsonNode>> objectEntries(String name) {
            JsonNode n = obj.get(name);
            if (n == null || n.isNull()) {
                return List.of();
            }
            if (!n.isObject()) {
                throw bad(name, "must be an object mapping module names or regexes to values, got " + n);
            }
            return n.properties();
        }

        TargetModules targets(String name) {
            JsonNode n = obj.get(name);
            if (n == null || n.isNull()) {
                return null;
            }
            if (n.isTextual()) {
                String s = n.asText();
                try {
                    return name.equals("target_modules") ? TargetModules.ofString(s) : new TargetModules.Regex(s);
                } catch (IllegalArgumentException e) {
                    throw bad(name, e.getMessage());
                }
            }
            if (n.isArray()) {
                List<String> names = new ArrayList<>();
                for (JsonNode item : n) {
                    if (!item.isTextual()) {
                        throw bad(name, "must be a list of module names or a regex string, got " + n);
                    }
                    names.add(item.asText());
                }
                return new TargetModules.Names(names);
            }
            throw bad(name, "must be a list of module names or a regex string, got " + n);
        }

        List<Integer> intOrIntList(String name) {
            JsonNode n = obj.get(name);
            if (n == null || n.isNull()) {
                return List.of();
            }
            List<Integer> out = new ArrayList<>();
            for (JsonNode item : n.isArray() ? n : List.of(n)) {
                if (!item.isIntegralNumber() || !item.canConvertToInt() || item.intValue() < 0) {
                    throw bad(name, "must be a layer index or a list of layer indices, got " + n);
                }
                out.add(item.intValue());
            }
            return out;
        }

        List<String> stringOrStringList(String name) {
            JsonNode n = obj.get(name);
            if (n == null || n.isNull()) {
                return List.of();
            }
            List<String> out = new ArrayList<>();
            for (JsonNode item : n.isArray() ? n : List.of(n)) {
                if (!item.isTextual()) {
                    throw bad(name, "must be a string or a list of strings, got " + n);
                }
                if (!item.asText().isEmpty()) {
                    out.add(item.asText());
                }
            }
            return out;
        }

        String initLoraWeights() {
            JsonNode n = obj.get("init_lora_weights");
            if (n == null || n.isNull()) {
                return "true";
            }
            if (n.isBoolean()) {
                return Boolean.toString(n.booleanValue());
            }
            if (!n.isTextual()) {
                throw bad("init_lora_weights", "must be true, false or a method name, got " + n);
            }
            String v = n.asText();
            if (v.startsWith("pissa") || v.equals("olora") || v.equals("corda") || v.equals("lora_ga")) {
                throw bad("init_lora_weights", "is \"" + v + "\": this initialisation also changes the base weights,"
                        + " so the adapter only fits the modified base; convert it to plain LoRA first (PEFT:"
                        + " save_pretrained(..., path_initial_model_for_weight_conversion=...))");
            }
            if (v.equals("loftq")) {
                throw bad("init_lora_weights", "is \"loftq\": LoftQ adapters are trained against a LoftQ-quantized base,"
                        + " not the original weights; refusing rather than applying them to the wrong base");
            }
            return v;
        }
    }

    /** The adapter_config.json text: PEFT 0.19's key set, sorted, Python json.dumps(indent=2) layout. */
    static String write(LoraConfig c) {
        JsonNodeFactory nf = JsonNodeFactory.instance;
        Map<String, JsonNode> m = new TreeMap<>();
        for (String key : PEFT_KEYS) {
            m.put(key, nf.nullNode());
        }
        ObjectNode alphas = nf.objectNode();
        c.alphaPattern().forEach((k, v) -> alphas.set(k, number(v)));
        m.put("alpha_pattern", alphas);
        ObjectNode ranks = nf.objectNode();
        c.rankPattern().forEach(ranks::put);
        m.put("rank_pattern", ranks);
        m.put("base_model_name_or_path", textOrNull(c.baseModelNameOrPath()));
        m.put("bias", nf.textNode("none"));
        m.put("ensure_weight_tying", nf.booleanNode(false));
        m.put("exclude_modules", c.excludeModules() == null ? nf.nullNode() : targets(c.excludeModules()));
        m.put("fan_in_fan_out", nf.booleanNode(c.fanInFanOut()));
        m.put("inference_mode", nf.booleanNode(c.inferenceMode()));
        String init = c.initLoraWeights();
        m.put("init_lora_weights", init.equals("true") || init.equals("false")
                ? nf.booleanNode(Boolean.parseBoolean(init)) : nf.textNode(init));
        if (!c.layersPattern().isEmpty()) {
            m.put("layers_pattern", c.layersPattern().size() == 1 ? nf.textNode(c.layersPattern().getFirst())
                    : strings(c.layersPattern()));
        }
        if (!c.layersToTransform().isEmpty()) {
            ArrayNode layers = nf.arrayNode();
            c.layersToTransform().forEach(layers::add);
            m.put("layers_to_transform", layers);
        }
        m.put("loftq_config", nf.objectNode());
        m.put("lora_alpha", number(c.loraAlpha()));
        m.put("lora_bias", nf.booleanNode(false));
        m.put("lora_dropout", nf.numberNode(c.loraDropout()));
        m.put("megatron_core", nf.textNode("megatron.core"));
        m.put("peft_type", nf.textNode("LORA"));
        m.put("peft_version", textOrNull(c.peftVersion()));
        m.put("qalora_group_size", nf.numberNode(16));
        m.put("r", nf.numberNode(c.r()));
        m.put("revision", textOrNull(c.revision()));
        m.put("target_modules", targets(c.targetModules()));
        m.put("task_type", textOrNull(c.taskType()));
        m.put("use_dora", nf.booleanNode(false));
        m.put("use_qalora", nf.booleanNode(false));
        m.put("use_rslora", nf.booleanNode(c.useRslora()));
        ObjectNode root = nf.objectNode();
        m.forEach(root::set);
        StringBuilder out = new StringBuilder();
        pythonDump(root, 0, out);
        return out.toString();
    }

    private static JsonNode targets(TargetModules t) {
        return switch (t) {
            case TargetModules.Names(List<String> names) -> strings(names);
            case TargetModules.Regex(String pattern) -> JsonNodeFactory.instance.textNode(pattern);
            case TargetModules.AllLinear() -> JsonNodeFactory.instance.textNode("all-linear");
        };
    }

    private static ArrayNode strings(List<String> values) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        values.forEach(a::add);
        return a;
    }

    private static JsonNode textOrNull(String s) {
        return s == null ? JsonNodeFactory.instance.nullNode() : JsonNodeFactory.instance.textNode(s);
    }

    /** Integral values as JSON integers (as PEFT's int-typed fields), others as doubles. */
    private static JsonNode number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return JsonNodeFactory.instance.numberNode((long) v);
        }
        return JsonNodeFactory.instance.numberNode(v);
    }

    /** Python {@code json.dumps(indent=2)} layout: one member per line, "key": value, {} and [] when empty. */
    private static void pythonDump(JsonNode n, int depth, StringBuilder out) {
        String pad = "  ".repeat(depth + 1);
        if (n.isObject() && !n.isEmpty()) {
            out.append("{\n");
            boolean first = true;
            for (Map.Entry<String, JsonNode> e : n.properties()) {
                out.append(first ? "" : ",\n").append(pad).append(scalar(JsonNodeFactory.instance.textNode(e.getKey())))
                        .append(": ");
                pythonDump(e.getValue(), depth + 1, out);
                first = false;
            }
            out.append('\n').append("  ".repeat(depth)).append('}');
        } else if (n.isArray() && !n.isEmpty()) {
            out.append("[\n");
            for (int i = 0; i < n.size(); i++) {
                out.append(i == 0 ? "" : ",\n").append(pad);
                pythonDump(n.get(i), depth + 1, out);
            }
            out.append('\n').append("  ".repeat(depth)).append(']');
        } else if (n.isObject()) {
            out.append("{}");
        } else if (n.isArray()) {
            out.append("[]");
        } else {
            out.append(scalar(n));
        }
    }

    private static String scalar(JsonNode n) {
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
