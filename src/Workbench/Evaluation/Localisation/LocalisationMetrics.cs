using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Localisation against a ground-truth mask [N, H, W] (1 = object).</summary>
public static class Localisation
{
    static (Tensor Map, Tensor Mask) Prepare(Tensor maps, Tensor masks)
    {
        MetricTensors.Batch(maps, nameof(maps), finite: true);
        ArgumentNullException.ThrowIfNull(masks);
        var m = (maps.dim() == 4 ? maps.sum(1) : maps).flatten(1).to_type(ScalarType.Float64);
        var k = (masks.dim() == 4 ? masks.amax(new long[] { 1 }) : masks).flatten(1).to_type(ScalarType.Float64);
        if (!m.shape.SequenceEqual(k.shape)) throw new ArgumentException($"masks must match the maps' pixels; got [{string.Join(", ", masks.shape)}] for maps [{string.Join(", ", maps.shape)}].", nameof(masks));
        return (m, k);
    }

    /// <summary>Pointing game (Zhang et al., 2018): 1 when the map's maximum lies inside the mask; NaN (undefined) for a
    /// constant map, which points nowhere (its argmax would be pixel 0 and score by chance).</summary>
    public static MetricResult PointingGame(Tensor maps, Tensor masks)
    {
        using var scope = torch.NewDisposeScope();
        var (m, k) = Prepare(maps, masks);
        var hit = k.gather(1, m.argmax(1).unsqueeze(1)).squeeze(1);
        return MetricResult.From("pointing_game", torch.where(m.amax(1).eq(m.amin(1)), torch.tensor(double.NaN, ScalarType.Float64), hit));
    }

    /// <summary>Relevance mass accuracy (Arras et al., 2022): positive relevance inside the mask / all positive relevance;
    /// NaN (undefined) for a map without positive relevance.</summary>
    public static MetricResult RelevanceMass(Tensor maps, Tensor masks)
    {
        using var scope = torch.NewDisposeScope();
        var (m, k) = Prepare(maps, masks);
        var pos = m.clamp_min(0);
        return MetricResult.From("relevance_mass", MetricTensors.UndefinedWhereZero((pos * k).sum(1) / pos.sum(1).clamp_min(1e-300), pos));
    }

    /// <summary>Top-k intersection (Theiner et al., 2021): of the <paramref name="k"/> most relevant pixels, the fraction inside the mask.</summary>
    public static MetricResult TopKIntersection(Tensor maps, Tensor masks, int k = 100)
    {
        using var scope = torch.NewDisposeScope();
        var (m, mask) = Prepare(maps, masks);
        if (k < 1 || k > m.shape[1]) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {m.shape[1]}].");
        return MetricResult.From("topk_intersection_mask", mask.gather(1, m.topk(k, 1).indexes).sum(1) / k);
    }

    /// <summary>Relevance rank accuracy (Arras et al., 2022): of the |mask| highest-relevance pixels, the fraction inside the mask.</summary>
    public static MetricResult RelevanceRank(Tensor maps, Tensor masks)
    {
        using var scope = torch.NewDisposeScope();
        var (m, k) = Prepare(maps, masks);
        var values = new double[m.shape[0]];
        for (long i = 0; i < m.shape[0]; i++)
        {
            long size = (long)k[i].sum().item<double>();
            values[i] = size == 0 ? double.NaN : k[i].index_select(0, m[i].topk((int)size).indexes).sum().item<double>() / size;
        }
        return new MetricResult("relevance_rank", values);
    }
}
