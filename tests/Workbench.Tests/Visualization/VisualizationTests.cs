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

    [Fact]
    public void Grid_has_one_heatmap_per_image_and_column()
    {
        using var images = torch.rand(3, 1, 8, 8);
        using var a = torch.rand(3, 1, 8, 8);
        using var b = torch.randn(3, 1, 8, 8);
        var chart = AttributionFigures.Grid(images, new[] { ("Saliency", a), ("IG", b) });
        var html = GenericChart.toChartHTML(chart);
        Assert.Equal(9, System.Text.RegularExpressions.Regex.Matches(html, "\"type\":\"heatmap\",\"z\"").Count);
        Assert.Contains("Saliency", html);
        Assert.Throws<ArgumentException>(() => AttributionFigures.Grid(images, new[] { ("bad", torch.rand(2, 1, 8, 8)) }));
    }
}
