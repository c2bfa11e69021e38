using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Axioms measured numerically (Sundararajan et al., 2017; Kindermans et al., 2019).</summary>
public static class Axioms
{
    /// <summary>Completeness: |Σ map − (f(x) − f(x'))| per image.</summary>
    public static MetricResult Completeness(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps, Tensor? baseline = null)
    {
        MetricTensors.ModelArguments(inputs, targets, maps);
        if (baseline is not null && (baseline.dim() > inputs.dim() || !baseline.shape.Reverse().Zip(inputs.shape.Reverse()).All(p => p.First == p.Second || p.First == 1)))
            throw new ArgumentException($"baseline must broadcast to the inputs [{string.Join(", ", inputs.shape)}]; got [{string.Join(", ", baseline.shape)}].", nameof(baseline));
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var b = baseline is null ? torch.zeros_like(inputs) : baseline.expand_as(inputs);
        var gap = MetricTensors.TargetScore(model.Forward(inputs), targets) - MetricTensors.TargetScore(model.Forward(b), targets);
        return MetricResult.From("completeness_error", (MetricTensors.Flat(maps).sum(1) - gap).abs());
    }

    /// <summary>
    /// Non-sensitivity (Nguyen &amp; Martínez, 2020): the fraction of pixels that do not change the output
    /// when set to the baseline yet receive attribution above <paramref name="tolerance"/> (0 is ideal).
    /// Costs one forward pass per pixel, batched.
    /// </summary>
    public static MetricResult NonSensitivity(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps, double baseline = 0, double tolerance = 1e-5)
    {
        MetricTensors.ModelArguments(inputs, targets, maps);
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        long n = inputs.shape[0], d = inputs.numel() / n;
        var values = new double[n];
        var flatMaps = MetricTensors.Flat(maps);
        MetricTensors.TargetScore(model.Forward(inputs), targets); // checks the output's shape and the targets' range once
        for (long i = 0; i < n; i++)
        {
            using var s = torch.NewDisposeScope();
            var x = inputs[i].flatten();
            var perturbed = x.unsqueeze(0).repeat(d, 1);
            perturbed.diagonal().fill_(baseline);
            var f0 = model.Forward(inputs.narrow(0, i, 1))[0, targets[i]].to_type(ScalarType.Float64).item<double>();
            var fs = model.Forward(perturbed.reshape(new[] { d }.Concat(inputs.shape.Skip(1)).ToArray())).select(1, targets[i].item<long>());
            var noEffect = (fs - f0).abs().lt(tolerance);
            var attributed = flatMaps[i].abs().gt(tolerance);
            values[i] = (noEffect & attributed).sum().item<long>() / (double)d;
        }
        return new MetricResult("non_sensitivity", values);
    }

    /// <summary>Input invariance (Kindermans et al., 2019): |map of model A at x − map of model B at x + shift| per image, for
    /// models B(x + shift) = A(x); pass both maps.</summary>
    public static MetricResult InputInvariance(Tensor mapsA, Tensor mapsB)
    {
        MetricTensors.SameShape(mapsA, mapsB, nameof(mapsA), nameof(mapsB));
        MetricTensors.Finite(mapsA, nameof(mapsA));
        MetricTensors.Finite(mapsB, nameof(mapsB));
        using var scope = torch.NewDisposeScope();
        return MetricResult.From("input_invariance_error", (MetricTensors.Flat(mapsA) - MetricTensors.Flat(mapsB)).abs().sum(1));
    }
}
