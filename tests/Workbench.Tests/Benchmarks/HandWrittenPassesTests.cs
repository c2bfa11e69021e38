using TorchSharp;
using Workbench.Attribution;
using Workbench.Benchmarks;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Benchmarks;

/// <summary>
/// The benchmark's hand-written baselines compute the library's maps on the small CNN (in float64, so
/// agreement is to rounding): a ratio against a baseline that computed something else would time nothing.
/// </summary>
public class HandWrittenPassesTests
{
    static nn.Module<Tensor, Tensor> Cnn()
    {
        TorchRuntime.Seed(41);
        var model = new ModelSpec("cnn").Build();
        model.to(ScalarType.Float64);
        model.eval();
        return model;
    }

    static Tensor Images(int seed)
    {
        using var g = new torch.Generator((ulong)seed);
        return torch.rand(new long[] { 3, 1, 28, 28 }, ScalarType.Float64, generator: g);
    }

    [Fact]
    public void Hand_written_guided_backprop_is_the_library_map()
    {
        using var scope = torch.NewDisposeScope();
        var model = Cnn();
        var x = Images(42);
        using var library = new GuidedBackprop(model).Attribute(x, Target.Class(3));
        var hand = HandWrittenPasses.GuidedBackprop(model, x, 3);
        Assert.True(library.Map.abs().max().item<double>() > 0, "the map is all zeros: nothing was compared");
        Assert.True(library.Map.allclose(hand, rtol: 1e-9, atol: 1e-12), $"largest difference {(library.Map - hand).abs().max().item<double>():G3}");
    }

    [Fact]
    public void Hand_written_deeplift_is_the_library_map()
    {
        using var scope = torch.NewDisposeScope();
        var model = Cnn();
        var x = Images(43);
        foreach (var baseline in new[] { torch.zeros_like(x), Images(44) })
        {
            using var library = new DeepLift(model).Attribute(x, Target.Class(3), baseline);
            var hand = HandWrittenPasses.DeepLift(model, x, baseline, 3);
            Assert.True(library.Map.abs().max().item<double>() > 0, "the map is all zeros: nothing was compared");
            Assert.True(library.Map.allclose(hand, rtol: 1e-9, atol: 1e-12), $"largest difference {(library.Map - hand).abs().max().item<double>():G3}");
        }
    }

    [Fact]
    public void Hand_written_passes_name_the_missing_weight_of_another_model()
    {
        using var mlp = new ModelSpec("mlp").Build();
        using var x = torch.rand(2, 1, 28, 28);
        var e = Assert.Throws<ArgumentException>(() => HandWrittenPasses.DeepLift(mlp, x, torch.zeros_like(x), 0));
        Assert.Contains("conv1.weight", e.Message);
        Assert.Equal("model", e.ParamName);
    }
}
