using System.Text.Json.Nodes;
using Workbench.Interactive;
using Workbench.Runtime;
using Workbench.Sweeps;

namespace Workbench.Notebooks;

/// <summary>
/// The report of a merged sweep, in the form `workbench notebook run` writes: an executed .ipynb whose cells show the
/// experiment's tables and figures (rendered by the notebook formatters) and its claims table, and the HTML report of it
/// (<see cref="HtmlReport"/>), with the sweep's provenance.
/// </summary>
public static class SweepReport
{
    /// <summary>Writes &lt;name&gt;.ipynb, &lt;name&gt;.html and &lt;name&gt;.claims.csv into <paramref name="outputDirectory"/>; returns the HTML path.</summary>
    public static string Write(SweepDirectory sweep, int seed, SweepOutcome outcome, string outputDirectory)
    {
        string name = $"{Path.GetFileNameWithoutExtension(sweep.Experiment.Notebook)}{(sweep.Manifest.Seeds.Count > 1 ? $"-seed{seed}" : "")}";
        Directory.CreateDirectory(outputDirectory);
        string ipynb = Path.Combine(outputDirectory, name + ".ipynb"), html = Path.Combine(outputDirectory, name + ".html");
        var doc = NotebookDocument.Create(ipynb);
        void Markdown(string text) => doc.Cells.Add(new NotebookCell(CellKind.Markdown, text, Guid.NewGuid().ToString("N")[..8]));
        int count = 0;
        void Output(string source, string htmlOutput) =>
            doc.Cells.Add(new NotebookCell(CellKind.Code, source, Guid.NewGuid().ToString("N")[..8], NotebookDocument.CodeCellMetadata())
            {
                ExecutionCount = ++count,
                Outputs = { new CellOutput("display_data", new Dictionary<string, string> { ["text/html"] = htmlOutput }) },
            });
        var m = sweep.Manifest;
        Markdown($"# {sweep.Experiment.Name}: merged sweep\n\nThe results of `{sweep.Path}` ({m.Units.Count} units in {m.Shards} shards, {(m.Full ? "full" : "quick")} mode, seed {seed}), " +
                 $"assembled by `workbench sweep merge` with the steps the notebook `{sweep.Experiment.Notebook}` runs in one process: the same tables, figures and claims.");
        Output("var sweep = SweepDirectory.Open(SweepDirectory);\nvar result = sweep.Merge();", $"<pre>{m.Units.Count} units, every one done for manifest {sweep.ManifestSha256[..12]}</pre>");
        foreach (var section in outcome.Sections)
        {
            Markdown($"## {section.Title}");
            Output($"// {section.Title}", section.Table is not null ? HtmlFormatters.Table(section.Table) : HtmlFormatters.Chart(section.Chart!));
        }
        Markdown("## Claims");
        Output("result.Claims", HtmlFormatters.Table(outcome.Claims));

        var parameters = new JsonObject { ["Quick"] = m.Full ? "false" : "true", ["Seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var (k, v) in m.Parameters) parameters[k] = v;
        var machines = m.Units.Select(u => JsonNode.Parse(File.ReadAllText(sweep.DonePath(u)))?["machine"]?.GetValue<string>()).Distinct().ToList();
        var versions = new JsonObject();
        foreach (var (k, v) in TorchRuntime.Versions()) versions[k] = v;
        var provenance = new JsonObject
        {
            ["mode"] = m.Full ? "full" : "quick", ["parameters"] = parameters, ["seed"] = seed, ["git_commit"] = Provenance.GitCommit(), ["versions"] = versions,
            ["machine"] = string.Join("; ", machines), ["sweep"] = $"{sweep.Path} (manifest {sweep.ManifestSha256[..12]}, {m.Units.Count} units, {m.Shards} shards)",
            ["started"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
            ["reproduce"] = $"./workbench sweep plan {m.Experiment}{(m.Full ? " --full" : "")}{string.Concat(m.Parameters.Select(p => $" --param {p.Key}={p.Value}"))} --seeds {string.Join(",", m.Seeds)} --out <dir>",
        };
        doc.Metadata["workbench"] = provenance.DeepClone();
        AtomicFile.WriteAllText(ipynb, doc.ToJson());
        AtomicFile.WriteAllText(html, HtmlReport.Render(doc, provenance, null));
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, name + ".claims.csv"), Csv(outcome.Claims));
        return html;
    }

    static string Csv(Microsoft.Data.Analysis.DataFrame frame)
    {
        var sb = new System.Text.StringBuilder();
        static string Cell(object? v) => v is null ? "" : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) is var s && s!.IndexOfAny([',', '"', '\n']) >= 0 ? $"\"{s.Replace("\"", "\"\"")}\"" : s!;
        sb.AppendLine(string.Join(",", frame.Columns.Select(c => Cell(c.Name))));
        foreach (var row in frame.Rows) sb.AppendLine(string.Join(",", row.Select(Cell)));
        return sb.ToString();
    }
}
