package dev.lorakit.generate;

import java.util.Set;
import java.util.TreeSet;

/**
 * A template's text prepared for Jinjava the way Jinja2 (as transformers configures it) would
 * read it, and the filter and test names it uses (so that names Jinjava does not know can fail
 * loudly instead of rendering nothing).
 *
 * <p>Preparation, all outside string literals, raw blocks and comments:
 * <ul>
 *   <li>newlines normalized to \n and one trailing newline dropped (keep_trailing_newline=False;
 *       Jinjava's own option strips the rendered output's last newline instead);</li>
 *   <li>trim_blocks and lstrip_blocks applied here, as Jinja2's lexer applies them, with the
 *       {@code {%+} and {@code +%}} overrides: Jinjava's lstrip_blocks also eats spaces in the
 *       middle of a line ({@code [a] {% endif %}} loses its space) and it knows no {@code +};</li>
 *   <li>{@code not X is T} rewritten to {@code not (X is T)}. In Jinja2 a test binds tighter
 *       than {@code not}, so {@code not tools is none} asks whether tools is not None; Jinjava
 *       applies {@code not} to X first and tests the boolean, so every {@code not X is defined}
 *       on a defined X came out true. Chat templates use this form for their guards (Llama
 *       3.1's {@code if not tools is defined}, Mistral's {@code if not tool_call.id is
 *       defined}). X is a variable path with attribute, index, call and filter suffixes
 *       ({@code message.tool_calls[0]}, {@code x|length}); T is a test name, optionally negated
 *       and with call arguments.</li>
 * </ul>
 */
final class JinjaSource {
    /** The text to give Jinjava. */
    final String text;
    /** Filter names used ({@code x | name}). */
    final Set<String> filters = new TreeSet<>();
    /** Test names used ({@code x is name}, {@code x is not name}). */
    final Set<String> tests = new TreeSet<>();

    JinjaSource(String template) {
        String s = template.replace("\r\n", "\n").replace('\r', '\n');
        s = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
        this.text = prepare(s);
    }

    private String prepare(String source) {
        StringBuilder out = new StringBuilder(source.length() + 16);
        int n = source.length();
        int i = 0;          // next source char to copy
        int textStart = 0;  // where the plain text now ending in out began in the source
        while (i < n) {
            int open = nextTagOpen(source, i);
            if (open < 0) {
                out.append(source, i, n);
                break;
            }
            out.append(source, i, open);
            char kind = source.charAt(open + 1);
            boolean block = kind != '{';            // block tags and comments, not {{ }}
            String close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int end = kind == '#' ? commentEnd(source, open + 2) : tagEnd(source, open + 2, close);
            String body = source.substring(open + 2, end);
            if (block && body.startsWith("+")) {
                body = body.substring(1);           // {%+ keeps the indentation before the tag
            } else if (block && !body.startsWith("-")) {
                lstripBlock(source, textStart, open, out);
            }
            boolean trim = block && !body.endsWith("-");  // -%} is Jinjava's to handle
            if (block && body.endsWith("+")) {
                body = body.substring(0, body.length() - 1);
                trim = false;                       // +%} keeps the newline after the tag
            }
            out.append(source, open, open + 2).append(kind == '#' ? body : rewriteExpression(body)).append(close);
            i = Math.min(n, end + 2);
            if (kind == '%' && isTag(body, "raw")) {
                int endRaw = rawEnd(source, i);     // raw text is copied verbatim, no trim after {% raw %}
                out.append(source, i, endRaw);
                textStart = i;
                i = endRaw;
                continue;
            }
            if (trim && i < n && source.charAt(i) == '\n') {
                i++;                                // trim_blocks: the newline after a block tag goes
            }
            textStart = i;
        }
        return out.toString();
    }

    /**
     * lstrip_blocks: if only spaces stand between the start of the line and a block tag, they go.
     * The line may have started in an earlier piece of text whose newline trim_blocks removed.
     */
    private static void lstripBlock(String source, int textStart, int tagStart, StringBuilder out) {
        int j = tagStart;
        while (j > textStart && source.charAt(j - 1) != '\n' && PythonStringMethods.isPythonSpace(source.charAt(j - 1))) {
            j--;
        }
        if (j == 0 || source.charAt(j - 1) == '\n') {
            out.setLength(out.length() - (tagStart - j));
        }
    }

    private static boolean isTag(String body, String name) {
        return PythonStringMethods.strip(body, "+-", true, true).strip().equals(name);
    }

    private static int commentEnd(String s, int from) {
        int end = s.indexOf("#}", from);
        return end < 0 ? s.length() : end;
    }

    private static int nextTagOpen(String s, int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** Index of the closing delimiter (outside string literals), or the end of the text. */
    private static int tagEnd(String s, int from, String close) {
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (s.startsWith(close, i)) {
                return i;
            }
        }
        return s.length();
    }

    private static int rawEnd(String s, int from) {
        for (int i = s.indexOf("{%", from); i >= 0; i = s.indexOf("{%", i + 2)) {
            int end = s.indexOf("%}", i);
            if (end > 0 && isTag(s.substring(i + 2, end), "endraw")) {
                return i;
            }
        }
        return s.length();
    }

    /** Rewrites every {@code not X is T} in one tag's text, noting filter and test names. */
    private String rewriteExpression(String e) {
        StringBuilder out = new StringBuilder(e.length() + 8);
        int i = 0;
        char quote = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (quote != 0) {
                out.append(c);
                if (c == '\\' && i + 1 < e.length()) {
                    out.append(e.charAt(++i));
                } else if (c == quote) {
                    quote = 0;
                }
                i++;
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                out.append(c);
                i++;
                continue;
            }
            if (c == '|' || word(e, i, "is")) {
                noteName(e, i);
            }
            if (word(e, i, "not")) {
                int[] span = operandAndTest(e, skipSpace(e, i + 3));
                if (span != null) {
                    out.append("not (").append(rewriteExpression(e.substring(span[0], span[1]))).append(')');
                    i = span[1];
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    /** Notes the filter name after the {@code |}, or the test name after the {@code is}, at i. */
    private void noteName(String e, int i) {
        boolean filter = e.charAt(i) == '|';
        int j = skipSpace(e, i + (filter ? 1 : 2));
        if (!filter && word(e, j, "not")) {
            j = skipSpace(e, j + 3);
        }
        int k = identifierEnd(e, j);
        if (k > j) {
            (filter ? filters : tests).add(e.substring(j, k));
        }
    }

    /** If {@code X is [not] T[(args)]} starts at {@code at}, its [start, end); else null. */
    private static int[] operandAndTest(String e, int at) {
        int i = identifierEnd(e, at);
        if (i == at || word(e, at, "not") || word(e, at, "is")) {
            return null;
        }
        while (true) {                              // suffixes: .name [..] (..) |filter
            int j = skipSpace(e, i);
            if (j < e.length() && e.charAt(j) == '.' ) {
                int k = identifierEnd(e, skipSpace(e, j + 1));
                if (k == skipSpace(e, j + 1)) {
                    return null;
                }
                i = k;
            } else if (j < e.length() && (e.charAt(j) == '[' || e.charAt(j) == '(') && j == i) {
                i = closing(e, j);
                if (i < 0) {
                    return null;
                }
            } else if (j < e.length() && e.charAt(j) == '|') {
                int k = identifierEnd(e, skipSpace(e, j + 1));
                if (k == skipSpace(e, j + 1)) {
                    return null;
                }
                i = k;
                if (k < e.length() && e.charAt(k) == '(') {
                    i = closing(e, k);
                    if (i < 0) {
                        return null;
                    }
                }
            } else {
                break;
            }
        }
        int j = skipSpace(e, i);
        if (!word(e, j, "is")) {
            return null;
        }
        j = skipSpace(e, j + 2);
        if (word(e, j, "not")) {
            j = skipSpace(e, j + 3);
        }
        int k = identifierEnd(e, j);
        if (k == j) {
            return null;
        }
        if (k < e.length() && e.charAt(k) == '(') {
            k = closing(e, k);
            if (k < 0) {
                return null;
            }
        }
        return new int[] {at, k};
    }

    /** Index just past the bracket matching the one at {@code open}, or -1. */
    private static int closing(String e, int open) {
        int depth = 0;
        char quote = 0;
        for (int i = open; i < e.length(); i++) {
            char c = e.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) {
                    return i + 1;
                }
            }
        }
        return -1;
    }

    private static int identifierEnd(String e, int i) {
        if (i >= e.length() || !(Character.isLetter(e.charAt(i)) || e.charAt(i) == '_')) {
            return i;
        }
        while (i < e.length() && (Character.isLetterOrDigit(e.charAt(i)) || e.charAt(i) == '_')) {
            i++;
        }
        return i;
    }

    private static int skipSpace(String e, int i) {
        while (i < e.length() && Character.isWhitespace(e.charAt(i))) {
            i++;
        }
        return i;
    }

    /** True if the keyword w stands at i as a whole word. */
    private static boolean word(String e, int i, String w) {
        return e.startsWith(w, i) && (i == 0 || !isNameChar(e.charAt(i - 1)))
                && (i + w.length() >= e.length() || !isNameChar(e.charAt(i + w.length())));
    }

    private static boolean isNameChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '.';
    }
}
