using System.Globalization;
using Workbench.Sweeps;

namespace Workbench.Cli.Commands;

/// <summary>`workbench sweep run`: runs one shard of a planned sweep (idempotent: done units are skipped).</summary>
public sealed class SweepRunCommand : CliCommand
{
    public override string Name => "sweep run";
    public override string Summary => "Run one shard of a planned sweep (the index from --shard-index, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)";
    public override IReadOnlyList<(string Name, string Description)> Positionals => [("dir", "The sweep folder made by 'workbench sweep plan'")];

    public override IReadOnlyList<CliOption> Options =>
    [
        new("shard-index", "This shard (0-based)", "i", "$SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX"),
        new("shard-count", "Shards the units are split into", "n", "the planned count"),
    ];

    public override int Execute(CliArgs args)
    {
        if (args.Positionals.Count != 1) throw new CliUsageException("give the sweep folder");
        var sweep = SweepDirectory.Open(args.Positionals[0]);
        int count = args.GetInt("shard-count", sweep.Manifest.Shards, min: 1);
        int index;
        if (args.Has("shard-index")) index = ParseIndex(args.Get("shard-index")!, "--shard-index");
        else if (Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") is { Length: > 0 } slurm) index = ParseIndex(slurm, "SLURM_ARRAY_TASK_ID");
        else if (Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX") is { Length: > 0 } k8s) index = ParseIndex(k8s, "JOB_COMPLETION_INDEX");
        else throw new CliUsageException("give --shard-index (or run as a Slurm array task or a Kubernetes Indexed Job)");
        var report = CliProgress.Run(p => sweep.RunShard(index, count, p, log: Console.Out));
        Console.WriteLine($"shard {index}/{count}: ran {report.Ran.Count}, skipped {report.Skipped.Count} already done, {report.Duration.TotalSeconds:F1} s");
        return 0;
    }

    static int ParseIndex(string text, string what) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new CliUsageException($"{what} expects an integer, got '{text}'");
}
