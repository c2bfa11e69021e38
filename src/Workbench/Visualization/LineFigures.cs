using Plotly.NET;
using static Workbench.Visualization.PlotlyObjects;

namespace Workbench.Visualization;

/// <summary>One line of a <see cref="LineFigures.Lines{TX}"/> figure.</summary>
public sealed record Series<TX>(string Name, IReadOnlyList<TX> X, IReadOnlyList<double> Y, bool Dashed = false);

/// <summary>Line figures with titled axes, distinct colours and optional log scales (the studies' curves).</summary>
public static class LineFigures
{
    /// <summary>Plotly's and D3's category colours, then a second set: 20 series keep distinct colours.</summary>
    static readonly string[] Palette =
    {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
        "#393b79", "#ad494a", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
    };

    /// <summary>One line (with markers) per series; x may be numbers or categories (kept in the given order).</summary>
    public static GenericChart Lines<TX>(IReadOnlyList<Series<TX>> series, string xTitle, string yTitle, string title,
        bool logX = false, bool logY = false, (double Min, double Max)? yRange = null, int width = 900, int height = 450)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("series must hold at least one line; got none.", nameof(series));
        var traces = series.Select((s, i) => TraceOf("scatter", ("x", s.X.ToArray()), ("y", s.Y.ToArray()), ("name", s.Name), ("mode", "lines+markers"),
            ("line", Obj(("color", Palette[i % Palette.Length]), ("dash", s.Dashed ? "dash" : "solid"))))).ToArray();
        var xAxis = Obj(("title", Obj(("text", xTitle))));
        if (logX) xAxis.SetProperty("type", "log");
        var yAxis = Obj(("title", Obj(("text", yTitle))));
        if (logY) yAxis.SetProperty("type", "log");
        if (yRange is { } r) yAxis.SetProperty("range", new[] { r.Min, r.Max });
        var layout = new Layout();
        layout.SetProperty("xaxis", xAxis);
        layout.SetProperty("yaxis", yAxis);
        layout.SetProperty("title", Obj(("text", title), ("x", 0.02), ("xanchor", "left")));
        layout.SetProperty("width", width);
        layout.SetProperty("height", height);
        return GenericChart.ofTraceObjects(true, traces).WithLayoutObject(layout);
    }

    /// <summary>A heatmap of a rows × columns table (e.g. ranks of methods per criterion), each cell labelled with its value.</summary>
    public static GenericChart Table(IReadOnlyList<string> rows, IReadOnlyList<string> columns, double[][] values, string title,
        string colorscale = "Viridis", bool reverse = false, string format = "G3")
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != rows.Count || values.Any(v => v.Length != columns.Count))
            throw new ArgumentException($"values must be {rows.Count} rows × {columns.Count} columns.", nameof(values));
        var text = values.Select(r => r.Select(v => double.IsFinite(v) ? v.ToString(format) : "–").ToArray()).ToArray();
        var trace = TraceOf("heatmap", ("z", values), ("x", columns.ToArray()), ("y", rows.ToArray()), ("text", text), ("texttemplate", "%{text}"),
            ("colorscale", colorscale), ("reversescale", reverse), ("hoverongaps", false));
        var layout = new Layout();
        layout.SetProperty("title", Obj(("text", title), ("x", 0.02), ("xanchor", "left")));
        layout.SetProperty("yaxis", Obj(("autorange", "reversed"), ("automargin", true)));
        layout.SetProperty("xaxis", Obj(("automargin", true), ("side", "top")));
        layout.SetProperty("width", Math.Min(1000, 220 + 90 * columns.Count));
        layout.SetProperty("height", 160 + 28 * rows.Count);
        return GenericChart.ofTraceObjects(true, new[] { trace }).WithLayoutObject(layout);
    }
}
