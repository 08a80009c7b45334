package dev.lorakit.tasks;

import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A generated task suite: for every task its train, dev and test examples, plus what it was made
 * from (so tasks.json can say how to regenerate it).
 *
 * @param sourceFile the held-out text's file name
 * @param sourceSha256 the held-out text's sha256
 * @param sentencesPerSplit how many sentences of the held-out text went to each split's pool
 * @param seed the generator's seed
 * @param sizes the requested examples per task and split
 * @param tasks the generated tasks, in catalog order
 */
public record TaskSuite(String sourceFile, String sourceSha256, Map<TaskSplit, Integer> sentencesPerSplit, long seed,
        SplitSizes sizes, List<GeneratedTask> tasks) {

    public TaskSuite {
        sentencesPerSplit = Collections.unmodifiableMap(new EnumMap<>(sentencesPerSplit));
        tasks = List.copyOf(tasks);
    }

    /**
     * One task's examples.
     *
     * @param task the task
     * @param splits its examples per split, each list in generation order
     */
    public record GeneratedTask(CorpusTask task, Map<TaskSplit, List<CorpusTask.Example>> splits) {
        public GeneratedTask {
            EnumMap<TaskSplit, List<CorpusTask.Example>> copy = new EnumMap<>(TaskSplit.class);
            splits.forEach((k, v) -> copy.put(k, List.copyOf(v)));
            splits = Collections.unmodifiableMap(copy);
        }

        /** The examples of one split. */
        public List<CorpusTask.Example> examples(TaskSplit split) {
            return splits.get(split);
        }
    }
}
