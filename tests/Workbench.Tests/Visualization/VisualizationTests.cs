using Plotly.NET;
using TorchSharp;
using Workbench.Runtime;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Tests.Visualization;

public class VisualizationTests
{
    public VisualizationTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Normalization_clips_at_the_percentile_and_keeps_sign_when_asked()
    {
        using var maps = torch.linspace(-1, 1, 2 * 3 * 10 * 10).reshape(2, 3, 10, 10);
        using var abs = MapNormalization.Normalize(maps, MapSign.Absolute, 99);
        Assert.Equal(new long[] { 2, 10, 10 }, abs.shape);
        Assert.True(abs.min().item<float>() >= 0);
        Assert.Equal(1f, abs.max().item<float>());
        using var signed = MapNormalization.Normalize(maps, MapSign.Signed);
        Assert.True(signed.min().item<float>() < 0);
        using var positive = MapNormalization.Normalize(maps, MapSign.Positive);
        Assert.Equal(0f, positive[0].min().item<float>());
        // A single huge outlier does not flatten everything else when clipping at the 99th percentile.
        using var spiky = torch.ones(1, 1, 20, 20);
        spiky[0, 0, 0, 0] = torch.tensor(1000f);
        using var n = MapNormalization.Normalize(spiky, MapSign.Absolute, 99);
        Assert.Equal(1f, n[0, 5, 5].item<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => MapNormalization.Normalize(maps, MapSign.Absolute, 0));
    }

    [Fact]
    public void Overlay_is_rgb_in_range()
    {
        using var images = torch.rand(2, 1, 8, 8);
        using var maps = torch.rand(2, 8, 8);
        using var o = MapNormalization.Overlay(images, maps);
        Assert.Equal(new long[] { 2, 3, 8, 8 }, o.shape);
        Assert.True(o.min().item<float>() >= 0 && o.max().item<float>() <= 1);
    }

    static System.Text.Json.Nodes.JsonObject Figure(GenericChart chart) => System.Text.Json.Nodes.JsonNode.Parse(GenericChart.toFigureJson(chart))!.AsObject();

    [Fact]
    public void Grid_has_one_heatmap_per_image_and_column()
    {
        using var images = torch.rand(3, 1, 8, 8);
        using var a = torch.rand(3, 1, 8, 8);
        using var b = torch.randn(3, 1, 8, 8);
        var chart = AttributionFigures.Grid(images, new[] { ("Saliency", a), ("IG", b) });
        var figure = Figure(chart);
        var traces = figure["data"]!.AsArray();
        Assert.Equal(9, traces.Count(t => (string)t!["type"]! == "heatmap"));
        Assert.Equal(9, traces.Select(t => (string)t!["xaxis"]!).Distinct().Count()); // one subplot per panel
        Assert.Contains(figure["layout"]!["annotations"]!.AsArray(), n => (string)n!["text"]! == "Saliency");
        Assert.Throws<ArgumentException>(() => AttributionFigures.Grid(images, new[] { ("bad", torch.rand(2, 1, 8, 8)) }));
    }

    /// <summary>
    /// Issues #13 and #21: maps share one colour scale with one colour bar, panels have no ticks and show images upright,
    /// every column has its own title, rows their labels, an all-zero map says so, and a wide grid fits 1024 px.
    /// </summary>
    [Fact]
    public void Grid_shares_one_scale_marks_all_zero_maps_and_fits_the_page()
    {
        using var images = torch.rand(2, 1, 8, 8);
        using var maps = torch.rand(2, 1, 8, 8);
        maps[1] = torch.zeros(1, 8, 8); // image 1 has no evidence at all
        var columns = Enumerable.Range(0, 8).Select(i => ($"method number {i}", maps)).ToList();
        var figure = Figure(AttributionFigures.Grid(images, columns, rowLabels: new[] { "true 7", "true 2" }, title: "maps"));
        var traces = figure["data"]!.AsArray();
        var mapTraces = traces.Skip(2).ToList(); // the input column comes first, one panel per row
        Assert.All(mapTraces, t => Assert.Equal((0.0, 1.0), ((double)t!["zmin"]!, (double)t["zmax"]!)));
        Assert.Single(traces, t => (bool)t!["showscale"]!);
        var layout = figure["layout"]!.AsObject();
        var axes = layout.Where(kv => kv.Key.StartsWith("xaxis") || kv.Key.StartsWith("yaxis")).ToList();
        Assert.Equal(2 * traces.Count, axes.Count);
        Assert.All(axes, kv => Assert.False((bool)kv.Value!["showticklabels"]!));
        Assert.All(axes.Where(kv => kv.Key.StartsWith("yaxis")), kv => Assert.Equal("reversed", (string)kv.Value!["autorange"]!));
        var texts = layout["annotations"]!.AsArray().Select(n => (string)n!["text"]!).ToList();
        Assert.Equal(8, texts.Count(t => t == "all zero"));                  // image 1, every method
        Assert.Contains("true 7", texts);
        Assert.Contains("input", texts);
        Assert.Equal(8, texts.Count(t => t.StartsWith("method")));
        Assert.True((int)layout["width"]! <= 1024, $"width {layout["width"]}");
        Assert.Equal("rowLabels", Assert.Throws<ArgumentException>(() => AttributionFigures.Grid(images, columns, rowLabels: new[] { "one" })).ParamName);
    }

    [Fact]
    public void Signed_grids_are_symmetric_and_image_columns_grey()
    {
        using var images = torch.rand(2, 1, 6, 6);
        using var maps = torch.randn(2, 1, 6, 6);
        var signed = Figure(AttributionFigures.Grid(images, new[] { ("gradient", maps) }, MapSign.Signed))["data"]!.AsArray();
        Assert.Equal((-1.0, 1.0, "RdBu"), ((double)signed[2]!["zmin"]!, (double)signed[2]!["zmax"]!, (string)signed[2]!["colorscale"]!));
        var samples = Figure(AttributionFigures.Images(new[] { ("model A", images), ("model B", images) }, new[] { "class 0", "class 1" }))["data"]!.AsArray();
        Assert.All(samples, t => Assert.Equal(("Greys", 0.0, 1.0), ((string)t!["colorscale"]!, (double)t["zmin"]!, (double)t["zmax"]!)));
        using var labels = torch.tensor(new long[] { 0, 9 });
        using var predicted = torch.tensor(new long[] { 6, 9 });
        Assert.Equal(new[] { "true T-shirt/top<br>pred Shirt", "true Ankle boot<br>pred Ankle boot" },
            AttributionFigures.ClassLabels(labels, predicted, Workbench.Data.Datasets.ClassNames(Workbench.Data.DatasetName.FashionMnist)));
    }

    /// <summary>Issue #21: training curves have titled axes and whole-number epoch ticks, train solid and test dashed.</summary>
    [Fact]
    public void Training_curves_have_axis_titles_and_whole_epochs()
    {
        var history = new Workbench.Training.TrainingHistory(Enumerable.Range(1, 3).Select(e =>
            new Workbench.Training.EpochMetrics(e, 1.0 / e, 0.8 + 0.05 * e, 0, 1.1 / e, 0.78 + 0.05 * e, 1e-3, 1.0, 100 * e)));
        var figure = Figure(TrainingFigures.Curves(history));
        var traces = figure["data"]!.AsArray();
        Assert.Equal(new[] { "train accuracy", "test accuracy", "train loss", "test loss" }, traces.Select(t => (string)t!["name"]!));
        Assert.Equal(new[] { 1, 2, 3 }, traces[0]!["x"]!.AsArray().Select(v => (int)v!));
        var layout = figure["layout"]!;
        Assert.Equal(("epoch", 1.0), ((string)layout["xaxis"]!["title"]!["text"]!, (double)layout["xaxis"]!["dtick"]!));
        Assert.Equal("cross-entropy", (string)layout["yaxis2"]!["title"]!["text"]!);
        Assert.Equal("history", Assert.Throws<ArgumentException>(() => TrainingFigures.Curves(new Workbench.Training.TrainingHistory())).ParamName);
    }
}
