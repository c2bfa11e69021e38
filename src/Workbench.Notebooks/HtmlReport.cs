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
        foreach (var (k, v) in provenance.Where(p => p.Key != "cells"))
            sb.Append($"<tr><td>{WebUtility.HtmlEncode(k)}</td><td><code>{WebUtility.HtmlEncode(v is JsonValue jv && jv.TryGetValue<string>(out var text) ? text : v?.ToJsonString() ?? "")}</code></td></tr>");
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
}
