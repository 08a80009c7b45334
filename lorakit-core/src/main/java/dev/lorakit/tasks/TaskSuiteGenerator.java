package dev.lorakit.tasks;

import dev.lorakit.BadInputException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Draws the task suite from held-out text, deterministically from a seed (java.util.Random,
 * whose sequence the JDK specifies, so the same seed gives byte-identical files everywhere).
 *
 * <ol>
 *   <li>The sentences with at least {@link WordTask#MIN_WORDS} tokens are shuffled with the seed
 *       and cut into three disjoint pools, in proportion to the common split sizes (at least one sentence
 *       each): test first, then dev, the rest train. Every task uses the same pools, so no
 *       sentence feeds two splits of any task.</li>
 *   <li>Each task has its own generator, seeded from the seed and the task's name. Splits are
 *       filled in the order test, dev, train, in passes: a pass visits the pool's sentences in a
 *       fresh shuffled order and draws at most one example from each (up to
 *       {@link #DRAWS_PER_SENTENCE} tries), so examples spread over the whole pool before any
 *       sentence gives a second one.</li>
 *   <li>An example is refused if its key (its phrase, or the sentence start of a continuation)
 *       already occurs in the task, or occurs in another split of any task generated before it
 *       (the same words can occur in two different sentences). So no phrase is shared between
 *       the splits of a task, nor between one task's test set and another task's train set.</li>
 *   <li>{@link #MAX_EMPTY_PASSES} passes in a row that add nothing mean the pool is used up:
 *       that is a {@link BadInputException} asking for a larger held-out text or smaller splits.</li>
 * </ol>
 */
public final class TaskSuiteGenerator {
    /** Tries per sentence and pass before moving on to the next sentence. */
    public static final int DRAWS_PER_SENTENCE = 4;
    /** Consecutive passes over a pool that add nothing before the pool counts as used up. */
    public static final int MAX_EMPTY_PASSES = 10;

    private static final TaskSplit[] FILL_ORDER = {TaskSplit.TEST, TaskSplit.DEV, TaskSplit.TRAIN};

    private TaskSuiteGenerator() {
    }

    /** Generates every task of the list from the held-out text. */
    public static TaskSuite generate(HeldOutText source, List<CorpusTask> tasks, SplitSizes sizes, long seed) {
        Map<TaskSplit, List<Sentence>> pools = pools(source, sizes, seed);
        Map<String, TaskSplit> claimed = new HashMap<>();
        List<TaskSuite.GeneratedTask> generated = new ArrayList<>();
        List<String> taskNames = tasks.stream().map(CorpusTask::taskName).toList();
        for (String named : sizes.trainByTask().keySet()) {
            if (!taskNames.contains(named)) {
                throw new BadInputException("--train-for: no task named \"" + named + "\"; the tasks are "
                        + String.join(", ", taskNames));
            }
        }
        Set<String> names = new HashSet<>();
        for (CorpusTask task : tasks) {
            if (!names.add(task.taskName())) {
                throw new IllegalArgumentException("task listed twice: " + task.taskName());
            }
            Random rng = new Random(taskSeed(seed, task.taskName()));
            Set<String> used = new HashSet<>();
            Map<TaskSplit, List<CorpusTask.Example>> splits = new EnumMap<>(TaskSplit.class);
            for (TaskSplit split : FILL_ORDER) {
                splits.put(split, fill(source, task, split, pools.get(split), sizes.of(split, task.taskName()), rng, used, claimed));
            }
            generated.add(new TaskSuite.GeneratedTask(task, splits));
        }
        Map<TaskSplit, Integer> poolSizes = new EnumMap<>(TaskSplit.class);
        pools.forEach((split, pool) -> poolSizes.put(split, pool.size()));
        return new TaskSuite(source.fileName(), source.sha256(), poolSizes, seed, sizes, generated);
    }

    /** The seed of one task's generator: the suite seed mixed with the task's name. */
    static long taskSeed(long seed, String taskName) {
        return seed * 0x9E3779B97F4A7C15L + taskName.hashCode();
    }

    /** The three disjoint sentence pools (step 1 of the class comment). */
    static Map<TaskSplit, List<Sentence>> pools(HeldOutText source, SplitSizes sizes, long seed) {
        List<Sentence> usable = new ArrayList<>();
        for (Sentence s : source.sentences()) {
            if (s.size() >= WordTask.MIN_WORDS) {
                usable.add(s);
            }
        }
        if (usable.size() < 3) {
            throw new BadInputException(source.fileName() + ": only " + usable.size() + " sentences of at least "
                    + WordTask.MIN_WORDS + " words; need far more held-out text to draw a task suite");
        }
        shuffle(usable, new Random(seed));
        int n = usable.size();
        int test = Math.max(1, (int) Math.round((double) n * sizes.test() / sizes.total()));
        int dev = Math.max(1, (int) Math.round((double) n * sizes.dev() / sizes.total()));
        if (test + dev >= n) {
            test = 1;
            dev = 1;
        }
        Map<TaskSplit, List<Sentence>> pools = new EnumMap<>(TaskSplit.class);
        pools.put(TaskSplit.TEST, List.copyOf(usable.subList(0, test)));
        pools.put(TaskSplit.DEV, List.copyOf(usable.subList(test, test + dev)));
        pools.put(TaskSplit.TRAIN, List.copyOf(usable.subList(test + dev, n)));
        return pools;
    }

    private static List<CorpusTask.Example> fill(HeldOutText source, CorpusTask task, TaskSplit split, List<Sentence> pool,
            int wanted, Random rng, Set<String> used, Map<String, TaskSplit> claimed) {
        List<CorpusTask.Example> out = new ArrayList<>(wanted);
        List<Sentence> order = new ArrayList<>(pool);
        int emptyPasses = 0;
        while (out.size() < wanted) {
            shuffle(order, rng);
            int before = out.size();
            for (Sentence sentence : order) {
                if (out.size() == wanted) {
                    break;
                }
                for (int attempt = 0; attempt < DRAWS_PER_SENTENCE; attempt++) {
                    CorpusTask.Example ex = task.draw(sentence, rng);
                    if (ex == null || used.contains(ex.key())) {
                        continue;
                    }
                    TaskSplit owner = claimed.get(ex.key());
                    if (owner != null && owner != split) {
                        continue;
                    }
                    used.add(ex.key());
                    claimed.put(ex.key(), split);
                    out.add(ex);
                    break;
                }
            }
            emptyPasses = out.size() == before ? emptyPasses + 1 : 0;
            if (emptyPasses == MAX_EMPTY_PASSES) {
                throw new BadInputException(source.fileName() + ": too little held-out text for task " + task.taskName()
                        + ": found only " + out.size() + " distinct " + split.fileStem() + " examples in " + pool.size()
                        + " sentences, asked for " + wanted + " (use a larger corpus or smaller --" + split.fileStem() + ")");
            }
        }
        return out;
    }

    /** Fisher-Yates from the last element down, with {@link Random#nextInt(int)}: fixed by the seed. */
    private static <T> void shuffle(List<T> list, Random rng) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }
}
