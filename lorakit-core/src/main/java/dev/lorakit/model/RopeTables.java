package dev.lorakit.model;

import dev.lorakit.io.hf.ModelConfig;
import dev.lorakit.io.hf.RopeScaling;

/**
 * Rotary position embedding tables for the HF rotate_half convention: for head dimension D and
 * position p, cos/sin of p * invFreq[i] for i < D/2, with invFreq[i] = theta^(-2i/D) adjusted by
 * the config's rope_scaling ("linear": divided by the factor; "llama3": long wavelengths divided
 * by the factor, short ones kept, a smooth blend between). Angles are computed in float64 and
 * rounded once; rows are computed on first use and kept.
 */
public final class RopeTables {
    private final int half;
    private final double[] invFreq; // [D/2]
    private float[] cos = new float[0]; // [positions, D/2]
    private float[] sin = new float[0];
    private int positions;

    public RopeTables(ModelConfig config) {
        this.half = config.headDim() / 2;
        this.invFreq = inverseFrequencies(config);
    }

    /** The (scaled) inverse frequencies of the config, float64. */
    static double[] inverseFrequencies(ModelConfig c) {
        int d = c.headDim();
        double[] inv = new double[d / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / d);
        }
        RopeScaling s = c.ropeScaling();
        if (s == null) {
            return inv;
        }
        switch (s.kind()) {
            case LINEAR -> {
                for (int i = 0; i < inv.length; i++) {
                    inv[i] /= s.factor();
                }
            }
            case LLAMA3 -> {
                double orig = s.originalMaxPositionEmbeddings();
                double lowWavelen = orig / s.lowFreqFactor();
                double highWavelen = orig / s.highFreqFactor();
                for (int i = 0; i < inv.length; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / s.factor();
                    } else if (wavelen >= highWavelen) {
                        double smooth = (orig / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                        inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
                    }
                }
            }
        }
        return inv;
    }

    /** Makes rows [0, n) available. */
    public void ensure(int n) {
        if (n <= positions) {
            return;
        }
        int cap = Math.max(n, Math.min(Math.max(2 * positions, 64), Integer.MAX_VALUE / Math.max(1, half)));
        float[] c = new float[cap * half];
        float[] s = new float[cap * half];
        System.arraycopy(cos, 0, c, 0, positions * half);
        System.arraycopy(sin, 0, s, 0, positions * half);
        for (int p = positions; p < cap; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * invFreq[i];
                c[p * half + i] = (float) Math.cos(angle);
                s[p * half + i] = (float) Math.sin(angle);
            }
        }
        cos = c;
        sin = s;
        positions = cap;
    }

    /** cos table; row p starts at {@code p * headDim/2}. Call {@link #ensure} first. */
    public float[] cos() {
        return cos;
    }

    /** sin table; row p starts at {@code p * headDim/2}. */
    public float[] sin() {
        return sin;
    }
}
