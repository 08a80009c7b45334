package dev.lorakit.cli;

import picocli.CommandLine.Option;

/** Options every lorakit command accepts: machine-readable output, quiet and verbose modes. */
public final class GlobalOptions {
    @Option(names = "--json", description = "Print machine-readable JSON on stdout instead of text.")
    public boolean json;

    @Option(names = {"-q", "--quiet"}, description = "No progress bars or chatter on stderr.")
    public boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "More detail; stack traces on errors.")
    public boolean verbose;
}
