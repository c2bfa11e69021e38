using TorchSharp;
using Workbench.Data;
using Workbench.Frequency;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Tests.Training;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Tests.Frequency;

public class FrequencyCurvesTests
{
    public FrequencyCurvesTests() => TorchRuntime.EnsureLoaded();

    static readonly ModelSpec Cnn = new("cnn", Classes: 2, Width: 8);

    [Fact]
    public void Each_epoch_gives_one_point_and_the_lfc_at_the_largest_radius_is_the_test_set()
    {
        using var train = TrainingFixtures.HalfBrightness(512, seed: 5);
        using var raw = TrainingFixtures.HalfBrightness(64, seed: 6);
        // Images whose maximum is 1: their LFC at the largest radius (rescaled by its own maximum) is the image itself.
        using var peak = raw.Inputs.flatten(1).max(1).values.reshape(-1, 1, 1, 1);
        using var test = new TensorDataset(raw.Inputs / peak, raw.Labels.clone(), "test");
        using var trainProbe = train.Take(64);
        double max = FrequencySplit.MaxRadius(28, 28);
        using var probe = new FrequencyProbe(trainProbe, test, new[] { 6.0, max });
        var options = new TrainOptions { Epochs = 3, BatchSize = 32, Seed = 3 };
        var curve = FrequencyCurves.Track("run", Cnn, train, probe, options);
        Assert.Equal(new[] { 1, 2, 3 }, curve.Points.Select(p => p.Epoch));
        Assert.All(curve.Points, p =>
        {
            Assert.Equal(2, p.Lfc.Count);
            Assert.Equal(2, p.Hfc.Count);
            Assert.Equal(p.Test, p.Lfc[1], 12);
            Assert.All(p.Lfc.Concat(p.Hfc).Append(p.Train).Append(p.Test), a => Assert.InRange(a, 0, 1));
        });
        Assert.True(curve.Last.Test > 0.9, $"the half-brightness task is learnable in 3 epochs; test accuracy {curve.Last.Test}");
        Assert.Equal(curve.Last.Train - curve.Last.Test, curve.Gap, 12);

        // The same seed gives the same curve.
        var again = FrequencyCurves.Track("again", Cnn, train, probe, options);
        Assert.Equal(curve.Points.Select(p => p.Test), again.Points.Select(p => p.Test));
        Assert.Equal(curve.Points.Select(p => p.MeanHfc), again.Points.Select(p => p.MeanHfc));
    }

    [Fact]
    public void A_probe_needs_radii_inside_the_frequency_range()
    {
        using var data = TrainingFixtures.HalfBrightness(8, seed: 7);
        Assert.Equal("radii", Assert.Throws<ArgumentException>(() => new FrequencyProbe(data, data, Array.Empty<double>())).ParamName);
        Assert.Equal("radius", Assert.Throws<ArgumentOutOfRangeException>(() => new FrequencyProbe(data, data, new[] { 4.0, 25 })).ParamName);
    }
}
