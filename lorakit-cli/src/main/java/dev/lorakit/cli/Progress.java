package dev.lorakit.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr for long work, shown only on an interactive terminal and not with
 * --quiet or --json; otherwise every call is a no-op.
 */
public final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** Starts a bar of {@code total} steps named {@code task}, or a silent one. */
    public static Progress start(String task, long total, GlobalOptions opts) {
        boolean show = System.console() != null && !opts.quiet && !opts.json && System.getenv("CI") == null;
        if (!show) {
            return new Progress(null);
        }
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                .setUpdateIntervalMillis(200)
                .build();
        return new Progress(bar);
    }

    /** Advances by n steps. */
    public void step(long n) {
        if (bar != null) {
            bar.stepBy(n);
        }
    }

    /** Changes the total once it is known, and the position reached so far (e.g. a resumed run). */
    public void resize(long total, long current) {
        if (bar != null) {
            bar.maxHint(total);
            bar.stepTo(current);
        }
    }

    /** Sets the extra message shown after the bar (e.g. a loss value). */
    public void message(String msg) {
        if (bar != null) {
            bar.setExtraMessage(msg);
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
