using System.Globalization;
using DynamicObj;
using static Workbench.Visualization.PlotlyObjects;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Visualization;

/// <summary>Plotly figures of images and attribution maps, so notebooks never spell Plotly's generic arguments.</summary>
public static class AttributionFigures
{
    /// <summary>Panels are at most this wide, and narrower when the grid has many columns, so a grid fits a 1024-px page.</summary>
    const int MaxPanel = 130, PageWidth = 1000;

    /// <summary>
    /// A grid of maps: one row per image, the input in the first column, then one column per method, each column
    /// titled. Maps are normalised per map (<see cref="MapNormalization.Normalize"/>) onto one shared scale, [0, 1]
    /// (or [−1, 1] when signed), drawn with one colour bar. A map that is zero everywhere (e.g. Grad-CAM on an image
    /// with no positive evidence) is drawn as zero and marked "all zero" rather than stretched. Panels carry no ticks;
    /// <paramref name="rowLabels"/> (e.g. <see cref="ClassLabels"/>) name the rows.
    /// </summary>
    public static GenericChart Grid(Tensor images, IReadOnlyList<(string Method, Tensor Maps)> columns, MapSign sign = MapSign.Absolute, double percentile = 99,
        IReadOnlyList<string>? rowLabels = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(columns);
        if (images.dim() != 4) throw new ArgumentException($"images must be [batch, channels, height, width]; got [{string.Join(", ", images.shape)}].", nameof(images));
        long rows = images.shape[0];
        foreach (var (method, maps) in columns)
            if (maps.shape[0] != rows) throw new ArgumentException($"maps of '{method}' have {maps.shape[0]} rows; the images have {rows}.", nameof(columns));
        CheckRowLabels(rowLabels, rows);
        using var scope = torch.NewDisposeScope();
        var grey = images.mean(new long[] { 1 });
        var panels = new List<Panel>();
        var (inputMin, inputMax) = Range(grey);
        for (int r = 0; r < rows; r++) panels.Add(new Panel(r, 0, grey[r], "Greys", true, inputMin, inputMax, null, false));
        bool signed = sign == MapSign.Signed;
        for (int c = 0; c < columns.Count; c++)
        {
            var raw = columns[c].Maps;
            var normalized = MapNormalization.Normalize(raw, sign, percentile);
            var zero = raw.detach().abs().flatten(1).amax(new long[] { 1 }).eq(0).data<bool>().ToArray();
            for (int r = 0; r < rows; r++)
                panels.Add(new Panel(r, c + 1, normalized[r], signed ? "RdBu" : "Hot", !signed, signed ? -1 : 0, 1, zero[r] ? "all zero" : null, c == 0 && r == 0));
        }
        var titles = new[] { "input" }.Concat(columns.Select(c => c.Method)).ToList();
        return Build(panels, (int)rows, titles, rowLabels, title, signed ? "normalized attribution (signed)" : "normalized |attribution|");
    }

    /// <summary>
    /// Columns of images in grey on one fixed [0, 1] scale (e.g. samples of several models, one row per class), titled
    /// per column, rows named by <paramref name="rowLabels"/>.
    /// </summary>
    public static GenericChart Images(IReadOnlyList<(string Title, Tensor Images)> columns, IReadOnlyList<string>? rowLabels = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0) throw new ArgumentException("columns must hold at least one column; got none.", nameof(columns));
        long rows = columns[0].Images.shape[0];
        foreach (var (name, images) in columns)
        {
            if (images.dim() != 4) throw new ArgumentException($"images of '{name}' must be [batch, channels, height, width]; got [{string.Join(", ", images.shape)}].", nameof(columns));
            if (images.shape[0] != rows) throw new ArgumentException($"images of '{name}' have {images.shape[0]} rows; the first column has {rows}.", nameof(columns));
        }
        CheckRowLabels(rowLabels, rows);
        using var scope = torch.NewDisposeScope();
        var panels = new List<Panel>();
        for (int c = 0; c < columns.Count; c++)
        {
            var grey = columns[c].Images.mean(new long[] { 1 });
            for (int r = 0; r < rows; r++) panels.Add(new Panel(r, c, grey[r], "Greys", true, 0, 1, null, false));
        }
        return Build(panels, (int)rows, columns.Select(c => c.Title).ToList(), rowLabels, title, null);
    }

    /// <summary>Row labels "true T-shirt/top · pred Shirt" from labels, optional predictions and the dataset's class names.</summary>
    public static IReadOnlyList<string> ClassLabels(Tensor labels, Tensor? predictions = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var y = labels.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
        var p = predictions?.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
        if (p is not null && p.Length != y.Length) throw new ArgumentException($"predictions must have one entry per label ({y.Length}); got {p.Length}.", nameof(predictions));
        string Name(long k) => classNames is not null && k >= 0 && k < classNames.Count ? classNames[(int)k] : k.ToString(CultureInfo.InvariantCulture);
        return y.Select((label, i) => p is null ? $"true {Name(label)}" : $"true {Name(label)}<br>pred {Name(p[i])}").ToArray();
    }

    /// <summary>One image or map [H, W] as a heatmap with the first row at the top.</summary>
    public static GenericChart Heatmap(Tensor map, string colorscale = "Viridis", bool reverse = false)
    {
        if (map.dim() != 2) throw new ArgumentException($"map must be [height, width]; got [{string.Join(", ", map.shape)}].", nameof(map));
        Scale(colorscale);
        var (min, max) = Range(map);
        var trace = HeatmapTrace(map, colorscale, reverse, min, max, "x", "y");
        var layout = new Layout();
        layout.SetProperty("yaxis", Axis(null, reversed: true));
        layout.SetProperty("xaxis", Axis("y", reversed: false));
        return GenericChart.ofTraceObject(true, trace).WithLayoutObject(layout);
    }

    sealed record Panel(int Row, int Column, Tensor Values, string Colorscale, bool Reverse, double Min, double Max, string? Note, bool ShowScale);

    static GenericChart Build(List<Panel> panels, int rows, IReadOnlyList<string> titles, IReadOnlyList<string>? rowLabels, string? title, string? scaleTitle)
    {
        int columns = titles.Count;
        int left = rowLabels is null ? 10 : 100, right = scaleTitle is null ? 10 : 90, top = title is null ? 40 : 70;
        int panel = Math.Max(48, Math.Min(MaxPanel, (PageWidth - left - right) / columns));
        int width = left + right + panel * columns, height = top + 10 + panel * rows;
        const double gap = 0.04; // of a cell, on each side
        var layout = new Layout();
        var annotations = new List<DynamicObj.DynamicObj>();
        var traces = new List<Trace>();
        foreach (var p in panels)
        {
            int index = p.Row * columns + p.Column + 1;
            string suffix = index == 1 ? "" : index.ToString(CultureInfo.InvariantCulture);
            double x0 = (p.Column + gap) / columns, x1 = (p.Column + 1 - gap) / columns;
            double y1 = 1 - (p.Row + gap) / rows, y0 = 1 - (p.Row + 1 - gap) / rows;
            var trace = HeatmapTrace(p.Values, p.Colorscale, p.Reverse, p.Min, p.Max, "x" + suffix, "y" + suffix);
            if (p.ShowScale)
            {
                trace.SetProperty("showscale", true);
                trace.SetProperty("colorbar", Obj(("title", Obj(("text", scaleTitle!), ("side", "right"))), ("len", 0.9), ("thickness", 12)));
            }
            traces.Add(trace);
            var x = Axis("y" + suffix, reversed: false);
            x.SetProperty("domain", new[] { x0, x1 });
            var y = Axis(null, reversed: true);
            y.SetProperty("domain", new[] { y0, y1 });
            layout.SetProperty("xaxis" + suffix, x);
            layout.SetProperty("yaxis" + suffix, y);
            if (p.Note is not null)
                annotations.Add(Obj(("text", p.Note), ("xref", "paper"), ("yref", "paper"), ("x", (x0 + x1) / 2), ("y", (y0 + y1) / 2), ("showarrow", false),
                    ("font", Obj(("size", 10), ("color", "#1f77b4"))), ("bgcolor", "rgba(255,255,255,0.8)")));
        }
        for (int c = 0; c < columns; c++)
            annotations.Add(Obj(("text", Wrap(titles[c], panel)), ("xref", "paper"), ("yref", "paper"), ("x", (c + 0.5) / columns), ("y", 1),
                ("xanchor", "center"), ("yanchor", "bottom"), ("showarrow", false), ("font", Obj(("size", 11)))));
        if (rowLabels is not null)
            for (int r = 0; r < rows; r++)
                annotations.Add(Obj(("text", rowLabels[r]), ("xref", "paper"), ("yref", "paper"), ("x", 0), ("y", 1 - (r + 0.5) / rows),
                    ("xanchor", "right"), ("yanchor", "middle"), ("xshift", -4), ("showarrow", false), ("font", Obj(("size", 10)))));
        layout.SetProperty("annotations", annotations);
        layout.SetProperty("width", width);
        layout.SetProperty("height", height);
        layout.SetProperty("margin", Obj(("l", left), ("r", right), ("t", top), ("b", 10)));
        layout.SetProperty("plot_bgcolor", "white");
        if (title is not null) layout.SetProperty("title", Obj(("text", title), ("x", 0.02), ("xanchor", "left")));
        return GenericChart.ofTraceObjects(true, traces).WithLayoutObject(layout);
    }

    static Trace HeatmapTrace(Tensor map, string colorscale, bool reverse, double min, double max, string xaxis, string yaxis)
    {
        var values = map.detach().to_type(ScalarType.Float64).cpu();
        long h = values.shape[0], w = values.shape[1];
        var data = values.data<double>().ToArray();
        // Row 0 of z is drawn at the top because the y axis is reversed (autorange "reversed"), as images are.
        var z = Enumerable.Range(0, (int)h).Select(i => data.Skip(i * (int)w).Take((int)w).ToArray()).ToArray();
        var trace = new Trace("heatmap");
        trace.SetProperty("z", z);
        trace.SetProperty("colorscale", Scale(colorscale));
        trace.SetProperty("reversescale", reverse);
        trace.SetProperty("zmin", min);
        trace.SetProperty("zmax", max == min ? min + 1 : max);
        trace.SetProperty("showscale", false);
        trace.SetProperty("xaxis", xaxis);
        trace.SetProperty("yaxis", yaxis);
        trace.SetProperty("hovertemplate", "row %{y}, column %{x}: %{z:.3f}<extra></extra>");
        return trace;
    }

    static DynamicObj.DynamicObj Axis(string? scaleAnchor, bool reversed)
    {
        var axis = Obj(("showticklabels", false), ("ticks", ""), ("showgrid", false), ("zeroline", false), ("showline", false), ("constrain", "domain"));
        if (scaleAnchor is not null) axis.SetProperty("scaleanchor", scaleAnchor);
        if (reversed) axis.SetProperty("autorange", "reversed");
        return axis;
    }

    /// <summary>Breaks a column title into lines that fit its panel (Plotly annotations do not wrap).</summary>
    static string Wrap(string text, int panelPixels)
    {
        int perLine = Math.Max(8, panelPixels / 7);
        var lines = new List<string>();
        var line = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > perLine) { lines.Add(line); line = word; }
            else line = line.Length == 0 ? word : line + " " + word;
        }
        if (line.Length > 0) lines.Add(line);
        return string.Join("<br>", lines);
    }

    static (double Min, double Max) Range(Tensor t)
    {
        double min = t.min().item<float>(), max = t.max().item<float>();
        // Images in [0, 1] keep the full scale, so a faint image stays faint.
        return min >= 0 && max <= 1 ? (0, 1) : (min, max);
    }

    static void CheckRowLabels(IReadOnlyList<string>? rowLabels, long rows)
    {
        if (rowLabels is not null && rowLabels.Count != rows)
            throw new ArgumentException($"rowLabels must have one label per row ({rows}); got {rowLabels.Count}.", nameof(rowLabels));
    }

    static string Scale(string name) => name switch
    {
        "Greys" or "Hot" or "RdBu" or "Viridis" => name,
        _ => throw new ArgumentException($"colorscale must be Greys, Hot, RdBu or Viridis; got '{name}'.", nameof(name)),
    };
}
