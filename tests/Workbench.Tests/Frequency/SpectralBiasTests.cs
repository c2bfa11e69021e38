using TorchSharp;
using Workbench.Data.Synthetic;
using Workbench.Frequency;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Frequency;

public class SpectralBiasTests
{
    public SpectralBiasTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Fft_amplitudes_of_a_known_sum_of_sines_are_recovered()
    {
        var amplitudes = new[] { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 };
        using var target = Generators.Sinusoids(200, amplitudes, seed: 3);
        var measured = SpectralAmplitudes.Of(target.Values, target.Frequencies);
        for (int i = 0; i < amplitudes.Length; i++) Assert.Equal(amplitudes[i], measured[i], 3);
        // A frequency absent from the sum has amplitude 0.
        Assert.Equal(0, SpectralAmplitudes.Of(target.Values, new[] { 7.0 })[0], 3);
    }

    [Fact]
    public void A_deep_relu_network_fits_a_single_low_frequency()
    {
        using var target = Generators.Sinusoids(200, new[] { 1.0 }, seed: 1, frequencies: new[] { 1.0 });
        using var run = SpectralBias.Train(target, new SpectralBiasOptions { Depth = 4, Width = 64, LearningRate = 1e-3, Steps = 1500, RecordEvery = 500 });
        Assert.InRange(run.NormalizedAmplitudes[^1][0], 0.9, 1.1);
        Assert.True(run.FinalLoss < 0.02, $"loss {run.FinalLoss}");
        Assert.Equal(new[] { 0, 500, 1000, 1500 }, run.Steps);
        Assert.True(run.NormalizedAmplitudes[0][0] < 0.5, "an untrained network has not learned the sine yet");
    }

    [Fact]
    public void Parameter_noise_of_norm_zero_changes_nothing_and_the_model_is_restored()
    {
        using var target = Generators.Sinusoids(64, new[] { 1.0, 1.0 }, seed: 2, frequencies: new[] { 1.0, 3.0 });
        using var run = SpectralBias.Train(target, new SpectralBiasOptions { Depth = 3, Width = 32, LearningRate = 1e-3, Steps = 200, RecordEvery = 200 });
        using var before = run.Model.call(target.Z).detach().clone();
        var curves = SpectralBias.ParameterNoise(run.Model, target.Z, target.Frequencies, new[] { 0.0, 1.0, 5.0 }, draws: 3, seed: 4);
        Assert.All(curves[0], v => Assert.Equal(1.0, v, 9));
        Assert.NotEqual(1.0, curves[2][0], 3);
        using var after = run.Model.call(target.Z);
        Assert.True(before.equal(after).all().item<bool>());
        var again = SpectralBias.ParameterNoise(run.Model, target.Z, target.Frequencies, new[] { 0.0, 1.0, 5.0 }, draws: 3, seed: 4);
        Assert.Equal(curves[2], again[2]);
    }

    [Fact]
    public void Bad_input_is_an_error_naming_the_argument()
    {
        using var wide = torch.zeros(50, 2);
        Assert.Equal("values", Assert.Throws<ArgumentException>(() => SpectralAmplitudes.Of(wide, new[] { 1.0 })).ParamName);
        using var line = torch.zeros(50);
        Assert.Equal("frequencies", Assert.Throws<ArgumentOutOfRangeException>(() => SpectralAmplitudes.Of(line, new[] { 25.0 })).ParamName);
        Assert.Equal("frequencies", Assert.Throws<ArgumentOutOfRangeException>(() => SpectralAmplitudes.Of(line, new[] { 2.5 })).ParamName);
        using var target = Generators.Sinusoids(50, new[] { 1.0 }, seed: 1, frequencies: new[] { 1.0 });
        var planar = new SinusoidMixture(torch.zeros(50, 2), target.Values.clone(), target.Frequencies, target.Amplitudes, target.Phases);
        Assert.Equal("z", Assert.Throws<ArgumentException>(() => SpectralBias.Train(planar, new SpectralBiasOptions { Steps = 1 })).ParamName);
        Assert.Equal("Depth", Assert.Throws<ArgumentOutOfRangeException>(() => SpectralBias.Train(target, new SpectralBiasOptions { Depth = 1 })).ParamName);
        Assert.Equal("draws", Assert.Throws<ArgumentOutOfRangeException>(() => SpectralBias.ParameterNoise(nn.Linear(1, 1), target.Z, target.Frequencies, new[] { 0.0 }, 0, 1)).ParamName);
    }
}
