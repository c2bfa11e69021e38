using System.Globalization;
using Workbench.Data;
using Workbench.Sweeps;
using Workbench.Training;

namespace Workbench.Cli.Commands;

/// <summary>`workbench sweep plan`: expands an experiment's config into a manifest of independent units and writes the Slurm and Kubernetes files to run it.</summary>
public sealed class SweepPlanCommand : CliCommand
{
    public override string Name => "sweep plan";
    public override string Summary => "Plan a sweep: manifest of independent units, slurm.sbatch, merge.sbatch, k8s-indexed-job.yaml";
    public override IReadOnlyList<(string Name, string Description)> Positionals =>
        [("experiment", $"One of {string.Join(", ", SweepExperiments.All.Select(e => $"{e.Name} ({string.Join(", ", e.Aliases)})"))}")];

    public override IReadOnlyList<CliOption> Options =>
    [
        new("out", "The sweep folder (new or empty; on a filesystem every task sees)", "dir"),
        new("quick", "The notebook's quick preset (the default)"),
        new("full", "The notebook's full preset"),
        new("param", "Set a config property (repeatable; dotted for nested records, lists comma-separated)", "Name=Value"),
        new("seeds", "Base seeds; each gives a full copy of the units and its own merged result", "0,1,2", "0"),
        new("shards", "Shards (array tasks); units are balanced over them by estimated cost", "n", "units / 3"),
        new("parallel", "Shards running at once (Slurm %K, Kubernetes parallelism)", "n", "2"),
        new("threads", "libtorch threads per task (= --cpus-per-task); every shard uses the same count, so results match a one-process run with it", "n", "1"),
        new("workbench", "The workbench command the tasks run (an absolute path every node sees)", "path", "this binary"),
    ];

    public override int Execute(CliArgs args)
    {
        if (args.Positionals.Count != 1) throw new CliUsageException("give one experiment, e.g. 'workbench sweep plan e1 --out sweeps/e1'");
        var outDir = args.Get("out") ?? throw new CliUsageException("--out <dir> is required");
        if (args.Has("quick") && args.Has("full")) throw new CliUsageException("--quick and --full exclude each other");
        var experiment = SweepExperiments.Find(args.Positionals[0]);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in args.GetAll("param"))
        {
            int eq = p.IndexOf('=');
            if (eq <= 0) throw new CliUsageException($"--param expects Name=Value, got '{p}'");
            if (p[..eq].Equals("Seed", StringComparison.OrdinalIgnoreCase)) throw new CliUsageException("the seed is set with --seeds, not --param Seed=...");
            parameters[p[..eq]] = p[(eq + 1)..];
        }
        var seeds = args.Get("seeds", "0").Split(',', StringSplitOptions.TrimEntries).Select(s =>
            int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v : throw new CliUsageException($"--seeds expects comma-separated integers >= 0, got '{args.Get("seeds")}'")).ToList();
        int threads = args.GetInt("threads", 1, min: 1, max: 256), parallel = args.GetInt("parallel", 2, min: 1);
        int? shards = args.Has("shards") ? args.GetInt("shards", 1, min: 1) : null;
        var manifest = SweepManifest.Plan(experiment, args.Has("full"), parameters, seeds, threads, shards, parallel);
        if (shards is null && manifest.Units.Count > 3)
            manifest = manifest with { Shards = (manifest.Units.Count + 2) / 3, Parallel = Math.Min(parallel, (manifest.Units.Count + 2) / 3) };
        string workbench = Path.GetFullPath(args.Get("workbench") ?? Environment.ProcessPath ?? throw new CliUsageException("give --workbench <path>"));

        var sweep = SweepDirectory.Create(outDir, manifest);
        var environment = new Dictionary<string, string>
        {
            ["WORKBENCH_DATA"] = Path.GetFullPath(Datasets.DefaultCacheDirectory),
            ["WORKBENCH_MODELS"] = Path.GetFullPath(new ModelCache().Directory),
        };
        Workbench.Runtime.AtomicFile.WriteAllText(Path.Combine(sweep.Path, "slurm.sbatch"), SweepScripts.Slurm(manifest, sweep.Path, workbench, environment));
        Workbench.Runtime.AtomicFile.WriteAllText(Path.Combine(sweep.Path, "merge.sbatch"), SweepScripts.SlurmMerge(manifest, sweep.Path, workbench, environment));
        Workbench.Runtime.AtomicFile.WriteAllText(Path.Combine(sweep.Path, "k8s-indexed-job.yaml"), SweepScripts.Kubernetes(manifest, KubernetesName(sweep.Path)));
        var longest = manifest.LongestShardSeconds(manifest.Shards);
        Console.WriteLine($"{experiment.Name}: {manifest.Units.Count} unit(s), {manifest.Shards} shard(s) (slowest ~{longest / 60:F1} min estimated, --time {SweepScripts.ShardTimeLimit(manifest)}), manifest {sweep.ManifestSha256[..12]}");
        Console.WriteLine($"  {sweep.Path}/manifest.jsonl, slurm.sbatch, merge.sbatch, k8s-indexed-job.yaml");
        Console.WriteLine($"  Slurm:      jid=$(sbatch --parsable {sweep.Path}/slurm.sbatch) && sbatch --dependency=afterok:$jid {sweep.Path}/merge.sbatch");
        Console.WriteLine($"  one by one: workbench sweep run {sweep.Path} --shard-index I --shard-count {manifest.Shards}; then workbench sweep merge {sweep.Path}");
        return 0;
    }

    /// <summary>A DNS-1123 name from the folder's name (lower case, digits and dashes, at most 50 characters).</summary>
    static string KubernetesName(string dir)
    {
        var chars = Path.GetFileName(dir.TrimEnd('/')).ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var name = new string(chars).Trim('-');
        if (name.Length > 50) name = name[..50].TrimEnd('-');
        return name.Length == 0 ? "sweep" : name;
    }
}
