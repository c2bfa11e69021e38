using Microsoft.Data.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>
/// Per-sample values of a metric and their summary (Quantus' shape: one score per explained example).
/// A sample is NaN where the metric is undefined for it (e.g. the complexity of an all-zero map, the
/// relevance rank for an empty mask); <see cref="Mean"/> and <see cref="Std"/> then are NaN too, so an
/// undefined sample is never dropped unnoticed. <see cref="DefinedMean"/> and <see cref="Undefined"/>
/// summarise the defined ones explicitly.
/// </summary>
public sealed record MetricResult(string Metric, double[] PerSample)
{
    /// <summary>Mean over all samples: NaN when any sample is undefined (see <see cref="DefinedMean"/>); NaN for no samples.</summary>
    public double Mean => PerSample.Length == 0 ? double.NaN : PerSample.Average();

    /// <summary>Sample standard deviation over all samples (NaN when any is undefined; 0 for fewer than two).</summary>
    public double Std => StdOf(PerSample);

    /// <summary>How many samples are undefined (NaN or infinite).</summary>
    public int Undefined => PerSample.Count(x => !double.IsFinite(x));

    /// <summary>Mean over the defined samples only (NaN when none is): use it knowing <see cref="Undefined"/> were left out.</summary>
    public double DefinedMean => PerSample.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();

    /// <summary>Standard deviation over the defined samples only.</summary>
    public double DefinedStd => StdOf(PerSample.Where(double.IsFinite).ToArray());

    static double StdOf(double[] xs)
    {
        if (xs.Length < 2) return 0;
        double m = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Length - 1));
    }

    public static MetricResult From(string metric, Tensor perSample) => new(metric, perSample.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray());

    public DataFrame ToDataFrame() => new(new Int32DataFrameColumn("sample", Enumerable.Range(0, PerSample.Length)), new DoubleDataFrameColumn(Metric, PerSample));
}

/// <summary>Explains a batch: inputs [N, ...] and target classes [N] -> maps with the inputs' shape.
/// Metrics that need fresh explanations (randomization, robustness) take one; build it from any
/// attribution method with <see cref="Explainers.From"/>.</summary>
public delegate Tensor Explainer(Tensor inputs, Tensor targets);

public static class Explainers
{
    /// <summary>An explainer from an attribution method (the method keeps its model; in-place weight changes are seen).</summary>
    public static Explainer From(Workbench.Attribution.AttributionMethod method) => (x, t) =>
    {
        using var a = method.Attribute(x, Workbench.Attribution.Target.PerExample(t));
        return a.Map.clone();
    };
}

/// <summary>Shared tensor plumbing of the metrics, and the argument checks every metric makes before computing.</summary>
internal static class MetricTensors
{
    /// <summary>[N, ...] -> [N, D] float64.</summary>
    public static Tensor Flat(Tensor t) => t.detach().flatten(1).to_type(ScalarType.Float64);

    static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    public static void SameShape(Tensor a, Tensor b, string nameA, string nameB)
    {
        ArgumentNullException.ThrowIfNull(a, nameA);
        ArgumentNullException.ThrowIfNull(b, nameB);
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{nameA} and {nameB} must have the same shape; got {Shape(a)} and {Shape(b)}.", nameB);
        Batch(a, nameA);
    }

    /// <summary>A non-empty batch [N, ...] (with <paramref name="finite"/>, of finite values).</summary>
    public static void Batch(Tensor t, string name, bool finite = false)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.dim() < 2 || t.shape[0] == 0)
            throw new ArgumentException($"{name} must be a non-empty batch [N, ...]; got {Shape(t)}.", name);
        if (finite) Finite(t, name);
    }

    /// <summary>Two batches of maps to compare: same shape, both finite.</summary>
    public static void ComparableMaps(Tensor a, Tensor b, string nameA = "a", string nameB = "b")
    {
        SameShape(a, b, nameA, nameB);
        Finite(a, nameA);
        Finite(b, nameB);
    }

    /// <summary>Maps must be finite: a NaN or infinite value would otherwise turn into a plausible-looking score (a rank, a sum).</summary>
    public static void Finite(Tensor maps, string name)
    {
        using var scope = torch.NewDisposeScope();
        var bad = maps.detach().isfinite().logical_not().flatten(1).any(1);
        long count = bad.sum().item<long>();
        if (count > 0)
            throw new ArgumentException($"{name} must be finite; {count} of {maps.shape[0]} examples hold NaN or infinite values " +
                                        $"(the first is example {bad.nonzero()[0, 0].item<long>()}).", name);
    }

    /// <summary>One integer class per example: shape [n]. A shorter vector would broadcast (every example scored
    /// for example 0's class), a longer one would be silently cut.</summary>
    public static void Targets(Tensor targets, long n, string name = "targets")
    {
        ArgumentNullException.ThrowIfNull(targets, name);
        // int64 only: libtorch gathers and indexes with int64, and a uint8 tensor used as an index is a mask, not classes.
        if (targets.dtype != ScalarType.Int64)
            throw new ArgumentException($"{name} must be class indices of type int64 (e.g. labels.to_type(ScalarType.Int64)); got {targets.dtype}.", name);
        if (targets.dim() != 1 || targets.shape[0] != n)
            throw new ArgumentException($"{name} must hold one class per example: expected shape [{n}], got {Shape(targets)}.", name);
    }

    /// <summary>Checks that targets index the columns of <paramref name="classes"/>.</summary>
    public static void TargetsInRange(Tensor targets, long classes, string name = "targets")
    {
        if (targets.numel() == 0) return;
        long min = targets.min().item<long>(), max = targets.max().item<long>();
        if (min < 0 || max >= classes)
            throw new ArgumentOutOfRangeException(name, $"{name} must be class indices in [0, {classes - 1}] (the model returns {classes} scores); got values from {min} to {max}.");
    }

    /// <summary>The model's score for each row's target: output [rows, C] -> float64 [rows], checking the output's shape and the targets' range.</summary>
    public static Tensor TargetScore(Tensor output, Tensor targets, string name = "targets")
    {
        long rows = targets.shape[0];
        if (output.dim() != 2 || output.shape[0] != rows)
            throw new ArgumentException($"model must return scores [N, classes], one row per input; got {Shape(output)} for {rows} inputs.", "model");
        TargetsInRange(targets, output.shape[1], name);
        return output.gather(1, targets.unsqueeze(1)).squeeze(1).to_type(ScalarType.Float64);
    }

    /// <summary>The checks of every metric that scores a model on changed inputs: maps like the inputs, finite, one target per example.</summary>
    public static void ModelArguments(Tensor inputs, Tensor targets, Tensor maps, string mapsName = "maps", string targetsName = "targets")
    {
        SameShape(inputs, maps, nameof(inputs), mapsName);
        Finite(maps, mapsName);
        Targets(targets, inputs.shape[0], targetsName);
    }

    public static void AtLeast(int value, int min, string name)
    {
        if (value < min) throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= {min}; got {value}.");
    }

    /// <summary>Rows whose values are all zero get NaN: a measure of how a map's mass is spread is undefined when it has none.</summary>
    public static Tensor UndefinedWhereZero(Tensor perSample, Tensor flatMaps) =>
        torch.where(flatMaps.abs().sum(1).eq(0), torch.tensor(double.NaN, ScalarType.Float64), perSample);

    /// <summary>Average ranks (ties share the mean rank) of each row, 1..D, float64.</summary>
    public static Tensor Ranks(Tensor rows)
    {
        var x = rows.to_type(ScalarType.Float64);
        var order = x.argsort(1);
        var ordinal = torch.empty_like(x);
        ordinal.scatter_(1, order, torch.arange(1, x.shape[1] + 1, dtype: ScalarType.Float64).expand(x.shape[0], -1).contiguous());
        // Ties: average the ordinal ranks of equal values (sorted runs) so tied maps do not rank arbitrarily.
        var sorted = x.gather(1, order);
        var result = ordinal.clone();
        var s = sorted.cpu().data<double>().ToArray();
        var o = order.cpu().data<long>().ToArray();
        var r = result.cpu().data<double>().ToArray();
        long n = x.shape[0], d = x.shape[1];
        bool anyTie = false;
        for (long i = 0; i < n; i++)
            for (long j = 0; j < d;)
            {
                long k = j;
                while (k + 1 < d && s[i * d + k + 1] == s[i * d + j]) k++;
                if (k > j)
                {
                    anyTie = true;
                    double mean = (j + k + 2) / 2.0;
                    for (long m = j; m <= k; m++) r[i * d + o[i * d + m]] = mean;
                }
                j = k + 1;
            }
        return anyTie ? torch.tensor(r, new[] { n, d }).to(rows.device) : result;
    }

    /// <summary>Pearson correlation of matching rows [N, D] -> [N].</summary>
    public static Tensor RowPearson(Tensor a, Tensor b)
    {
        var ac = a - a.mean(new long[] { 1 }, keepdim: true);
        var bc = b - b.mean(new long[] { 1 }, keepdim: true);
        return (ac * bc).sum(1) / (ac.norm(1) * bc.norm(1)).clamp_min(1e-300);
    }
}
