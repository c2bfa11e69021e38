using Plotly.NET;
using Plotly.NET.CSharp;
using TorchSharp;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace Workbench.Visualization;

/// <summary>Plotly figures of attribution maps, so notebooks never spell Plotly's generic arguments.</summary>
public static class AttributionFigures
{
    /// <summary>
    /// A grid of maps: one row per image, the input in the first column, then one column per method.
    /// Maps are normalised per map (<see cref="MapNormalization.Normalize"/>).
    /// </summary>
    public static GenericChart Grid(Tensor images, IReadOnlyList<(string Method, Tensor Maps)> columns, MapSign sign = MapSign.Absolute, double percentile = 99)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4) throw new ArgumentException($"images must be [batch, channels, height, width]; got [{string.Join(", ", images.shape)}].", nameof(images));
        long rows = images.shape[0];
        foreach (var (method, maps) in columns)
            if (maps.shape[0] != rows) throw new ArgumentException($"maps of '{method}' have {maps.shape[0]} rows; the images have {rows}.", nameof(columns));
        var charts = new List<GenericChart>();
        using var scope = torch.NewDisposeScope();
        var grey = images.mean(new long[] { 1 });
        var normalized = columns.Select(c => MapNormalization.Normalize(c.Maps, sign, percentile)).ToList();
        for (long r = 0; r < rows; r++)
        {
            charts.Add(Heatmap(grey[r], "Greys", reverse: true));
            foreach (var n in normalized) charts.Add(Heatmap(n[r], sign == MapSign.Signed ? "RdBu" : "Hot", reverse: sign != MapSign.Signed));
        }
        var titles = new[] { "input" }.Concat(columns.Select(c => c.Method)).ToArray();
        var grid = CSharpChart.Grid(charts, (int)rows, titles.Length)
            .WithSize(Width: 140 * titles.Length + 80, Height: 140 * (int)rows + 80);
        return Plotly.NET.Chart.withTitle(string.Join(" | ", titles), Microsoft.FSharp.Core.FSharpOption<Font>.None).Invoke(grid);
    }

    static StyleParam.Colorscale Scale(string name) => name switch
    {
        "Greys" => StyleParam.Colorscale.Greys,
        "Hot" => StyleParam.Colorscale.Hot,
        "RdBu" => StyleParam.Colorscale.RdBu,
        "Viridis" => StyleParam.Colorscale.Viridis,
        _ => throw new ArgumentException($"colorscale must be Greys, Hot, RdBu or Viridis; got '{name}'.", nameof(name)),
    };

    /// <summary>One image or map [H, W] as a heatmap with the first row at the top.</summary>
    public static GenericChart Heatmap(Tensor map, string colorscale = "Viridis", bool reverse = false)
    {
        if (map.dim() != 2) throw new ArgumentException($"map must be [height, width]; got [{string.Join(", ", map.shape)}].", nameof(map));
        var values = map.to_type(ScalarType.Float64).cpu();
        long h = values.shape[0], w = values.shape[1];
        var data = values.data<double>().ToArray();
        // Heatmap rows run bottom-up; reverse them so the image's first row is at the top.
        var z = Enumerable.Range(0, (int)h).Reverse().Select(i => data.Skip(i * (int)w).Take((int)w).ToArray()).ToArray();
        return CSharpChart.Heatmap<double, int, int, string>(zData: z, ShowScale: false, ReverseScale: reverse,
                ColorScale: Scale(colorscale));
    }
}
