namespace Workbench.Boundaries;

/// <summary>
/// The margin distribution of one subspace in the layout of "Hold me tight!" Table 1 and Fig. 2: the 5th
/// percentile, median and 95th percentile of ‖δ_S(x)‖₂ over examples. Examples that did not flip count as
/// +∞ (a margin larger than anything found), so a percentile that reaches them reads ∞, and
/// <see cref="NotFlipped"/> says how many there were.
/// </summary>
public sealed record MarginSummary(string Subspace, double P5, double Median, double P95, int Count, int NotFlipped)
{
    public static MarginSummary Of(string subspace, IReadOnlyList<double> margins)
    {
        if (margins.Count == 0) throw new ArgumentException("margins must hold at least one value; got none.", nameof(margins));
        if (margins.Any(double.IsNaN)) throw new ArgumentException("margins must not contain NaN (a not-flipped example is +∞).", nameof(margins));
        var sorted = margins.Order().ToArray();
        return new MarginSummary(subspace, Percentile(sorted, 5), Percentile(sorted, 50), Percentile(sorted, 95), sorted.Length,
            sorted.Count(double.IsPositiveInfinity));
    }

    public static MarginSummary Of(string subspace, DeepFoolResult result) => Of(subspace, result.Margins);

    /// <summary>numpy's default ("linear") percentile of sorted values; ∞ where an interpolation end is ∞.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 0) throw new ArgumentException("sorted must hold at least one value.", nameof(sorted));
        if (!(percent >= 0 && percent <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, $"percent must be in [0, 100]; got {percent}.");
        double position = percent / 100 * (sorted.Count - 1);
        int low = (int)Math.Floor(position), high = (int)Math.Ceiling(position);
        double lo = sorted[low], hi = sorted[high];
        if (low == high || lo == hi) return lo;
        if (double.IsPositiveInfinity(hi)) return double.PositiveInfinity;
        return lo + (position - low) * (hi - lo);
    }
}
