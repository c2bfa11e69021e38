using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>
/// Robustness of explanations to small input changes (Yeh et al., 2019; Alvarez-Melis &amp; Jaakkola,
/// 2018): inputs perturbed uniformly in an L∞ ball of `radius`, maps recomputed.
/// </summary>
public static class Robustness
{
    /// <summary>
    /// Max- and average-sensitivity: max / mean over samples of ‖map(x') − map(x)‖ / ‖map(x)‖; and the local Lipschitz
    /// estimate max ‖Δmap‖ / ‖Δx‖. The relative change of an all-zero map is undefined: NaN for that example (as
    /// Quantus' division gives), never a huge number from a clamped denominator.
    /// </summary>
    public static (MetricResult MaxSensitivity, MetricResult AvgSensitivity, MetricResult LocalLipschitz) Evaluate(
        Tensor inputs, Tensor targets, Explainer explainer, int samples = 10, double radius = 0.02, int seed = 0)
    {
        MetricTensors.Batch(inputs, nameof(inputs));
        MetricTensors.Targets(targets, inputs.shape[0]);
        ArgumentNullException.ThrowIfNull(explainer);
        MetricTensors.AtLeast(samples, 1, nameof(samples));
        if (!(radius > 0 && double.IsFinite(radius))) throw new ArgumentOutOfRangeException(nameof(radius), radius, "radius must be positive and finite.");
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)seed);
        var maps = explainer(inputs, targets);
        MetricTensors.Finite(maps, "the explainer's maps");
        var original = MetricTensors.Flat(maps);
        var norm = original.norm(1);
        var inverseNorm = torch.where(norm.gt(0), norm.reciprocal(), torch.full_like(norm, double.NaN));
        var max = torch.zeros(inputs.shape[0], dtype: ScalarType.Float64);
        var sum = torch.zeros_like(max);
        var lipschitz = torch.zeros_like(max);
        for (int s = 0; s < samples; s++)
        {
            var delta = (torch.rand(inputs.shape, generator: g) * 2 - 1).to_type(inputs.dtype) * radius;
            var change = (MetricTensors.Flat(explainer(inputs + delta, targets)) - original).norm(1);
            var relative = change * inverseNorm;
            max = torch.maximum(max, relative);
            sum += relative;
            lipschitz = torch.maximum(lipschitz, change / MetricTensors.Flat(delta).norm(1).clamp_min(1e-300));
        }
        return (MetricResult.From("max_sensitivity", max), MetricResult.From("avg_sensitivity", sum / samples), MetricResult.From("local_lipschitz", lipschitz));
    }
}
