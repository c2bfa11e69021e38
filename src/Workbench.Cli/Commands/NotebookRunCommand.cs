using Workbench.Notebooks;

namespace Workbench.Cli.Commands;

/// <summary>`workbench notebook run`: executes notebooks headlessly; writes executed .ipynb and HTML reports.</summary>
public sealed class NotebookRunCommand : CliCommand
{
    public override string Name => "notebook run";
    public override string Summary => "Run notebooks headlessly; write the executed .ipynb and an HTML report of each";
    public override IReadOnlyList<(string Name, string Description)> Positionals => [("path.ipynb", "Notebooks to run (.ipynb or .dib)")];
    public override bool VariadicPositionals => true;

    public override IReadOnlyList<CliOption> Options =>
    [
        new("quick", "Quick mode (the default)"),
        new("full", "Full mode (the documented reproduction)"),
        new("param", "Override a parameter of the notebook's parameters cell (repeatable)", "Name=Value"),
        new("output", "Folder for executed notebooks and reports", "dir", "artifacts/notebooks"),
        new("cell-timeout", "Stop a cell (and fail the notebook) after this many minutes", "minutes", "120"),
    ];

    public override int Execute(CliArgs args)
    {
        if (args.Positionals.Count == 0) throw new CliUsageException("give at least one notebook path");
        var options = ParseOptions(args);
        return RunAll(args.Positionals, options);
    }

    internal static RunOptions ParseOptions(CliArgs args)
    {
        if (args.Has("quick") && args.Has("full")) throw new CliUsageException("--quick and --full exclude each other");
        var parameters = new Dictionary<string, string>();
        foreach (var p in args.GetAll("param"))
        {
            int eq = p.IndexOf('=');
            if (eq <= 0) throw new CliUsageException($"--param expects Name=Value, got '{p}'");
            parameters[p[..eq]] = p[(eq + 1)..];
        }
        var timeout = args.Get("cell-timeout", "120");
        if (!double.TryParse(timeout, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var minutes) || !(minutes > 0))
            throw new CliUsageException($"--cell-timeout expects a positive number of minutes, got '{timeout}'");
        return new RunOptions
        {
            Quick = !args.Has("full"), Parameters = parameters, OutputDirectory = args.Get("output", "artifacts/notebooks"),
            CellTimeout = TimeSpan.FromMinutes(minutes),
        };
    }

    internal static int RunAll(IEnumerable<string> paths, RunOptions options, Action<IReadOnlyList<NotebookRun>>? after = null)
    {
        var runner = new NotebookRunner();
        var runs = new List<NotebookRun>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            // Two notebooks with the same file name get distinct outputs (name, name-2, ...), never one over the other.
            var stem = Path.GetFileNameWithoutExtension(path);
            var name = stem;
            for (int n = 2; !names.Add(name); n++) name = $"{stem}-{n}";
            var run = CliProgress.Run(p => runner.Run(path, options with { Progress = p, OutputName = name }));
            runs.Add(run);
            if (run.Passed) Console.WriteLine($"{run.Describe()} -> {run.Report}");
            else Console.Error.WriteLine($"notebook {path}: {run.Describe()}");
            if (run.Claims.Count > 0) Console.WriteLine($"  claims: {run.Claims.Count(c => c.Holds)} of {run.Claims.Count} hold");
        }
        after?.Invoke(runs);
        Console.WriteLine($"{runs.Count(r => r.Passed)} passed, {runs.Count(r => !r.Passed)} failed");
        return runs.All(r => r.Passed) ? 0 : 1;
    }
}
