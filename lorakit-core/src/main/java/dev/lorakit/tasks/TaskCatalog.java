package dev.lorakit.tasks;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** The tasks of lorakit's generated suite, in the order they are generated and listed. */
public final class TaskCatalog {
    private static final List<CorpusTask> ALL;

    static {
        List<CorpusTask> all = new ArrayList<>(List.of(WordTask.values()));
        all.add(new ContinuationTask());
        ALL = Collections.unmodifiableList(all);
    }

    private TaskCatalog() {
    }

    /** Every task: the {@link WordTask}s in declaration order, then {@link ContinuationTask}. */
    public static List<CorpusTask> all() {
        return ALL;
    }
}
