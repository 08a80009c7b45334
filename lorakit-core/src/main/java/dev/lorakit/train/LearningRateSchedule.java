package dev.lorakit.train;

import java.util.Locale;

/**
 * The learning rate of each optimizer step: linear warmup from 0 over {@code warmupSteps}, then
 * constant, cosine decay to 0 or linear decay to 0 at {@code totalSteps}. The multipliers are
 * exactly those of Hugging Face transformers' {@code get_constant_schedule_with_warmup},
 * {@code get_cosine_schedule_with_warmup} (num_cycles 0.5) and
 * {@code get_linear_schedule_with_warmup}; like the Trainer, the update with index {@code step}
 * (0 for the first) uses {@code lr(step)}, so with warmup the first update has learning rate 0.
 * Past {@code totalSteps} the same formulas hold (linear stays at 0; the cosine rises again, as in
 * transformers), which a run that stops at totalSteps never reaches.
 *
 * @param kind        the shape after warmup
 * @param peakLr      the learning rate after warmup (before decay)
 * @param warmupSteps steps of linear warmup, >= 0
 * @param totalSteps  the number of optimizer steps of the run, >= 1 (decay reaches 0 there)
 */
public record LearningRateSchedule(Kind kind, double peakLr, long warmupSteps, long totalSteps) {
    /** The shape of the schedule after warmup. */
    public enum Kind {
        CONSTANT, COSINE, LINEAR;

        /** The option value ("constant", "cosine", "linear"). */
        public String optionName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The kind named by an option value, or null. */
        public static Kind fromOptionName(String name) {
            for (Kind k : values()) {
                if (k.optionName().equals(name)) {
                    return k;
                }
            }
            return null;
        }
    }

    public LearningRateSchedule {
        if (kind == null || !(peakLr >= 0) || Double.isInfinite(peakLr) || warmupSteps < 0 || totalSteps < 1) {
            throw new IllegalArgumentException("bad schedule: " + kind + ", lr " + peakLr + ", warmup " + warmupSteps
                    + ", total " + totalSteps);
        }
    }

    /** The learning rate of the update with 0-based index {@code step}. */
    public double lr(long step) {
        return peakLr * multiplier(step);
    }

    /** The factor on {@link #peakLr()} at update {@code step} (Hugging Face's lr_lambda). */
    public double multiplier(long step) {
        if (step < warmupSteps) {
            return (double) step / (double) Math.max(1, warmupSteps);
        }
        return switch (kind) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (totalSteps - step) / (double) Math.max(1, totalSteps - warmupSteps));
            case COSINE -> {
                double progress = (double) (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
            }
        };
    }
}
