namespace Workbench.Benchmarks;

/// <summary>Summaries of repeated timings shared by the benchmarks.</summary>
public static class BenchmarkStatistics
{
    /// <summary>The median (mean of the two middle values for an even count); robust to one slow repeat.</summary>
    public static double Median(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) throw new ArgumentException("xs is empty; a median needs at least one timing.", nameof(xs));
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
