package dev.lorakit.train;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What an optimizer carries from one step to the next, for checkpoints: its kind, the number of
 * updates made, and named float buffers ({@code <parameter>.exp_avg} and
 * {@code <parameter>.exp_avg_sq} for AdamW, as torch names them; none for SGD).
 *
 * @param kind    the optimizer's {@link Optimizer#kind()}
 * @param step    updates made so far
 * @param buffers buffer name to values (copied; the arrays are not to be modified)
 */
public record OptimizerState(String kind, long step, Map<String, float[]> buffers) {
    public OptimizerState {
        Objects.requireNonNull(kind, "kind");
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        Map<String, float[]> copy = new LinkedHashMap<>();
        buffers.forEach((k, v) -> copy.put(Objects.requireNonNull(k), v.clone()));
        buffers = Collections.unmodifiableMap(copy);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OptimizerState s) || !kind.equals(s.kind) || step != s.step
                || !buffers.keySet().equals(s.buffers.keySet())) {
            return false;
        }
        for (Map.Entry<String, float[]> e : buffers.entrySet()) {
            // bit-exact comparison (NaN payloads and signed zeros included)
            float[] a = e.getValue();
            float[] b = s.buffers.get(e.getKey());
            if (a.length != b.length) {
                return false;
            }
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = Objects.hash(kind, step);
        for (Map.Entry<String, float[]> e : buffers.entrySet()) {
            h = 31 * h + e.getKey().hashCode() + Arrays.hashCode(e.getValue());
        }
        return h;
    }

    @Override
    public String toString() {
        return "OptimizerState(" + kind + ", step " + step + ", buffers " + buffers.keySet() + ")";
    }
}
