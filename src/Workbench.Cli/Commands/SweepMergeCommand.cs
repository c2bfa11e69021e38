using Workbench.Notebooks;
using Workbench.Sweeps;

namespace Workbench.Cli.Commands;

/// <summary>`workbench sweep merge`: checks every unit is done and writes the experiment's result: report, executed notebook, claims.</summary>
public sealed class SweepMergeCommand : CliCommand
{
    public override string Name => "sweep merge";
    public override string Summary => "Check every unit of a sweep is done and write the experiment's report (.html, .ipynb, claims)";
    public override IReadOnlyList<(string Name, string Description)> Positionals => [("dir", "The sweep folder made by 'workbench sweep plan'")];
    public override IReadOnlyList<CliOption> Options => [new("output", "Folder for the report", "dir", "<dir>/merged")];

    public override int Execute(CliArgs args)
    {
        if (args.Positionals.Count != 1) throw new CliUsageException("give the sweep folder");
        var sweep = SweepDirectory.Open(args.Positionals[0]);
        var outcomes = sweep.Merge(); // units not done: SweepIncompleteException, reported with exit code 1
        string output = args.Get("output") ?? Path.Combine(sweep.Path, "merged");
        foreach (var (seed, outcome) in outcomes)
        {
            var html = SweepReport.Write(sweep, seed, outcome, output);
            int holds = outcome.Claims.Rows.Count(r => r["holds"] is true);
            Console.WriteLine($"{sweep.Experiment.Name} seed {seed}: {sweep.Manifest.Units.Count(u => u.Seed == seed)} units merged -> {html}");
            Console.WriteLine($"  claims: {holds} of {outcome.Claims.Rows.Count} hold");
        }
        return 0;
    }
}
