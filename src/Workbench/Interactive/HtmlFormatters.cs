using System.Net;
using System.Text;
using Microsoft.Data.Analysis;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Interactive;

/// <summary>
/// HTML for the values notebooks show: Plotly charts, DataFrames, image tensors. Used by the
/// formatters registered in <see cref="Notebook.Init"/> (real kernel) and by the headless runner.
/// </summary>
public static class HtmlFormatters
{
    public const string PlotlyCdn = "https://cdn.plot.ly/plotly-2.28.0.min.js";

    /// <summary>
    /// A chart as a div plus the script that draws it. When plotly.js is not on the page yet (a
    /// notebook front end), the script loads it from the CDN first; the HTML report embeds plotly.js
    /// once in its head, so there it works offline.
    /// </summary>
    public static string Chart(GenericChart chart) => Figure(GenericChart.toFigureJson(chart));

    /// <summary>A slider figure: every step's traces in one figure, a Plotly slider showing one step at a time.</summary>
    public static string Slider(Workbench.Visualization.SliderFigure figure) => Figure(figure.ToFigureJson());

    /// <summary>A Plotly figure given as JSON ({"data": [...], "layout": {...}}) as a div plus the script that draws it.</summary>
    public static string Figure(string json)
    {
        string id = "wb-plot-" + Guid.NewGuid().ToString("N")[..12];
        return $$"""
            <div id="{{id}}" class="wb-plot"></div>
            <script type="text/javascript">
            (function () {
              var fig = {{json}};
              var draw = function () { Plotly.newPlot('{{id}}', fig.data, fig.layout, {responsive: true}); };
              if (typeof Plotly !== 'undefined') { draw(); return; }
              var s = document.createElement('script'); s.src = '{{PlotlyCdn}}'; s.onload = draw; document.head.appendChild(s);
            })();
            </script>
            """;
    }

    /// <summary>
    /// A DataFrame as a table: column names and types, the first <paramref name="maxRows"/> rows, the size; a longer frame
    /// keeps every row (up to <paramref name="expandableRows"/>) behind a "show all" toggle that works without a kernel.
    /// Text is left-aligned, numbers right-aligned.
    /// </summary>
    public static string Table(DataFrame frame, int maxRows = 25, int expandableRows = 2000)
    {
        var sb = new StringBuilder("<table class=\"wb-table\"" + ClaimsAttribute(frame) + ScorecardAttribute(frame) + ">");
        AppendRows(sb, frame, Math.Min(frame.Rows.Count, maxRows));
        sb.Append("</table>");
        sb.Append($"<p class=\"wb-caption\">{frame.Rows.Count} rows × {frame.Columns.Count} columns{(frame.Rows.Count > maxRows ? $" (first {maxRows} shown)" : "")}</p>");
        if (frame.Rows.Count > maxRows)
        {
            long all = Math.Min(frame.Rows.Count, expandableRows);
            sb.Append($"<details class=\"wb-more\"><summary>show {(all == frame.Rows.Count ? "all" : "the first")} {all} rows</summary><table class=\"wb-table-all\">");
            AppendRows(sb, frame, all);
            sb.Append("</table></details>");
        }
        return sb.ToString();
    }

    static void AppendRows(StringBuilder sb, DataFrame frame, long rows)
    {
        static string Align(DataFrameColumn c) => c.DataType == typeof(string) || c.DataType == typeof(bool) ? "left" : "right";
        sb.Append("<thead><tr>");
        foreach (var c in frame.Columns)
            sb.Append($"<th style=\"text-align:{Align(c)}\">{WebUtility.HtmlEncode(c.Name)}<br/><small>{WebUtility.HtmlEncode(c.DataType.Name)}</small></th>");
        sb.Append("</tr></thead><tbody>");
        for (long r = 0; r < rows; r++)
        {
            sb.Append("<tr>");
            foreach (var c in frame.Columns) sb.Append($"<td style=\"text-align:{Align(c)}\">{WebUtility.HtmlEncode(FormatCell(c[r]))}</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody>");
    }

    /// <summary>The attribute a claims table (a boolean "holds" column, and a "claim" column) carries so that a
    /// notebook run can list its claims from the kernel's HTML output: data-workbench-claims='[{"claim":..,"holds":..}]'.</summary>
    public const string ClaimsAttributeName = "data-workbench-claims";

    static string ClaimsAttribute(DataFrame frame)
    {
        if (!frame.Columns.Any(c => c.Name == "holds" && c.DataType == typeof(bool))) return "";
        bool named = frame.Columns.Any(c => c.Name == "claim");
        var claims = new System.Text.Json.Nodes.JsonArray();
        for (long r = 0; r < frame.Rows.Count; r++)
            claims.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["claim"] = named ? frame["claim"][r]?.ToString() ?? "" : $"row {r + 1}",
                ["holds"] = frame["holds"][r] is true,
            });
        return $" {ClaimsAttributeName}=\"{WebUtility.HtmlEncode(claims.ToJsonString())}\"";
    }

    /// <summary>The attribute a scorecard (<see cref="Workbench.Evaluation.AttributionScorecard.Rank"/>: a "method" column and an
    /// "overall_rank" column) carries so that a notebook run can put its ranking in the report index:
    /// data-workbench-scorecard='{"columns":["method", "rank …", …, "overall_rank"], "rows":[["IG", "1", …], …]}'
    /// (the method, every rank column, the weighted mean rank, the overall rank and the randomization check, as displayed).</summary>
    public const string ScorecardAttributeName = "data-workbench-scorecard";

    static string ScorecardAttribute(DataFrame frame)
    {
        var names = frame.Columns.Select(c => c.Name).ToList();
        if (!names.Contains("method") || !names.Contains("overall_rank")) return "";
        var kept = names.Where(n => n == "method" || n.StartsWith("rank ", StringComparison.Ordinal)
            || n is "weighted_mean_rank" or "overall_rank" or "passes_randomization_check").ToList();
        var rows = new System.Text.Json.Nodes.JsonArray();
        for (long r = 0; r < frame.Rows.Count; r++)
            rows.Add(new System.Text.Json.Nodes.JsonArray(kept.Select(n => (System.Text.Json.Nodes.JsonNode?)FormatCell(frame[n][r])).ToArray()));
        var card = new System.Text.Json.Nodes.JsonObject
        {
            ["columns"] = new System.Text.Json.Nodes.JsonArray(kept.Select(n => (System.Text.Json.Nodes.JsonNode?)n).ToArray()),
            ["rows"] = rows,
        };
        return $" {ScorecardAttributeName}=\"{WebUtility.HtmlEncode(card.ToJsonString())}\"";
    }

    static string FormatCell(object? v) => v switch
    {
        null => "",
        double d => d.ToString("G5", System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString("G5", System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <summary>True for tensors that look like images: [H, W], [C, H, W] or [B, C, H, W] with C in {1, 3}.</summary>
    public static bool LooksLikeImage(Tensor t) => t.dim() switch
    {
        2 => t.shape[0] >= 4 && t.shape[1] >= 4,
        3 => t.shape[0] is 1 or 3 && t.shape[1] >= 4,
        4 => t.shape[1] is 1 or 3 && t.shape[0] <= 64 && t.shape[2] >= 4,
        _ => false,
    };

    /// <summary>Image tensors as PNGs (scaled, min to max, per image; one channel as a heat map), side by side.</summary>
    public static string Images(Tensor t, int pixelsPerCell = 4)
    {
        using var scope = torch.NewDisposeScope();
        var batch = (t.dim() switch { 2 => t.unsqueeze(0).unsqueeze(0), 3 => t.unsqueeze(0), _ => t }).detach().cpu().to_type(ScalarType.Float32);
        var sb = new StringBuilder("<div class=\"wb-images\">");
        for (long i = 0; i < batch.shape[0]; i++)
        {
            var img = batch[i];
            var min = img.min().item<float>(); var max = img.max().item<float>();
            var scaled = ((img - min) / Math.Max(1e-12f, max - min)).clamp(0, 1);
            int h = (int)img.shape[1], w = (int)img.shape[2];
            var rgb = new byte[h * w * 3];
            var data = scaled.contiguous().data<float>().ToArray();
            for (int p = 0; p < h * w; p++)
            {
                if (img.shape[0] == 3)
                    for (int ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = (byte)(255 * data[ch * h * w + p]);
                else
                {
                    // A black-red-yellow-white ramp for one-channel maps.
                    float v = data[p];
                    rgb[p * 3] = (byte)(255 * Math.Min(1, 3 * v));
                    rgb[p * 3 + 1] = (byte)(255 * Math.Clamp(3 * v - 1, 0, 1));
                    rgb[p * 3 + 2] = (byte)(255 * Math.Clamp(3 * v - 2, 0, 1));
                }
            }
            var png = Convert.ToBase64String(PngEncoder.EncodeRgb(rgb, w, h));
            sb.Append($"<img style=\"image-rendering: pixelated; width:{w * pixelsPerCell}px; margin:2px\" src=\"data:image/png;base64,{png}\"/>");
        }
        return sb.Append("</div>").ToString();
    }
}
