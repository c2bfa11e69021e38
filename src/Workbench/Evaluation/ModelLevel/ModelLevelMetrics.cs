using Microsoft.Data.Analysis;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Metrics of models rather than maps.</summary>
public static class ModelMetrics
{
    /// <summary>Fraction of inputs on which two models predict the same class (seed 000's x-axis).</summary>
    public static double PredictionAgreement(AttributionModel a, AttributionModel b, Tensor inputs, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        MetricTensors.Batch(inputs, nameof(inputs));
        MetricTensors.AtLeast(batchSize, 1, nameof(batchSize));
        using var modeA = a.EvalMode();
        using var modeB = b.EvalMode();
        using var noGrad = torch.no_grad();
        long same = 0;
        for (long s = 0; s < inputs.shape[0]; s += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var x = inputs.narrow(0, s, Math.Min(batchSize, inputs.shape[0] - s));
            same += a.Forward(x).argmax(1).eq(b.Forward(x).argmax(1)).sum().item<long>();
        }
        return (double)same / inputs.shape[0];
    }

    /// <summary>
    /// The density-ratio test of seed 001: log p(x+η|y) − log p(x|y) = f_y(x+η) − f_y(x) for Gaussian
    /// noise η of each level; mean and std over inputs per level. Positive = the model gives noisy
    /// points higher likelihood than clean ones.
    /// </summary>
    public static DataFrame DensityRatio(AttributionModel model, Tensor inputs, Tensor targets, double[] noiseLevels, int seed = 0)
    {
        MetricTensors.Batch(inputs, nameof(inputs));
        MetricTensors.Targets(targets, inputs.shape[0]);
        ArgumentNullException.ThrowIfNull(noiseLevels);
        if (noiseLevels.Any(s => !(s >= 0 && double.IsFinite(s)))) throw new ArgumentOutOfRangeException(nameof(noiseLevels), "noise levels must be finite and >= 0.");
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var g = new torch.Generator((ulong)seed);
        var f = MetricTensors.TargetScore(model.Forward(inputs), targets);
        var means = new double[noiseLevels.Length];
        var stds = new double[noiseLevels.Length];
        for (int i = 0; i < noiseLevels.Length; i++)
        {
            var noisy = inputs + torch.randn(inputs.shape, generator: g).to_type(inputs.dtype) * noiseLevels[i];
            var ratio = MetricTensors.TargetScore(model.Forward(noisy), targets) - f;
            means[i] = ratio.mean().item<double>();
            stds[i] = ratio.std().item<double>();
        }
        return new DataFrame(new DoubleDataFrameColumn("noise_sigma", noiseLevels), new DoubleDataFrameColumn("log_ratio_mean", means), new DoubleDataFrameColumn("log_ratio_std", stds));
    }
}
