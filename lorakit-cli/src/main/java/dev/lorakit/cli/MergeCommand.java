package dev.lorakit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lorakit.BadInputException;
import dev.lorakit.io.AtomicFiles;
import dev.lorakit.io.peft.LoraAdapterWriter;
import dev.lorakit.merge.LoraMerger;
import dev.lorakit.merge.MergeInputs;
import dev.lorakit.merge.MergeMethod;
import dev.lorakit.merge.MergeMethods;
import dev.lorakit.merge.MergeOptions;
import dev.lorakit.merge.MergeResult;
import dev.lorakit.merge.ModuleResult;
import dev.lorakit.tensor.DType;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code lorakit merge}: merge several LoRA adapters into one new PEFT adapter. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Merge LoRA adapters into ONE new PEFT adapter (not into the base model).",
                "Inputs may differ in rank, alpha, rsLoRA, rank/alpha patterns, dtype and target modules; the output",
                "folds every scale in (r = lora_alpha = output rank) and reloads unchanged in PEFT and lorakit."},
        footer = {"", "Methods:",
                "  lego         LoRA-LEGO: k-means over rank-1 units (MSUs) + dual reweighting (rank k = --rank, default mean input rank)",
                "  cat          exact concatenation: dW = sum_i w_i s_i B_i A_i, rank = sum of ranks",
                "  svd          the exact sum truncated to rank K by SVD, without a dense matrix (default K: largest input rank)",
                "  fusion       element-wise weighted sum of the A's and of the B's (equal ranks; has cross terms B_i A_j)",
                "  ties, dare-linear, dare-ties, magnitude",
                "               task-vector methods on each module's dense dW_i, then SVD to rank K",
                "               (default K: sum of ranks capped by the matrix size)",
                "  knots        SVD-aligned merging (KnOTS): shared basis of the stacked updates, V blocks merged by TIES or mean",
                "", "Examples:",
                "  lorakit merge --method lego -o merged lora_a lora_b lora_c",
                "  lorakit merge --method svd --rank 16 --weights 0.7,0.3 --report report.json -o merged a b",
                "  lorakit merge --method ties --density 0.2 -o merged a b c"})
public final class MergeCommand implements Callable<Integer> {
    @Option(names = "--method", required = true, paramLabel = "METHOD", description = "Merge method (see below).")
    String method;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT_DIR", description = "Output adapter directory (written atomically).")
    Path output;

    @Parameters(arity = "1..*", paramLabel = "ADAPTER_DIR", description = "Input PEFT adapter directories.")
    List<Path> inputs = new ArrayList<>();

    @Option(names = "--rank", paramLabel = "K", description = "Output rank (lego: number of clusters k).")
    Integer rank;

    @Option(names = "--weights", split = ",", paramLabel = "W", description = "One weight per input, in order (default: all 1).")
    List<Double> weights;

    @Option(names = "--density", paramLabel = "D", description = "Fraction kept by ties / dare / magnitude, in (0, 1].")
    Double density;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of k-means++ and DARE masks (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--report", paramLabel = "FILE.json", description = "Write a JSON report with every module's figures.")
    Path report;

    @Option(names = "--dtype", defaultValue = "f32", description = "Dtype of the merged factors: f32, f16 or bf16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--n-init", defaultValue = "10", description = "lego: k-means restarts (default: ${DEFAULT-VALUE}).")
    int nInit;

    @Option(names = "--max-iter", defaultValue = "300", description = "lego: k-means iterations per restart (default: ${DEFAULT-VALUE}).")
    int maxIter;

    @Option(names = "--tol", defaultValue = "1e-4", description = "lego: relative centroid shift to stop at (default: ${DEFAULT-VALUE}).")
    double tol;

    @Option(names = "--no-param-reweight", description = "lego: turn parameter reweighting (gamma) off.")
    boolean noParamReweight;

    @Option(names = "--param-norm", defaultValue = "inf", description = "lego: norm of parameter reweighting, inf or l2 (default: ${DEFAULT-VALUE}).")
    String paramNorm;

    @Option(names = "--no-output-reweight", description = "lego: turn output reweighting (rho) off.")
    boolean noOutputReweight;

    @Option(names = "--output-factor", defaultValue = "sqrt-r-over-k",
            description = "lego: rho = sqrt(r/k) (sqrt-r-over-k, the paper) or sqrt(N/k) (sqrt-n-over-k) (default: ${DEFAULT-VALUE}).")
    String outputFactor;

    @Option(names = "--sign-canonical", description = "lego: canonicalise each MSU's sign before clustering.")
    boolean signCanonical;

    @Option(names = "--balance-ab", description = "lego: rescale each MSU so that ||a|| = ||b|| before clustering.")
    boolean balanceAb;

    @Option(names = "--majority-sign", defaultValue = "total", description = "ties / dare-ties / knots: total or frequency (default: ${DEFAULT-VALUE}).")
    String majoritySign;

    @Option(names = "--knots-merge", defaultValue = "ties", description = "knots: merge the aligned blocks with ties or mean (default: ${DEFAULT-VALUE}).")
    String knotsMerge;

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        DType dt = SynthCommand.parseDtype(dtype);
        MergeOptions options = options();
        MergeMethod m = MergeMethods.create(method, options);
        if (report != null) {
            LoraAdapterWriter.requireNotAnInput(report, inputs);
            Path parent = report.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                throw new BadInputException("--report: " + parent + " is not a directory");
            }
        }
        MergeResult result;
        try (MergeInputs in = MergeInputs.open(inputs, weights)) {
            int modules = in.plan().modules().size();
            try (Progress progress = Progress.start("merge " + method, modules, global)) {
                result = LoraMerger.merge(in, m, dt, output, (ModuleResult r) -> progress.step(1));
            }
        }
        ObjectNode json = result.toJson(optionsJson(options));
        json.put("output", output.toString());
        json.put("dtype", dt.name());
        json.put("peak_heap_bytes", peakHeapBytes());
        json.put("peak_rss_bytes", TrainingSession.peakRssBytes());
        if (report != null) {
            AtomicFiles.writeString(report, Json.pretty(json) + "\n");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (global.json) {
            ObjectNode summary = json.deepCopy();
            summary.remove("modules");
            Json.print(out, summary);
        } else {
            new TextTable("method", "inputs", "modules", "rank", "mean error", "max error", "seconds")
                    .row(method, inputs.size(), result.modules().size(), result.rank(),
                            String.format(Locale.ROOT, "%.4g", result.meanRelativeError()),
                            String.format(Locale.ROOT, "%.4g", result.maxRelativeError()),
                            String.format(Locale.ROOT, "%.2f", result.seconds()))
                    .print(out);
            out.println("wrote " + output + (report != null ? " and " + report : "")
                    + " (error = ||dW_merged - sum_i w_i s_i dW_i||_F / ||sum_i w_i s_i dW_i||_F per module)");
        }
        return 0;
    }

    private MergeOptions options() {
        MergeOptions.Norm norm = switch (paramNorm.toLowerCase(Locale.ROOT)) {
            case "inf" -> MergeOptions.Norm.INF;
            case "l2" -> MergeOptions.Norm.L2;
            default -> throw new BadInputException("--param-norm: expected inf or l2, got \"" + paramNorm + "\"");
        };
        MergeOptions.OutputFactor factor = switch (outputFactor.toLowerCase(Locale.ROOT)) {
            case "sqrt-r-over-k" -> MergeOptions.OutputFactor.SQRT_R_OVER_K;
            case "sqrt-n-over-k" -> MergeOptions.OutputFactor.SQRT_N_OVER_K;
            default -> throw new BadInputException("--output-factor: expected sqrt-r-over-k or sqrt-n-over-k, got \""
                    + outputFactor + "\"");
        };
        MergeOptions.MajoritySign sign = switch (majoritySign.toLowerCase(Locale.ROOT)) {
            case "total" -> MergeOptions.MajoritySign.TOTAL;
            case "frequency" -> MergeOptions.MajoritySign.FREQUENCY;
            default -> throw new BadInputException("--majority-sign: expected total or frequency, got \"" + majoritySign + "\"");
        };
        MergeOptions.KnotsMerge knots = switch (knotsMerge.toLowerCase(Locale.ROOT)) {
            case "ties" -> MergeOptions.KnotsMerge.TIES;
            case "mean" -> MergeOptions.KnotsMerge.MEAN;
            default -> throw new BadInputException("--knots-merge: expected ties or mean, got \"" + knotsMerge + "\"");
        };
        return new MergeOptions(rank, density, seed, nInit, maxIter, tol, !noParamReweight, norm, !noOutputReweight,
                factor, signCanonical, balanceAb, sign, knots);
    }

    private ObjectNode optionsJson(MergeOptions o) {
        ObjectNode node = Json.object();
        if (o.rank() != null) {
            node.put("rank", o.rank());
        }
        if (o.density() != null) {
            node.put("density", o.density());
        }
        node.put("seed", o.seed());
        if (method.equals("lego")) {
            node.put("n_init", o.nInit());
            node.put("max_iter", o.maxIter());
            node.put("tol", o.tol());
            node.put("param_reweight", o.paramReweight());
            node.put("param_norm", paramNorm.toLowerCase(Locale.ROOT));
            node.put("output_reweight", o.outputReweight());
            node.put("output_factor", outputFactor.toLowerCase(Locale.ROOT));
            node.put("sign_canonical", o.signCanonical());
            node.put("balance_ab", o.balanceAb());
        }
        if (method.contains("ties") || method.equals("knots")) {
            node.put("majority_sign", majoritySign.toLowerCase(Locale.ROOT));
        }
        if (method.equals("knots")) {
            node.put("knots_merge", knotsMerge.toLowerCase(Locale.ROOT));
        }
        ArrayNode w = node.putArray("weights");
        for (int i = 0; i < inputs.size(); i++) {
            w.add(weights == null ? 1.0 : weights.get(i));
        }
        return node;
    }

    /** An upper bound of the run's peak heap use: the sum of the heap pools' peaks. */
    static long peakHeapBytes() {
        long sum = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getPeakUsage() != null) {
                sum += pool.getPeakUsage().getUsed();
            }
        }
        return sum;
    }
}
