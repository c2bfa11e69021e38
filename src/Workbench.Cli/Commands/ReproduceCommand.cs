using System.Net;
using System.Text;
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
        var sb = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Workbench reports</title>" +
            "<style>body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto}td,th{padding:.3em .8em;border-bottom:1px solid #ddd}</style></head><body>");
        sb.Append($"<h1>Workbench reports ({(options.Quick ? "quick" : "full")} mode)</h1><table><tr><th>notebook</th><th>status</th><th>run time</th><th>claims that hold</th></tr>");
        foreach (var r in runs)
        {
            var name = WebUtility.HtmlEncode(Path.GetFileNameWithoutExtension(r.Notebook));
            var link = r.Report.Length > 0 ? $"<a href=\"{WebUtility.HtmlEncode(Path.GetFileName(r.Report))}\">{name}</a>" : name;
            var claims = r.Claims.Count == 0 ? "—" : $"{r.Claims.Count(c => c.Holds)} / {r.Claims.Count}";
            sb.Append($"<tr><td>{link}</td><td>{(r.Passed ? "passed" : "failed: " + WebUtility.HtmlEncode(r.Failure!.Message))}</td><td>{r.Duration.TotalSeconds:F1} s</td><td>{claims}</td></tr>");
        }
        sb.Append("</table></body></html>");
        Directory.CreateDirectory(options.OutputDirectory);
        File.WriteAllText(Path.Combine(options.OutputDirectory, "index.html"), sb.ToString());
    }
}
