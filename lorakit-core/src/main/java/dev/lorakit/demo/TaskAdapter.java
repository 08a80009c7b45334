package dev.lorakit.demo;

import dev.lorakit.eval.TaskFile;
import java.nio.file.Path;

/**
 * One task of the demo and the LoRA trained for it.
 *
 * @param task the task's name (its directory in the suite)
 * @param data the examples evaluated (the chosen split, limited to the demo's subset)
 * @param adapter the task's PEFT adapter directory
 * @param rank the adapter's rank (the largest rank of its modules)
 */
public record TaskAdapter(String task, TaskFile data, Path adapter, int rank) {
}
