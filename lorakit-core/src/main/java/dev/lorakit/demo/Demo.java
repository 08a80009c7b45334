package dev.lorakit.demo;

/**
 * {@code lorakit demo}'s engine: locates the bundled world (base model, task suite, example
 * adapters) and runs the chosen scenario of the LoRA-LEGO paper on it (see {@link DemoScenario}).
 * Everything is checked before any work; missing parts are a BadInputException saying how to
 * build them.
 */
public final class Demo {
    private Demo() {
    }

    /** Runs the demo {@code options} describe. */
    public static DemoReport run(DemoOptions options, DemoListener listener) {
        DemoWorld world = DemoWorld.locate(options);
        return switch (options.scenario()) {
            case MULTI_TASK, MIXED_RANK -> MultiTaskDemo.run(options, world, listener);
            case PRUNE -> PruneDemo.run(options, world, listener);
            case CA_LORA -> CaLoraDemo.run(options, world, listener);
        };
    }
}
