using TorchSharp;
using Workbench.Data;
using Workbench.Experiments.Frequency;
using Workbench.Frequency;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Frequency;

public class FrequencyExperimentTests
{
    public FrequencyExperimentTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Fgsm_accuracy_at_epsilon_zero_is_the_clean_accuracy_and_falls_with_epsilon()
    {
        TorchRuntime.Seed(1);
        using var model = new ModelSpec("cnn", Width: 4).Build();
        using var data = new TensorDataset(torch.rand(1200, 1, 28, 28), torch.randint(0, 10, 1200, dtype: ScalarType.Int64), "noise", 10);
        Trainer.Fit(model, data, null, new TrainOptions { Epochs = 1 });
        double clean = Trainer.Evaluate(model, data).Accuracy;
        Assert.Equal(clean, FrequencyExperiment.FgsmAccuracy(model, data, 0), 9);
        Assert.True(FrequencyExperiment.FgsmAccuracy(model, data, 0.1) <= clean);
    }

    [Fact]
    public void A_manifold_step_gives_the_regression_and_the_classification_on_one_curve()
    {
        var config = FrequencyConfig.Quick with
        {
            Points = 128, SpectralBias = new SpectralBiasOptions { Depth = 3, Width = 16, Steps = 20, RecordEvery = 10 }, ManifoldPoints = 64, ManifoldFrequency = 2,
        };
        var m = FrequencyExperiment.Manifold(config, 4);
        Assert.Equal(new[] { 0, 10, 20 }, m.Steps);
        Assert.Equal(10, m.FinalAmplitudes.Length);
        Assert.Equal(3, m.HighFrequencyAmplitude.Length);
        // The high-frequency amplitude is the mean over k = 30, 35, …, 50 of the final spectrum.
        Assert.Equal(m.FinalAmplitudes.Where((_, i) => m.Frequencies[i] >= FrequencyExperiment.HighFrequency).Average(), m.HighFrequencyAmplitude[^1], 12);
        Assert.Equal(new[] { 0, 10, 20 }, m.Classification.Steps);
        Assert.InRange(m.Classification.FinalAccuracy, 0, 1);
    }

    [Fact]
    public void The_spectral_targets_have_equal_or_increasing_amplitudes()
    {
        using var equal = FrequencyExperiment.Target(FrequencyConfig.Quick, increasing: false);
        using var increasing = FrequencyExperiment.Target(FrequencyConfig.Quick, increasing: true);
        Assert.All(equal.Amplitudes, a => Assert.Equal(1.0, a));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => 0.1 * i).ToArray(), increasing.Amplitudes);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => 5.0 * i).ToArray(), equal.Frequencies);
    }
}
