using Workbench.Data;
using Workbench.Notebooks;

namespace Workbench.Cli.Commands;

/// <summary>`workbench reproduce`: runs every notebook in notebooks/ and writes an index page of the reports.</summary>
public sealed class ReproduceCommand : CliCommand
{
    public override string Name => "reproduce";
    public override string Summary => "Run every notebook in notebooks/ (quick by default) and write an index of the reports";

    public override IReadOnlyList<CliOption> Options =>
    [
        new("quick", "Quick mode (the default)"),
        new("full", "Full mode"),
        new("output", "Folder for executed notebooks, reports and index.html", "dir", "artifacts/notebooks"),
    ];

    public override int Execute(CliArgs args)
    {
        var options = NotebookRunCommand.ParseOptions(args);
        var folder = NotebooksFolder();
        var notebooks = Directory.GetFiles(folder, "*.ipynb").OrderBy(p => p, StringComparer.Ordinal).ToList();
        if (notebooks.Count == 0) throw new InvalidOperationException($"no notebooks in '{folder}'.");
        return NotebookRunCommand.RunAll(notebooks, options, runs => WriteIndex(runs, options));
    }

    static string NotebooksFolder()
    {
        var root = Path.GetDirectoryName(Path.GetDirectoryName(Datasets.DefaultCacheDirectory))!; // <checkout>/data/cache -> <checkout>
        var folder = Path.Combine(root, "notebooks");
        return Directory.Exists(folder) ? folder : Path.Combine(Environment.CurrentDirectory, "notebooks");
    }

    static void WriteIndex(IReadOnlyList<NotebookRun> runs, RunOptions options)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        Workbench.Runtime.AtomicFile.WriteAllText(Path.Combine(options.OutputDirectory, "index.html"), HtmlReport.Index(runs, options.Quick));
    }
}
