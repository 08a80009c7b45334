package dev.lorakit.cli;

import dev.lorakit.BadInputException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The lorakit command line. Exit codes: 0 success, 1 internal error, 2 bad input (a one-line
 * message naming the file or option; a stack trace only with --verbose).
 */
@Command(name = "lorakit",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Compose, compress, adapt and serve LoRA adapters for Llama-family models, in pure Java.",
        subcommands = {InspectCommand.class, GenerateCommand.class, TrainCommand.class, AdaptCommand.class, ForwardCommand.class, EvalCommand.class, ExportCommand.class, MergeCommand.class, DemoCommand.class, CompressCommand.class, BenchCommand.class, SynthCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Examples:", "  lorakit inspect path/to/adapter",
                "  lorakit generate --model M --adapter A:0.8 --prompt \"Hello\" --max-tokens 64",
                "  lorakit eval --model M --adapter A --data tasks/ --json",
                "  lorakit merge --method lego -o merged lora_a lora_b lora_c",
                "  lorakit compress --model M --quantize q4_0 -o M-q4",
                "  lorakit adapt --teacher M --model M-q4 --adapter A --data train.jsonl -o A-q4",
                "  lorakit demo",
                "  lorakit help generate"})
public final class Main {
    /** Exit code for bad input. */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit code for an internal failure. */
    public static final int EXIT_INTERNAL = 1;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (used by tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("lorakit: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for usage.");
            return EXIT_BAD_INPUT;
        });
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            boolean verbose = parseResult.originalArgs().contains("--verbose") || parseResult.originalArgs().contains("-v");
            Throwable cause = ex;
            if (cause instanceof UncheckedIOException u && u.getCause() != null) {
                cause = u.getCause();
            }
            if (verbose) {
                ex.printStackTrace(err);
            }
            if (cause instanceof BadInputException) {
                err.println("lorakit: error: " + cause.getMessage());
                return EXIT_BAD_INPUT;
            }
            if (cause instanceof NoSuchFileException nf) {
                err.println("lorakit: error: " + nf.getFile() + ": no such file or directory");
                return EXIT_BAD_INPUT;
            }
            if (cause instanceof FileSystemException fs) {
                // access denied, a file where a directory is expected, read-only file system...
                String reason = fs.getReason() != null ? fs.getReason() : fs.getClass().getSimpleName().replace("Exception", "");
                err.println("lorakit: error: " + fs.getFile() + ": " + reason);
                return EXIT_BAD_INPUT;
            }
            err.println("lorakit: internal error: " + cause + (verbose ? "" : " (run with --verbose for the stack trace)"));
            return EXIT_INTERNAL;
        });
        return cli.execute(args);
    }

    /** Prints the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"lorakit " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
