using Workbench.Benchmarks;
using Workbench.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Tests.Benchmarks;

public class AttributionBenchmarkTests
{
    static AttributionBenchmarkConfig Tiny(params string[] methods) =>
        new(Batch: 4, Steps: 2, Repeats: 2, IgMemorySteps: 2, IgMemoryImages: 2, WindowSeconds: 0.01, Methods: methods, WarmupSeconds: 0.01);

    [Fact]
    public void Only_the_named_methods_are_timed_and_rule_methods_have_a_hand_written_ratio()
    {
        TorchRuntime.EnsureLoaded();
        using var images = torch.rand(4, 1, 28, 28);
        var result = AttributionBenchmark.Run(images, Tiny("saliency", "DeepLift"));
        Assert.Equal(new[] { "Saliency", "DeepLift" }, result.Methods.Select(m => m.Method));
        Assert.Null(result.Methods[0].HandWrittenRatio);
        Assert.True(result.Methods[1].HandWrittenRatio > 0);
        Assert.All(result.Methods, m => Assert.True(m.Ratio > 0 && m.LibrarySeconds > 0 && m.RawSeconds > 0));
    }

    [Fact]
    public void An_unknown_method_is_an_error_listing_the_known_ones()
    {
        TorchRuntime.EnsureLoaded();
        using var images = torch.rand(4, 1, 28, 28);
        var e = Assert.Throws<ArgumentException>(() => { AttributionBenchmark.Run(images, Tiny("Saliency", "Bogus")); });
        Assert.Contains("Bogus", e.Message);
        Assert.Contains("GuidedBackprop", e.Message);
    }
}
