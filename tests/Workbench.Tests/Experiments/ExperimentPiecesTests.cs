using TorchSharp;
using Workbench.Attribution;
using Workbench.Experiments;
using Workbench.Experiments.FooledGradients;
using Workbench.Experiments.InterpretationGeneralization;
using Workbench.Tests.Attribution;
using static TorchSharp.torch;

namespace Workbench.Tests.Experiments;

/// <summary>The experiments' pieces, on tiny models (the experiments themselves run in the notebook tests).</summary>
public class ExperimentPiecesTests
{
    [Fact]
    public void E1_methods_are_the_seed_protocols_and_each_gives_maps_of_the_input_shape()
    {
        var config = InterpretationGeneralizationConfig.Quick with { SmoothGradSamples = 2, IgSteps = 3 };
        var names = InterpretationGeneralizationExperiment.Methods(config).Select(m => m.Name).ToList();
        Assert.Equal(new[] { "Gradient", "IntegratedGradients", "SmoothGrad σ=0.05", "SmoothGrad σ=0.3", "SparsifiedSmoothGrad", "DeepLift", "GradCam" }, names);
        using var model = Nets.Cnn(1);
        using var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 2, 0, 1);
        foreach (var (name, make) in InterpretationGeneralizationExperiment.Methods(config))
        {
            using var a = make(model).Attribute(x, Target.PerExample(new long[] { 0, 1, 2 }));
            Assert.Equal(x.shape, a.Map.shape);
            Assert.True(a.Map.isfinite().all().item<bool>(), name);
        }
        Assert.Equal(new[] { 2, 4, 8, 16 }, new InterpretationGeneralizationConfig().SplitFactors);
        Assert.Equal(1000, new InterpretationGeneralizationConfig().TestImages);
        Assert.Equal(200, InterpretationGeneralizationConfig.Quick.TestImages);
    }

    [Fact]
    public void Claims_table_has_a_boolean_holds_column()
    {
        var frame = ClaimsTable.ToDataFrame(new[] { new Claim("a", "1", "2", true), new Claim("b", "3", "4", false) });
        Assert.Equal(typeof(bool), frame["holds"].DataType);
        Assert.Equal(new object?[] { true, false }, new[] { frame["holds"][0], frame["holds"][1] });
    }

    [Fact]
    public void E2_pattern_is_smooth_unit_norm_and_seeded()
    {
        using var a = FooledGradientsExperiment.Pattern(0);
        using var b = FooledGradientsExperiment.Pattern(0);
        using var c = FooledGradientsExperiment.Pattern(1);
        Assert.Equal(new long[] { 1, 28, 28 }, a.shape);
        Assert.Equal(1.0, a.norm().item<float>(), 4);
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());
        // Smooth: neighbouring pixels are strongly correlated.
        var left = a[0, .., ..27].flatten().data<float>().Select(v => (double)v).ToArray();
        var right = a[0, .., 1..].flatten().data<float>().Select(v => (double)v).ToArray();
        Assert.True(MathNet.Numerics.Statistics.Correlation.Pearson(left, right) > 0.8);
    }
}
