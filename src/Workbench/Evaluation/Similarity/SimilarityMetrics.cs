using TorchSharp;
using Workbench.Visualization;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>
/// The normalisation of the sanity-checks paper (Adebayo et al., 2018) used before comparing maps:
/// sum over channels, absolute value (or keep the sign), clip at the 99th percentile of |map|,
/// scale to [0, 1] (signed: [-1, 1]).
/// </summary>
public static class SanityCheckNormalization
{
    /// <summary>Maps [B, ...] -> rows [B, D] in float64, normalised by <see cref="MapNormalization.Normalize"/> (absolute or signed).</summary>
    public static Tensor Apply(Tensor maps, bool absolute, double percentile = 99)
    {
        using var scope = torch.NewDisposeScope();
        return MapNormalization.Normalize(maps.to_type(ScalarType.Float64), absolute ? MapSign.Absolute : MapSign.Signed, percentile)
            .flatten(1).MoveToOuterDisposeScope();
    }
}

/// <summary>Spearman rank correlation between two maps per image (seed 000's consistency measure), on absolute or signed maps, normalised as in the sanity-checks paper by default.</summary>
public static class SpearmanRankCorrelation
{
    public static MetricResult Evaluate(Tensor a, Tensor b, bool absolute = true, bool normalize = true)
    {
        MetricTensors.ComparableMaps(a, b);
        using var scope = torch.NewDisposeScope();
        var x = normalize ? SanityCheckNormalization.Apply(a, absolute) : MetricTensors.Flat(a);
        var y = normalize ? SanityCheckNormalization.Apply(b, absolute) : MetricTensors.Flat(b);
        return MetricResult.From(absolute ? "spearman_abs" : "spearman_signed", MetricTensors.RowPearson(MetricTensors.Ranks(x), MetricTensors.Ranks(y)));
    }
}

/// <summary>Pearson correlation between two maps per image.</summary>
public static class PearsonCorrelation
{
    public static MetricResult Evaluate(Tensor a, Tensor b)
    {
        MetricTensors.ComparableMaps(a, b);
        using var scope = torch.NewDisposeScope();
        return MetricResult.From("pearson", MetricTensors.RowPearson(MetricTensors.Flat(a), MetricTensors.Flat(b)));
    }
}

/// <summary>Fraction of the top-k% elements (by |value|) that two maps share, per image.</summary>
public static class TopKIntersection
{
    public static MetricResult Evaluate(Tensor a, Tensor b, double fraction = 0.1)
    {
        MetricTensors.ComparableMaps(a, b);
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "fraction must be in (0, 1].");
        using var scope = torch.NewDisposeScope();
        var x = MetricTensors.Flat(a).abs();
        var y = MetricTensors.Flat(b).abs();
        long k = Math.Max(1, (long)Math.Round(fraction * x.shape[1]));
        var ia = x.topk((int)k, 1).indexes;
        var ib = y.topk((int)k, 1).indexes;
        var topA = torch.zeros_like(x).scatter_(1, ia, torch.ones(ia.shape, ScalarType.Float64));
        var topB = torch.zeros_like(y).scatter_(1, ib, torch.ones(ib.shape, ScalarType.Float64));
        return MetricResult.From("topk_intersection", (topA * topB).sum(1) / k);
    }
}

/// <summary>‖a/‖a‖ − b/‖b‖‖ per image: the expected L2 distance between unit-normalised maps the seed-000 authors quote.</summary>
public static class NormalizedL2Distance
{
    public static MetricResult Evaluate(Tensor a, Tensor b)
    {
        MetricTensors.ComparableMaps(a, b);
        using var scope = torch.NewDisposeScope();
        var x = MetricTensors.Flat(a);
        var y = MetricTensors.Flat(b);
        var d = x / x.norm(1, keepdim: true).clamp_min(1e-300) - y / y.norm(1, keepdim: true).clamp_min(1e-300);
        return MetricResult.From("normalized_l2", d.norm(1));
    }
}

/// <summary>
/// Structural similarity (Wang et al., 2004) of two maps per image with an 11×11 Gaussian window
/// (σ = 1.5), on maps normalised to [0, 1] (data range 1), as the sanity-checks paper compares maps.
/// </summary>
public static class Ssim
{
    public static MetricResult Evaluate(Tensor a, Tensor b, bool normalize = true, int window = 11, double sigma = 1.5)
    {
        MetricTensors.ComparableMaps(a, b);
        if (a.dim() is not (3 or 4)) throw new ArgumentException($"SSIM needs image maps [N, (C,) H, W]; got [{string.Join(", ", a.shape)}].", nameof(a));
        using var scope = torch.NewDisposeScope();
        long h = a.shape[^2], w = a.shape[^1];
        var x = (normalize ? SanityCheckNormalization.Apply(a, true) : MetricTensors.Flat(a.dim() == 4 ? a.sum(1) : a)).reshape(-1, 1, h, w);
        var y = (normalize ? SanityCheckNormalization.Apply(b, true) : MetricTensors.Flat(b.dim() == 4 ? b.sum(1) : b)).reshape(-1, 1, h, w);
        int half = window / 2;
        var g = torch.tensor(Enumerable.Range(-half, window).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray(), ScalarType.Float64);
        g = g / g.sum();
        var kernel = torch.outer(g, g).reshape(1, 1, window, window);
        Tensor Blur(Tensor t) => nn.functional.conv2d(t, kernel, padding: new long[] { half, half });
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        var mx = Blur(x); var my = Blur(y);
        var sxx = Blur(x * x) - mx * mx; var syy = Blur(y * y) - my * my; var sxy = Blur(x * y) - mx * my;
        var map = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
        return MetricResult.From("ssim", map.flatten(1).mean(new long[] { 1 }));
    }
}

/// <summary>
/// Correlation of histogram-of-oriented-gradients features (Dalal &amp; Triggs, 2005) of two maps per
/// image, as in the sanity-checks paper: 9 unsigned orientation bins in cells of 4×4 pixels,
/// magnitude-weighted, then the Pearson correlation of the feature vectors.
/// </summary>
public static class HogCorrelation
{
    /// <param name="a">Image maps [N, H, W] or [N, C, H, W]; flat maps [N, D] are refused (they have no image to take gradients of).</param>
    public static MetricResult Evaluate(Tensor a, Tensor b, int cell = 4, int bins = 9)
    {
        MetricTensors.ComparableMaps(a, b);
        using var scope = torch.NewDisposeScope();
        return MetricResult.From("hog_pearson", MetricTensors.RowPearson(Features(a, cell, bins), Features(b, cell, bins)));
    }

    /// <summary>HOG features per map: [N, H, W] or [N, C, H, W] -> [N, bins * cells].</summary>
    public static Tensor Features(Tensor maps, int cell = 4, int bins = 9)
    {
        // A flat batch [N, D] would be read as one N x D image: one value for the whole batch.
        if (maps.dim() is not (3 or 4))
            throw new ArgumentException($"HOG needs image maps [N, H, W] or [N, C, H, W]; got [{string.Join(", ", maps.shape)}]. Reshape flat maps to images first.", nameof(maps));
        long h = maps.shape[^2], w = maps.shape[^1];
        if (cell < 1 || cell > Math.Min(h, w)) throw new ArgumentOutOfRangeException(nameof(cell), cell, $"cell must be in [1, {Math.Min(h, w)}] for {h}x{w} maps.");
        MetricTensors.AtLeast(bins, 1, nameof(bins));
        var x = SanityCheckNormalization.Apply(maps, true).reshape(-1, 1, h, w);
        var dx = torch.tensor(new[] { -1.0, 0, 1 }).reshape(1, 1, 1, 3);
        var dy = torch.tensor(new[] { -1.0, 0, 1 }).reshape(1, 1, 3, 1);
        var gx = nn.functional.conv2d(x, dx, padding: new long[] { 0, 1 });
        var gy = nn.functional.conv2d(x, dy, padding: new long[] { 1, 0 });
        var magnitude = (gx * gx + gy * gy).sqrt();
        var angle = torch.atan2(gy, gx).remainder(Math.PI); // unsigned orientation in [0, π)
        var bin = (angle / Math.PI * bins).floor().clamp(0, bins - 1).to_type(ScalarType.Int64);
        var onehot = nn.functional.one_hot(bin.squeeze(1), bins).permute(0, 3, 1, 2).to_type(ScalarType.Float64) * magnitude; // [N, bins, H, W]
        var pooled = nn.functional.avg_pool2d(onehot, cell) * (cell * cell);
        return pooled.flatten(1);
    }
}
