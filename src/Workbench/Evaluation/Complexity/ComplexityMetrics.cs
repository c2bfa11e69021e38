using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Sparseness (Chalasani et al., 2020): the Gini index of |map|; 0 for uniform maps, 1 − 1/n for one-hot maps;
/// NaN (undefined, counted in <see cref="MetricResult.Undefined"/>) for an all-zero map, which has no distribution to be sparse.</summary>
public static class Sparseness
{
    public static MetricResult Evaluate(Tensor maps)
    {
        MetricTensors.Batch(maps, nameof(maps), finite: true);
        using var scope = torch.NewDisposeScope();
        var flat = MetricTensors.Flat(maps);
        var x = flat.abs().sort(1).Values + 1e-12;
        long n = x.shape[1];
        var i = torch.arange(1, n + 1, dtype: ScalarType.Float64);
        var gini = ((2 * i - n - 1) * x).sum(1) / (n * x.sum(1));
        return MetricResult.From("sparseness", MetricTensors.UndefinedWhereZero(gini, flat));
    }
}

/// <summary>Complexity (Bhatt et al., 2020): the entropy of |map| / Σ|map|; lower = simpler. NaN (undefined) for an
/// all-zero map: it explains nothing, so it must not score as the simplest explanation.</summary>
public static class Complexity
{
    public static MetricResult Evaluate(Tensor maps)
    {
        MetricTensors.Batch(maps, nameof(maps), finite: true);
        using var scope = torch.NewDisposeScope();
        var x = MetricTensors.Flat(maps).abs();
        var p = x / x.sum(1, keepdim: true).clamp_min(1e-300);
        return MetricResult.From("complexity", MetricTensors.UndefinedWhereZero(-(p * (p + 1e-300).log()).sum(1), x));
    }
}
