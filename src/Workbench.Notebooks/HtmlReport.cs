using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Markdig;

namespace Workbench.Notebooks;

/// <summary>
/// A standalone HTML report of an executed notebook: narrative, code and outputs, provenance, and
/// plotly.js embedded once (from Plotly.NET's own copy), so it opens offline and reads on its own.
/// </summary>
public static class HtmlReport
{
    static readonly Lazy<string> PlotlyJs = new(() =>
    {
        var asm = typeof(Plotly.NET.GenericChart).Assembly;
        var name = asm.GetManifestResourceNames().FirstOrDefault(n => n.Contains("plotly", StringComparison.OrdinalIgnoreCase) && n.EndsWith(".js", StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException("Plotly.NET carries no plotly.js resource.");
        using var s = asm.GetManifestResourceStream(name)!;
        return new StreamReader(s).ReadToEnd();
    });

    static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    public static string Render(NotebookDocument doc, JsonObject provenance, CellFailure? failure)
    {
        var sb = new StringBuilder();
        string title = WebUtility.HtmlEncode(System.IO.Path.GetFileNameWithoutExtension(doc.Path));
        sb.Append($"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>");
        sb.Append("<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}" +
                  "pre{background:#f6f8fa;padding:.8em;overflow-x:auto;border-radius:6px}.wb-out{margin:.5em 0 1.5em 0}" +
                  ".wb-table{border-collapse:collapse;font-size:.9em}.wb-table td,.wb-table th{border:1px solid #ddd;padding:.25em .6em;text-align:right}" +
                  ".wb-error{color:#b00;background:#fee;padding:.6em;border-radius:6px}.wb-prov td{padding:.1em .8em;font-size:.85em}.wb-caption{font-size:.8em;color:#666}</style>");
        sb.Append("<script type=\"text/javascript\">").Append(PlotlyJs.Value).Append("</script></head><body>");
        sb.Append($"<h1>{title}</h1>");
        sb.Append(failure is null ? "<p><b>Status:</b> all cells ran.</p>"
            : $"<p class=\"wb-error\"><b>Failed</b> at cell {failure.CellNumber} (<code>{WebUtility.HtmlEncode(failure.FirstLine)}</code>): {WebUtility.HtmlEncode(failure.Message)}</p>");
        sb.Append("<details open><summary>Provenance</summary><table class=\"wb-prov\">");
        // One row per entry; nested objects (parameters, versions) one row per member, so nothing reads as raw JSON.
        foreach (var (k, v) in provenance.Where(p => p.Key != "cells"))
        {
            if (v is JsonObject nested)
                foreach (var (nk, nv) in nested) AppendProvenanceRow(sb, $"{k}: {nk}", nv);
            else AppendProvenanceRow(sb, k, v);
        }
        sb.Append("</table></details>");
        for (int i = 0; i < doc.Cells.Count; i++)
        {
            var cell = doc.Cells[i];
            if (cell.Kind == CellKind.Markdown) { sb.Append(Markdig.Markdown.ToHtml(cell.Source, Markdown)); continue; }
            sb.Append($"<pre><code>{WebUtility.HtmlEncode(cell.Source)}</code></pre>");
            if (cell.Duration is { } d) sb.Append($"<div class=\"wb-caption\">cell {i + 1} · {d.TotalSeconds:F2} s</div>");
            sb.Append("<div class=\"wb-out\">");
            foreach (var o in cell.Outputs)
            {
                if (o.OutputType == "stream") sb.Append($"<pre>{WebUtility.HtmlEncode(o.StreamText)}</pre>");
                else if (o.OutputType == "error") sb.Append($"<div class=\"wb-error\">{WebUtility.HtmlEncode(o.ErrorValue)}</div>");
                else if (o.Data.TryGetValue("text/html", out var html)) sb.Append(html);
                else if (o.Data.TryGetValue("text/plain", out var text)) sb.Append($"<pre>{WebUtility.HtmlEncode(text)}</pre>");
            }
            sb.Append("</div>");
        }
        return sb.Append("</body></html>").ToString();
    }

    /// <summary>
    /// The index page of a set of runs: date, commit and mode; per notebook its title (the first heading), status, run time,
    /// claims that hold, and every claim that does not hold, by name; then every scorecard the notebooks displayed.
    /// </summary>
    public static string Index(IReadOnlyList<NotebookRun> runs, bool quick, DateTimeOffset? when = null, string? commit = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        commit ??= Provenance.GitCommit();
        var date = (when ?? DateTimeOffset.UtcNow).ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var sb = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Workbench reports</title>" +
            "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}" +
            ".wb-fail{color:#b00}.wb-claims{margin:.2em 0 0 1em;padding:0;font-size:.85em;color:#555}</style></head><body>");
        sb.Append($"<h1>Workbench reports</h1><p>{(quick ? "Quick" : "Full")} mode · {WebUtility.HtmlEncode(date)} · commit <code>{WebUtility.HtmlEncode(commit)}</code> · " +
                  $"{runs.Count(r => r.Passed)} of {runs.Count} notebooks ran</p>");
        sb.Append("<table><tr><th>notebook</th><th>status</th><th>run time</th><th>claims that hold</th></tr>");
        foreach (var r in runs)
        {
            var link = ReportLink(r);
            var title = Title(r.Notebook);
            var failing = r.Claims.Where(c => !c.Holds).ToList();
            var claims = r.Claims.Count == 0 ? "—" : $"{r.Claims.Count(c => c.Holds)} / {r.Claims.Count}" +
                (failing.Count == 0 ? "" : "<ul class=\"wb-claims\">" + string.Concat(failing.Select(c => $"<li>does not hold: {WebUtility.HtmlEncode(c.Claim)}</li>")) + "</ul>");
            var time = r.Duration.TotalSeconds >= 90 ? $"{r.Duration.TotalMinutes:F1} min" : $"{r.Duration.TotalSeconds:F0} s";
            sb.Append($"<tr><td>{link}{(title.Length > 0 ? $"<br><small>{WebUtility.HtmlEncode(title)}</small>" : "")}</td>" +
                      $"<td>{(r.Passed ? "passed" : $"<span class=\"wb-fail\">failed: {WebUtility.HtmlEncode(r.Failure!.Message)}</span>")}</td><td>{time}</td><td>{claims}</td></tr>");
        }
        sb.Append("</table>");
        AppendScorecards(sb, runs);
        return sb.Append("</body></html>").ToString();
    }

    /// <summary>Every scorecard the runs displayed (E4's and E5's ranking of the attribution methods), ordered by overall rank.</summary>
    static void AppendScorecards(StringBuilder sb, IReadOnlyList<NotebookRun> runs)
    {
        var withCards = runs.Where(r => r.ScorecardTables.Count > 0).ToList();
        if (withCards.Count == 0) return;
        sb.Append("<h2>Scorecards</h2><p>Every attribution method ranked by every criterion (1 = best; the notebook gives the criteria's values, " +
                  "directions and weights).</p>");
        foreach (var r in withCards)
            for (int i = 0; i < r.ScorecardTables.Count; i++)
            {
                var card = r.ScorecardTables[i];
                sb.Append($"<h3>{ReportLink(r)}{(r.ScorecardTables.Count > 1 ? $", scorecard {i + 1}" : "")}</h3><table class=\"wb-scorecard\"><tr>");
                foreach (var c in card.Columns) sb.Append($"<th>{WebUtility.HtmlEncode(c)}</th>");
                sb.Append("</tr>");
                foreach (var row in card.Ranked())
                    sb.Append("<tr>").Append(string.Concat(row.Select(v => $"<td>{WebUtility.HtmlEncode(v)}</td>"))).Append("</tr>");
                sb.Append("</table>");
            }
    }

    /// <summary>The notebook's name, linked to its report when the run wrote one.</summary>
    static string ReportLink(NotebookRun r)
    {
        var name = WebUtility.HtmlEncode(System.IO.Path.GetFileNameWithoutExtension(r.Notebook));
        return r.Report.Length > 0 ? $"<a href=\"{WebUtility.HtmlEncode(System.IO.Path.GetFileName(r.Report))}\">{name}</a>" : name;
    }

    /// <summary>A notebook's one-line description: its first markdown heading, without the #s and emphasis marks.</summary>
    static string Title(string notebook)
    {
        try
        {
            var heading = NotebookDocument.Load(notebook).Cells.Where(c => c.Kind == CellKind.Markdown)
                .SelectMany(c => c.Source.Split('\n')).FirstOrDefault(l => l.TrimStart().StartsWith('#'));
            return heading is null ? "" : heading.TrimStart('#', ' ').Replace("*", "").Trim();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return ""; }
    }

    static void AppendProvenanceRow(StringBuilder sb, string key, JsonNode? value)
    {
        string text = value is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
        if (key == "duration_seconds" && value is JsonValue d && d.TryGetValue<double>(out var seconds))
            (key, text) = ("duration", seconds >= 90 ? $"{seconds / 60:F1} min" : $"{seconds:F0} s");
        sb.Append($"<tr><td>{WebUtility.HtmlEncode(key)}</td><td>{(key == "reproduce" ? $"<code>{WebUtility.HtmlEncode(text)}</code>" : WebUtility.HtmlEncode(text))}</td></tr>");
    }
}
