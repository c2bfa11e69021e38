using Microsoft.Data.Analysis;
using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Per-sample values of a metric and their summary (Quantus' shape: one score per explained example).</summary>
public sealed record MetricResult(string Metric, double[] PerSample)
{
    public double Mean => PerSample.Length == 0 ? double.NaN : PerSample.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
    public double Std
    {
        get
        {
            var xs = PerSample.Where(double.IsFinite).ToArray();
            if (xs.Length < 2) return 0;
            double m = xs.Average();
            return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Length - 1));
        }
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

/// <summary>Shared tensor plumbing of the metrics.</summary>
internal static class MetricTensors
{
    /// <summary>[N, ...] -> [N, D] float64.</summary>
    public static Tensor Flat(Tensor t) => t.detach().flatten(1).to_type(ScalarType.Float64);

    public static void SameShape(Tensor a, Tensor b, string nameA, string nameB)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{nameA} and {nameB} must have the same shape; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].", nameB);
        if (a.dim() < 2 || a.shape[0] == 0)
            throw new ArgumentException($"{nameA} must be a non-empty batch [N, ...]; got [{string.Join(", ", a.shape)}].", nameA);
    }

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
