using TorchSharp;
using Workbench.Data.Synthetic;
using Workbench.Frequency;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Frequency;

public class ManifoldSpectralBiasTests
{
    public ManifoldSpectralBiasTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void The_curve_is_the_unit_circle_at_L_0_and_has_radius_one_plus_half_sine_otherwise()
    {
        using var z = torch.arange(0, 64, dtype: ScalarType.Float64) / 64;
        using var circle = ManifoldSpectralBias.Curve(z, 0);
        Assert.Equal(new long[] { 64, 2 }, circle.shape);
        using var r0 = circle.norm(1);
        Assert.True(r0.sub(1).abs().max().item<float>() < 1e-6);
        using var flower = ManifoldSpectralBias.Curve(z, 3);
        using var r3 = flower.norm(1).to_type(ScalarType.Float64);
        using var expected = 1 + 0.5 * torch.sin(z * (2 * Math.PI * 3));
        Assert.True(r3.sub(expected).abs().max().item<double>() < 1e-6);
    }

    [Fact]
    public void A_linear_function_of_the_plane_has_frequencies_L_minus_1_and_L_plus_1_along_the_curve()
    {
        // x₁ along γ_L is (1 + ½ sin 2πLz) cos 2πz = cos 2πz + ¼ sin 2π(L+1)z − ¼ sin 2π(L−1)z: the winding curve turns
        // a function of frequency 1 in the plane into one with frequency L + 1 along z (why large L helps, Section 5).
        using var z = torch.arange(0, 200, dtype: ScalarType.Float64) / 200;
        using var curve = ManifoldSpectralBias.Curve(z, 10);
        using var x1 = curve.select(1, 0);
        var a = SpectralAmplitudes.Of(x1, new[] { 1.0, 9.0, 10.0, 11.0 });
        Assert.Equal(1.0, a[0], 4);
        Assert.Equal(0.25, a[1], 4);
        Assert.Equal(0.0, a[2], 4);
        Assert.Equal(0.25, a[3], 4);
    }

    [Fact]
    public void Regression_on_the_curve_records_the_spectrum_along_z()
    {
        using var target = Generators.Sinusoids(100, new[] { 1.0 }, seed: 1, frequencies: new[] { 2.0 });
        var options = new SpectralBiasOptions { Depth = 3, Width = 32, LearningRate = 1e-3, Steps = 600, RecordEvery = 300 };
        using var run = ManifoldSpectralBias.Regress(target, 4, options);
        Assert.Equal(new[] { 0, 300, 600 }, run.Steps);
        Assert.Equal(2, run.Model.parameters().First().shape[1]);  // the network reads the plane
        Assert.True(run.NormalizedAmplitudes[^1][0] > run.NormalizedAmplitudes[0][0], "training raises the target frequency's amplitude");
    }

    [Fact]
    public void Classification_learns_a_low_frequency_on_the_circle_and_is_judged_on_unseen_points()
    {
        var options = new SpectralBiasOptions { Depth = 3, Width = 32, LearningRate = 3e-3, Steps = 400, RecordEvery = 200 };
        var run = ManifoldSpectralBias.Classify(0, 1, 100, options);
        Assert.Equal(new[] { 0, 200, 400 }, run.Steps);
        Assert.True(run.FinalAccuracy >= 0.95, $"validation accuracy {run.FinalAccuracy}");
        Assert.True(run.FinalLoss < 0.3, $"loss {run.FinalLoss}");
    }

    [Fact]
    public void Bad_input_is_an_error_naming_the_argument()
    {
        using var z = torch.arange(0, 8, dtype: ScalarType.Float64) / 8;
        Assert.Equal("L", Assert.Throws<ArgumentOutOfRangeException>(() => ManifoldSpectralBias.Curve(z, -1)).ParamName);
        Assert.Equal("L", Assert.Throws<ArgumentOutOfRangeException>(() => ManifoldSpectralBias.Curve(z, double.NaN)).ParamName);
        using var plane = torch.zeros(8, 2);
        Assert.Equal("z", Assert.Throws<ArgumentException>(() => ManifoldSpectralBias.Curve(plane, 1)).ParamName);
        Assert.Equal("points", Assert.Throws<ArgumentOutOfRangeException>(() => ManifoldSpectralBias.Classify(1, 1, 101)).ParamName);
        Assert.Equal("frequency", Assert.Throws<ArgumentOutOfRangeException>(() => ManifoldSpectralBias.Classify(1, 25, 100)).ParamName);
        using var target = Generators.Sinusoids(8, new[] { 1.0 }, seed: 1, frequencies: new[] { 1.0 });
        using var wrong = torch.zeros(7, 2);
        var e = Assert.Throws<ArgumentException>(() => SpectralBias.Train(target, new SpectralBiasOptions { Steps = 1 }, embedded: wrong));
        Assert.Equal("embedded", e.ParamName);
        Assert.Contains("[7, 2]", e.Message);
    }
}
