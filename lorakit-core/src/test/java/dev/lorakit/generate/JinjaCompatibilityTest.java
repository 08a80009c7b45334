package dev.lorakit.generate;

import static dev.lorakit.generate.TemplateFixtures.map;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lorakit.BadInputException;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Jinja features chat templates rely on give Jinja2's output (as transformers configures
 * it: trim_blocks, lstrip_blocks, its tojson and globals). Each expected string is what Jinja2
 * 3.1 prints for the template with the variables below; many of these differ in plain Jinjava
 * (Python string methods, True/False, loop filters, {@code not x is defined}, tojson spacing,
 * strings being iterable...).
 */
class JinjaCompatibilityTest {
    private static final Map<String, Object> VARIABLES = map(
            "s", "  Hello, World  ",
            "n", 7,
            "f", 2.5,
            "d", map("b", 1, "a", Arrays.asList(1, 2.5, "x\"y", null, true)),
            "l", List.of(3, 1, 2),
            "msgs", List.of(map("role", "system", "content", " sys "), map("role", "user", "content", "hi"),
                    map("role", "assistant", "content", "yo")),
            "e", "",
            "u8", "é😀");

    static Stream<Arguments> jinja2Outputs() {
        return Stream.of(
                Arguments.of("{{ 'a' + 'b' }}",
                        "ab"),
                Arguments.of("{{ 'x' + s | trim + 'y' }}",
                        "xHello, Worldy"),
                Arguments.of("{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}",
                        "Hello, World|Hello, World  |  Hello, World"),
                Arguments.of("{{ s.startswith('  H') }}{{ s.endswith('x') }}{{ s.startswith(('a', '  ')) }}",
                        "TrueFalseTrue"),
                Arguments.of("{{ s.upper() }}|{{ s.lower() }}|{{ s.title() }}",
                        "  HELLO, WORLD  |  hello, world  |  Hello, World  "),
                Arguments.of("{{ s.split(',') }}",
                        "['  Hello', ' World  ']"),
                Arguments.of("{{ s.split() }}",
                        "['Hello,', 'World']"),
                Arguments.of("{{ s.replace('l', 'L') }}",
                        "  HeLLo, WorLd  "),
                Arguments.of("{{ ', '.join(['a', 'b']) }}",
                        "a, b"),
                Arguments.of("{% for m in msgs %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
                        "01TrueFalse3;12FalseFalse3;23FalseTrue3;"),
                Arguments.of("{% set ns = namespace(x=1, found=false) %}{% for m in msgs %}{% set ns.x = ns.x + 1 %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.x }}{{ ns.found }}",
                        "4True"),
                Arguments.of("{{ 'a\\nb' }}|{{ \"c\\td\" }}|{{ 'e\\\\f' }}|{{ 'it\\'s' }}",
                        "a\nb|c\td|e\\f|it's"),
                Arguments.of("{% set sm = 'abc' %}{{ sm != false }}{% set sm = false %}{{ sm != false }}",
                        "TrueFalse"),
                Arguments.of("{{ 'role' in msgs[0] }}{{ 'tool_calls' in msgs[0] }}{{ 'tool_calls' not in msgs[0] }}{{ 'b' in 'abc' }}{{ 2 in l }}",
                        "TrueFalseTrueTrueTrue"),
                Arguments.of("{{ d | tojson }}",
                        "{\"b\": 1, \"a\": [1, 2.5, \"x\\\"y\", null, true]}"),
                Arguments.of("{{ d | tojson(indent=2) }}",
                        "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2.5,\n    \"x\\\"y\",\n    null,\n    true\n  ]\n}"),
                Arguments.of("{{ d | tojson(sort_keys=true) }}",
                        "{\"a\": [1, 2.5, \"x\\\"y\", null, true], \"b\": 1}"),
                Arguments.of("{{ d | tojson(separators=(',', ':')) }}",
                        "{\"b\":1,\"a\":[1,2.5,\"x\\\"y\",null,true]}"),
                Arguments.of("{{ u8 | tojson }}{{ u8 | tojson(ensure_ascii=true) }}",
                        "\"é😀\"\"\\u00e9\\ud83d\\ude00\""),
                Arguments.of("{{ f | tojson }}{{ n | tojson }}{{ 1e20 | tojson }}{{ 0.0001 | tojson }}{{ 1.5e-7 | tojson }}",
                        "2.571e+200.00011.5e-07"),
                Arguments.of("{{ msgs[0]['content'] | trim }}|{{ msgs[0].content | trim }}|",
                        "sys|sys|"),
                Arguments.of("{{ (msgs[1]['role'] == 'user') != (1 % 2 == 0) }}",
                        "True"),
                Arguments.of("{{ 3 // 2 }} {{ 7 / 2 }} {{ 7 % 3 }} {{ 2 ** 3 }} {{ -7 // 2 }}",
                        "1 3.5 1 8 -4"),
                Arguments.of("{% for k, v in d.items() %}{{ k }}={{ v | tojson }};{% endfor %}",
                        "b=1;a=[1, 2.5, \"x\\\"y\", null, true];"),
                Arguments.of("{% for k, v in d | items %}{{ k }};{% endfor %}",
                        "b;a;"),
                Arguments.of("{% for k in d %}{{ k }};{% endfor %}",
                        "b;a;"),
                Arguments.of("{{ msgs | selectattr('role', 'equalto', 'user') | list | length }}",
                        "1"),
                Arguments.of("{{ msgs | map(attribute='role') | join(',') }}",
                        "system,user,assistant"),
                Arguments.of("{{ s is string }}{{ d is mapping }}{{ l is iterable }}{{ s is iterable }}{{ n is number }}{{ l is sequence }}{{ d is iterable }}",
                        "TrueTrueTrueTrueTrueTrueTrue"),
                Arguments.of("{% for m in msgs if m.role != 'system' %}{{ m.role }}{{ loop.index0 }}{{ loop.last }};{% endfor %}",
                        "user0False;assistant1True;"),
                Arguments.of("{{ not true }}{{ true and false }}{{ false or 'x' }}{{ none or 'y' }}",
                        "FalseFalsexy"),
                Arguments.of("{% if e %}T{% else %}F{% endif %}{% if l %}T{% endif %}{% if [] %}T{% else %}F{% endif %}{% if {} %}T{% else %}F{% endif %}{% if 0 %}T{% else %}F{% endif %}",
                        "FTFFF"),
                Arguments.of("{{ 'x' if true else 'y' }}{{ 'x' if false }}|",
                        "x|"),
                Arguments.of("{{ msgs[0].get('role') }}{{ msgs[0].get('nope', 'dflt') }}",
                        "systemdflt"),
                Arguments.of("{{ d.a[1] }} {{ d['a'][0] + 1 }}",
                        "2.5 2"),
                Arguments.of("{{ l | length }}{{ s | length }}{{ d | length }}",
                        "3162"),
                Arguments.of("{% macro greet(name) %}Hi {{ name }}{% endmacro %}{{ greet('x') }}",
                        "Hi x"),
                Arguments.of("{{ (l | first) }}{{ (l | last) }}",
                        "32"),
                Arguments.of("{{ 'abc' | upper }}{{ 'ABC' | lower }}{{ 'hello world' | title }}{{ 'hello world' | capitalize }}",
                        "ABCabcHello WorldHello world"),
                Arguments.of("{{ '%s-%d' | format('a', 3) }}",
                        "a-3"),
                Arguments.of("{{ range(3) | list }}",
                        "[0, 1, 2]"),
                Arguments.of("{{ [1, 2] + [3] }}",
                        "[1, 2, 3]"),
                Arguments.of("{{ d.b }}{{ d['b'] }}{{ d.missing }}|{{ d['missing'] }}|",
                        "11||"),
                Arguments.of("{{ n > 5 and n < 10 }}",
                        "True"),
                Arguments.of("{{ l[0] }}{{ l[-1] }}",
                        "32"),
                Arguments.of("{%- if true -%}\n  x  \n{%- endif -%}\n",
                        "x"),
                Arguments.of("a\n  {% if true %}\n  b\n  {% endif %}\nc",
                        "a\n  b\nc"),
                Arguments.of("{{ 1 }}\n{# c #}\nz",
                        "1\nz"),
                Arguments.of("{% raw %}{{ x }}{% endraw %}",
                        "{{ x }}"),
                Arguments.of("{{ {'a': 1, 'b': none, 'c': true, 'd': 'x'} | string }}",
                        "{'a': 1, 'b': None, 'c': True, 'd': 'x'}"),
                Arguments.of("{{ s | replace('l', 'L') }}{{ s | wordcount }}",
                        "  HeLLo, WorLd  2"),
                Arguments.of("{% set content = msgs[0]['content'] %}{{ content is string }}",
                        "True"),
                Arguments.of("{{ strftime_now('%Y') | length }}",
                        "4"),
                Arguments.of("{{ messages_undefined | length }}",
                        "0"),
                Arguments.of("{{ msgs[1:] | length }}|{{ msgs[1:][0].role }}|{{ msgs[-1].role }}|{{ 'abc'[1:] }}|{{ 'abc'[:-1] }}",
                        "2|user|assistant|bc|ab"),
                Arguments.of("{{ true }}|{{ [1, 'a'] }}|{{ {'a': 1} }}|{{ 1.0 }}|{{ d }}|{{ 1e20 }}",
                        "True|[1, 'a']|{'a': 1}|1.0|{'b': 1, 'a': [1, 2.5, 'x\"y', None, True]}|1e+20"),
                Arguments.of("{{ l | sort | join }}",
                        "123"),
                Arguments.of("{{ not x is defined }}",
                        "True"),
                Arguments.of("{{ not y is defined }}",
                        "True"),
                Arguments.of("{{ not n is none }}",
                        "True"),
                Arguments.of("{{ not l is none }}",
                        "True"),
                Arguments.of("{{ not s is string }}",
                        "False"),
                Arguments.of("{{ not l|length == 3 }}",
                        "False"),
                Arguments.of("{{ not l is defined or s|length != 2 }}",
                        "True"),
                Arguments.of("{{ l is defined and not n is not none }}",
                        "False"),
                Arguments.of("{{ not l[0] is number }}",
                        "False"),
                Arguments.of("{{ not d.a is sequence }}",
                        "False"),
                Arguments.of("{% if not d['b'] is divisibleby(2) %}odd{% endif %}",
                        "odd"),
                Arguments.of("{{ 'not x is y' }}{# not x is defined #}",
                        "not x is y"));
    }

    @ParameterizedTest
    @MethodSource("jinja2Outputs")
    void rendersAsJinja2(String template, String expected) {
        assertEquals(expected, ChatTemplate.of("probe.jinja", template, null, null).render(List.of(), false, VARIABLES));
    }

    /**
     * Whitespace as transformers' environment lays it out: trim_blocks drops the newline after
     * a block tag or comment, lstrip_blocks the indentation before one (only at the start of a
     * line), {@code {%+} / {@code +%}} opt out, {@code -} strips everything, raw blocks are
     * left alone inside.
     */
    static Stream<Arguments> whitespace() {
        return Stream.of(
                Arguments.of("{% if true %}\n\nA{% endif %}", "\nA"),
                Arguments.of("{% if true %}  \nA{% endif %}", "  \nA"),
                Arguments.of("{% if true +%}\nA{% endif %}", "\nA"),
                Arguments.of("{% if true -%}\n\n  A{% endif %}", "A"),
                Arguments.of("{# c #}\nA", "A"),
                Arguments.of("{{ 1 }}\nA", "1\nA"),
                Arguments.of("{% set x = 1 %}\n{{ x }}\n", "1"),
                Arguments.of("{% raw %}\n  {% if %}\n  {% endraw %}\nB", "\n  {% if %}\nB"),
                Arguments.of("  {% raw %}x{% endraw %}\nB", "xB"),
                Arguments.of("{% if true %}[a] {% endif %}|", "[a] |"),
                Arguments.of("x  {% if true %}y{% endif %}|", "x  y|"),
                Arguments.of("x\n  {% if true %}y{% endif %}|", "x\ny|"),
                Arguments.of("a {{ 1 }} {% if true %} b {% endif %} c", "a 1  b  c"),
                Arguments.of("x\t{%- if true %}y{% endif %}", "xy"),
                Arguments.of("  {# c #}z", "z"),
                Arguments.of("a  {# c #}z", "a  z"),
                Arguments.of("{% for i in [1,2] %} {{ i }} {% endfor %}|", " 1  2 |"),
                Arguments.of("a\n    {%+ if true %}b{% endif %}", "a\n    b"),
                Arguments.of("{% if true %}\n  {% if true %}\n    X\n  {% endif %}\n{% endif %}\nY", "    X\nY"),
                Arguments.of("a\n\t {% if true %}b\n\t {% endif %}c", "a\nb\nc"),
                Arguments.of("{% if true %}  {% endif %}|", "  |"),
                Arguments.of("{%- if true %}\n  x\n  {%+ endif %}", "  x\n  "),
                Arguments.of("a\n  {{ 1 }}\n  {# c #}\nb", "a\n  1\nb"),
                Arguments.of("{{ '{% if %}' }}\n  {% if true %}x{% endif %}", "{% if %}\nx"),
                Arguments.of("a\n \u00a0{% if true %}x{% endif %}", "a\nx"),
                Arguments.of("{% if true %}\n{% endif %}", ""),
                Arguments.of("\n{% if true %}\nx\n{% endif %}\n", "\nx\n"),
                Arguments.of("{% macro m() %}\n  body\n{% endmacro %}\n{{ m() }}|", "  body\n|"),
                Arguments.of("a  {{- 1 -}}  b", "a1b"),
                Arguments.of("a \n{#- c -#}\n b", "ab"),
                Arguments.of("a\n  {#- c #}\nb", "ab"),
                Arguments.of("{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}", "12"),
                Arguments.of("x {%- if true -%} y {%- endif -%} z", "xyz"));
    }

    @ParameterizedTest
    @MethodSource("whitespace")
    void laysOutWhitespaceAsJinja2(String template, String expected) {
        assertEquals(expected, ChatTemplate.of("ws.jinja", template, null, null).render(List.of(), false, Map.of()));
    }

    @Test
    void strftimeNowFormatsAsPython() {
        assertEquals("26 Jul 2024 15:04:05 03PM Friday Fri July 07 24 208 %",
                HfJinja.strftime(LocalDateTime.of(2024, 7, 26, 15, 4, 5), "%d %b %Y %H:%M:%S %I%p %A %a %B %m %y %j %%"));
        assertEquals("01 Sep 2025 12AM", HfJinja.strftime(LocalDateTime.of(2025, 9, 1, 0, 0), "%d %b %Y %I%p"));
        BadInputException e = assertThrows(BadInputException.class, () -> ChatTemplate.of("t.jinja",
                "{{ strftime_now('%Q') }}", null, null).render(List.of(), false));
        assertEquals("t.jinja: chat template cannot be rendered (line 1): strftime_now: the directive %Q is not"
                + " supported", e.getMessage());
    }
}
