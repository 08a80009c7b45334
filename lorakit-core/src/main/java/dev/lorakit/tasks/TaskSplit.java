package dev.lorakit.tasks;

import java.util.Locale;

/** The three splits of every generated task; each is written to {@code <task>/<split>.jsonl}. */
public enum TaskSplit {
    TRAIN, DEV, TEST;

    /** The split's name as in file names and tasks.json: train, dev, test. */
    public String fileStem() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The split's file name, e.g. {@code test.jsonl}. */
    public String fileName() {
        return fileStem() + ".jsonl";
    }
}
