package dev.lorakit.train;

import dev.lorakit.io.hf.Projection;
import dev.lorakit.io.hf.ProjectionModule;
import java.util.Arrays;
import java.util.Random;

/**
 * What a trainable two-factor branch of one projection holds, in float32 with its gradient
 * buffers: Down [R, in] and Up [out, R] and a scale. {@link LoraParameters} (A, B) and
 * {@link RecoveryParameters} (D, U) name the factors; the plumbing lives here once.
 */
abstract class LowRankFactors {
    private final String module;
    private final ProjectionModule where;
    private final int rank;
    private final int in;
    private final int out;
    private final float scale;
    private final float[] down;     // [R, in]
    private final float[] up;       // [out, R]
    private final float[] gradDown; // [R, in]
    private final float[] gradUp;   // [out, R]

    LowRankFactors(String module, int rank, int in, int out, float scale, float[] down, float[] up, String what) {
        this.module = module;
        this.where = ProjectionModule.parse(module).orElseThrow(
                () -> new IllegalArgumentException(module + " is not a projection module name"));
        if (rank < 1 || down.length != (long) rank * in || up.length != (long) out * rank) {
            throw new IllegalArgumentException(module + ": " + what + " of " + down.length + " and " + up.length
                    + " values do not fit rank " + rank + ", " + in + " -> " + out);
        }
        this.rank = rank;
        this.in = in;
        this.out = out;
        this.scale = scale;
        this.down = down;
        this.up = up;
        this.gradDown = new float[down.length];
        this.gradUp = new float[up.length];
    }

    /** Kaiming-uniform as PEFT's lora_A: R x in values from U(-1/sqrt(in), 1/sqrt(in)). */
    static float[] kaimingUniform(int rank, int in, Random rnd) {
        float[] v = new float[rank * in];
        double bound = 1 / Math.sqrt(in);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
        }
        return v;
    }

    public String module() {
        return module;
    }

    public int layer() {
        return where.layer();
    }

    public Projection projection() {
        return where.projection();
    }

    public int rank() {
        return rank;
    }

    public int inFeatures() {
        return in;
    }

    public int outFeatures() {
        return out;
    }

    public float scale() {
        return scale;
    }

    float[] down() {
        return down;
    }

    float[] up() {
        return up;
    }

    float[] gradDown() {
        return gradDown;
    }

    float[] gradUp() {
        return gradUp;
    }

    /** Sets both gradients to zero. */
    public void zeroGrad() {
        Arrays.fill(gradDown, 0f);
        Arrays.fill(gradUp, 0f);
    }
}
