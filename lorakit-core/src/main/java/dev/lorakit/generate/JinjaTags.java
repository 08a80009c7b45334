package dev.lorakit.generate;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tags transformers' chat templates use that Jinjava lacks or reads differently: the
 * {@code {% generation %}} block, and the loop filter of {@code {% for x in items if cond %}}.
 */
final class JinjaTags {
    private JinjaTags() {
    }

    static List<Tag> tags() {
        return List.of(new Generation(), new FilteringFor());
    }

    /**
     * transformers' {@code {% generation %}...{% endgeneration %}} marks assistant text for the
     * assistant-token mask; when rendering it is just its body.
     */
    static final class Generation implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder out = new StringBuilder();
            for (Node child : tagNode.getChildren()) {
                out.append(child.render(interpreter).getValue());
            }
            return out.toString();
        }
    }

    /**
     * Jinja's {@code for}, including the loop filter {@code for x in items if cond}: items for
     * which cond is false are skipped before the loop starts, so {@code loop.index},
     * {@code loop.last} and {@code loop.length} count only the kept ones. Jinjava would read
     * {@code items if cond} as a conditional expression and loop over everything.
     */
    static final class FilteringFor extends ForTag {
        @Override
        public String interpretUnchecked(TagNode tagNode, JinjavaInterpreter interpreter) {
            var varsAndExpression = getLoopVarsAndExpression((TagToken) tagNode.getMaster());
            List<String> loopVars = varsAndExpression.getLeft();
            String expression = varsAndExpression.getRight();
            int filterAt = loopFilterStart(expression);
            if (filterAt < 0) {
                return super.interpretUnchecked(tagNode, interpreter);
            }
            String condition = expression.substring(filterAt + 2).strip();
            Object items = interpreter.resolveELExpression(expression.substring(0, filterAt).strip(),
                    tagNode.getLineNumber());
            List<Object> kept = new ArrayList<>();
            ForLoop loop = ObjectIterator.getLoop(items);
            while (loop.hasNext()) {
                Object item = loop.next();
                interpreter.enterScope();
                try {
                    bind(interpreter, loopVars, item);
                    if (ObjectTruthValue.evaluate(interpreter.resolveELExpression(condition, tagNode.getLineNumber()))) {
                        kept.add(item);
                    }
                } finally {
                    interpreter.leaveScope();
                }
            }
            return renderForCollection(tagNode, interpreter, loopVars, kept);
        }

        /** Binds one item to the loop variables, unpacking pairs and lists for several names. */
        private static void bind(JinjavaInterpreter interpreter, List<String> names, Object item) {
            if (names.size() == 1) {
                interpreter.getContext().put(names.getFirst(), item);
                return;
            }
            List<?> parts = switch (item) {
                case Map.Entry<?, ?> e -> java.util.Arrays.asList(e.getKey(), e.getValue());
                case List<?> l -> l;
                case Object[] a -> java.util.Arrays.asList(a);
                default -> List.of(item);
            };
            for (int i = 0; i < names.size(); i++) {
                interpreter.getContext().put(names.get(i), i < parts.size() ? parts.get(i) : null);
            }
        }

        /**
         * Where the loop filter's {@code if} starts: the first {@code if} word outside quotes and
         * brackets (Jinja parses a loop's iterable without conditional expressions), or -1.
         */
        static int loopFilterStart(String expression) {
            int depth = 0;
            char quote = 0;
            for (int i = 0; i < expression.length(); i++) {
                char c = expression.charAt(i);
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
                    depth--;
                } else if (depth == 0 && expression.startsWith("if", i) && boundary(expression, i - 1)
                        && boundary(expression, i + 2)) {
                    return i;
                }
            }
            return -1;
        }

        private static boolean boundary(String s, int i) {
            return i < 0 || i >= s.length() || !(Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_');
        }
    }
}
