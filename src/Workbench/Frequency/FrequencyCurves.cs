using TorchSharp;
using Workbench.Data;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Frequency;

/// <summary>
/// The test images of the HFC paper's accuracy-vs-epoch curves (Wang et al., CVPR 2020, Figs. 4–5): the originals and
/// their LFC(r) and HFC(r) versions (<see cref="FrequencySplit"/>) for each radius, built once and reused after every epoch.
/// </summary>
public sealed class FrequencyProbe : IDisposable
{
    readonly TensorDataset[] _low, _high;

    public TensorDataset Train { get; }
    public TensorDataset Test { get; }
    public IReadOnlyList<double> Radii { get; }

    /// <param name="train">Training images whose accuracy is measured in eval mode after each epoch (a subset of the training set).</param>
    /// <param name="test">The original test images; their LFC and HFC versions are built here.</param>
    /// <param name="radii">Radii of the low-/high-pass split (each checked against the images' frequency range).</param>
    public FrequencyProbe(TensorDataset train, TensorDataset test, IReadOnlyList<double> radii)
    {
        Train = train ?? throw new ArgumentNullException(nameof(train));
        Test = test ?? throw new ArgumentNullException(nameof(test));
        ArgumentNullException.ThrowIfNull(radii);
        if (radii.Count == 0) throw new ArgumentException("radii must hold at least one radius; got none.", nameof(radii));
        // Every radius up front: a bad one must not leave the sets built for the others undisposed.
        foreach (var r in radii) FrequencySplit.CheckRadius(r, test.Inputs.shape[^2], test.Inputs.shape[^1]);
        Radii = radii.ToArray();
        _low = radii.Select(r => FrequencySplit.Of(test, r, low: true)).ToArray();
        _high = radii.Select(r => FrequencySplit.Of(test, r, low: false)).ToArray();
    }

    /// <summary>The model's accuracy on the training probe, the test set and each LFC / HFC test set (eval mode, no gradients).</summary>
    public FrequencyCurvePoint Measure(nn.Module<Tensor, Tensor> model, int epoch) => new(epoch,
        Trainer.Evaluate(model, Train).Accuracy, Trainer.Evaluate(model, Test).Accuracy,
        _low.Select(d => Trainer.Evaluate(model, d).Accuracy).ToArray(), _high.Select(d => Trainer.Evaluate(model, d).Accuracy).ToArray());

    public void Dispose()
    {
        foreach (var d in _low.Concat(_high)) d.Dispose();
    }
}

/// <summary>The accuracies after one epoch; <see cref="Lfc"/>[i] and <see cref="Hfc"/>[i] belong to the probe's radius i.</summary>
public sealed record FrequencyCurvePoint(int Epoch, double Train, double Test, IReadOnlyList<double> Lfc, IReadOnlyList<double> Hfc)
{
    /// <summary>The HFC accuracy averaged over the radii (the claims compare runs by it).</summary>
    public double MeanHfc => Hfc.Average();
}

/// <summary>One training run's curves: its name (e.g. "batch 32"), the model and options, and one point per epoch.</summary>
public sealed record FrequencyCurve(string Name, ModelSpec Spec, TrainOptions Options, IReadOnlyList<double> Radii, IReadOnlyList<FrequencyCurvePoint> Points)
{
    public FrequencyCurvePoint Last => Points[^1];

    /// <summary>The generalisation gap after the last epoch: training-probe accuracy minus test accuracy.</summary>
    public double Gap => Last.Train - Last.Test;
}

/// <summary>
/// Trains a model from its seeded initialisation and measures it on a <see cref="FrequencyProbe"/> after every epoch: the
/// HFC paper's Figs. 4 (batch sizes) and 5 (heuristics, here BatchNorm vs none). Not cached: the curves are the result.
/// </summary>
public static class FrequencyCurves
{
    public static FrequencyCurve Track(string name, ModelSpec spec, TensorDataset train, FrequencyProbe probe, TrainOptions options, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(options);
        progress ??= NullProgress.Instance;
        TorchRuntime.Seed(options.Seed);
        using var model = spec.Build();
        var points = new List<FrequencyCurvePoint>();
        Trainer.Fit(model, train, test: null, options, progress.Within(name),
            afterEpoch: e => points.Add(probe.Measure(model, e.Epoch)));
        return new FrequencyCurve(name, spec, options, probe.Radii, points);
    }
}
