using TorchSharp;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

public class ColoredMnistTests
{
    public ColoredMnistTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Grey "digits": random strokes in [0, 1] (about half the pixels 0, the background), labels 0–9 in turn.</summary>
    static TensorDataset Digits(int n, int seed)
    {
        var g = new torch.Generator((ulong)seed);
        var x = torch.rand(new long[] { n, 1, 28, 28 }, generator: g);
        x = x * (x > 0.5).to_type(ScalarType.Float32);
        return new TensorDataset(x, torch.arange(n, dtype: ScalarType.Int64) % 10, $"digits-{seed}", 10);
    }

    [Fact]
    public void At_zero_variance_each_digit_has_its_class_colour_and_the_concept_is_the_label()
    {
        using var digits = Digits(40, 1);
        using var set = ColoredMnist.Generate(digits, sigma: 0, seed: 2);
        using var palette = ColoredMnist.Palette();
        Assert.Equal(new long[] { 40, 3, 28, 28 }, set.Data.Inputs.shape);
        Assert.True(set.Colours.eq(palette.index_select(0, digits.Labels)).all().item<bool>());
        Assert.True(set.Concept.eq(digits.Labels).all().item<bool>());
        // The palette's colours are distinct and every channel is > 0, so a digit's support never depends on its colour.
        Assert.True(palette.min().item<float>() > 0);
        Assert.Equal(10, ColoredMnist.Nearest(palette).unique().Item1.shape[0]);
    }

    [Fact]
    public void Re_rendering_changes_only_the_colour()
    {
        using var digits = Digits(30, 3);
        using var set = ColoredMnist.Generate(digits, sigma: 0.03, seed: 4);
        using var palette = ColoredMnist.Palette();
        // Rendering the observed colours reproduces the observed images exactly.
        using (var again = ColoredMnist.Render(set.Grey, set.Colours)) Assert.True(again.eq(set.Data.Inputs).all().item<bool>());
        for (int c = 0; c < ColoredMnistSet.ColourCount; c++)
        {
            using var doC = set.WithColour(c);
            // The same grey digit in every channel, scaled by the new colour: image_k = grey · palette[c, k] ...
            using var expected = set.Grey * palette[c].reshape(1, 3, 1, 1);
            Assert.True(doC.allclose(expected, atol: 1e-6));
            // ... so observed and counterfactual agree pixel for pixel once each is divided by its own colour.
            using var observedShape = set.Data.Inputs / set.Colours.clamp_min(1e-6).unsqueeze(-1).unsqueeze(-1);
            using var counterfactualShape = doC / palette[c].reshape(1, 3, 1, 1);
            Assert.True(counterfactualShape.allclose(set.Grey.expand(30, 3, 28, 28), atol: 1e-5));
            for (int i = 0; i < 30; i++)
                for (int k = 0; k < 3; k++)
                    if (set.Colours[i, k].item<float>() > 1e-3) // a channel clipped to 0 carries no shape
                        Assert.True(observedShape[i, k].allclose(counterfactualShape[i, k], atol: 1e-4));
        }
        // The labels and the observed images are untouched by an intervention.
        Assert.True(set.Data.Labels.eq(digits.Labels).all().item<bool>());
    }

    [Fact]
    public void Larger_variance_weakens_the_colour_label_dependence()
    {
        using var digits = Digits(3000, 5);
        double Agreement(double sigma)
        {
            using var set = ColoredMnist.Generate(digits, sigma, seed: 6);
            return set.Concept.eq(set.Data.Labels).to_type(ScalarType.Float64).mean().item<double>();
        }
        double low = Agreement(0.02), high = Agreement(0.05);
        Assert.InRange(low, 0.8, 0.99);
        Assert.True(high < low - 0.1, $"P(C = label): σ 0.02 {low:F3}, σ 0.05 {high:F3}");
        // The unbiased draw breaks the dependence: about 1 in 10.
        using var random = ColoredMnist.Generate(digits, 0.0, seed: 7, biased: false);
        Assert.InRange(random.Concept.eq(random.Data.Labels).to_type(ScalarType.Float64).mean().item<double>(), 0.05, 0.15);
        using var tinted = ColoredMnist.Tint(digits, 4, 0.0, seed: 8);
        Assert.True(tinted.Concept.eq(4).all().item<bool>());
    }

    [Fact]
    public void Conditions_are_one_hot_colour_then_label_and_do_forces_the_colour()
    {
        using var digits = Digits(20, 9);
        using var set = ColoredMnist.Generate(digits, 0, seed: 10);
        using var observed = set.Conditions();
        using var forced = set.Conditions(7);
        Assert.Equal(new long[] { 20, 20 }, observed.shape);
        Assert.True(observed.narrow(1, 0, 10).argmax(1).eq(set.Concept).all().item<bool>());
        Assert.True(observed.narrow(1, 10, 10).argmax(1).eq(digits.Labels).all().item<bool>());
        Assert.True(forced.narrow(1, 0, 10).argmax(1).eq(7).all().item<bool>());
        Assert.True(forced.narrow(1, 10, 10).eq(observed.narrow(1, 10, 10)).all().item<bool>());
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        using var digits = Digits(10, 11);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => ColoredMnist.Generate(digits, -0.01, 0)).ParamName);
        Assert.Equal("sigma", Assert.Throws<ArgumentOutOfRangeException>(() => ColoredMnist.Generate(digits, double.NaN, 0)).ParamName);
        using var rgb = new TensorDataset(torch.zeros(4, 3, 28, 28), torch.zeros(4, ScalarType.Int64), "rgb", 10);
        Assert.Equal("mnist", Assert.Throws<ArgumentException>(() => ColoredMnist.Generate(rgb, 0.02, 0)).ParamName);
        using var bright = new TensorDataset(torch.full(new long[] { 4, 1, 28, 28 }, 255f), torch.zeros(4, ScalarType.Int64), "bytes", 10);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() => ColoredMnist.Generate(bright, 0.02, 0)).Message);
        using var twoClasses = new TensorDataset(torch.zeros(4, 1, 28, 28), torch.zeros(4, ScalarType.Int64), "two", 2);
        Assert.Equal("mnist", Assert.Throws<ArgumentException>(() => ColoredMnist.Generate(twoClasses, 0.02, 0)).ParamName);
        using var set = ColoredMnist.Generate(digits, 0.02, 0);
        Assert.Equal("colour", Assert.Throws<ArgumentOutOfRangeException>(() => set.WithColour(10)).ParamName);
        Assert.Equal("colour", Assert.Throws<ArgumentOutOfRangeException>(() => set.Conditions(-1)).ParamName);
        Assert.Equal("colour", Assert.Throws<ArgumentOutOfRangeException>(() => ColoredMnist.Tint(digits, 12, 0.02, 0)).ParamName);
        Assert.Equal("colours", Assert.Throws<ArgumentException>(() => ColoredMnist.Render(set.Grey, torch.zeros(3, 3))).ParamName);
    }
}
