using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Visualization;

public enum MapSign { Absolute, Positive, Negative, Signed }

/// <summary>
/// Turning attribution maps into displayable images: channel reduction, sign handling and
/// percentile clipping (the 99th percentile of the sanity-checks paper), scaled to [0, 1]
/// (or [-1, 1] for signed maps).
/// </summary>
public static class MapNormalization
{
    /// <summary>
    /// The sanity-checks normalisation (Adebayo et al., 2018): channels summed, the chosen sign kept,
    /// divided by each map's <paramref name="percentile"/>-th percentile of |value| and clipped.
    /// [B, C, H, W] maps -> [B, H, W]; any other [B, ...] keeps its shape. Values in [0, 1] ([-1, 1] when signed).
    /// </summary>
    public static Tensor Normalize(Tensor maps, MapSign sign = MapSign.Absolute, double percentile = 99.0)
    {
        if (maps.dim() < 2) throw new ArgumentException($"maps must have a batch dimension and at least one more, e.g. [batch, channels, height, width]; got [{string.Join(", ", maps.shape)}].", nameof(maps));
        if (!(percentile > 0 && percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "percentile must be in (0, 100].");
        using var scope = torch.NewDisposeScope();
        var m = maps.dim() == 4 ? maps.sum(1) : maps;
        m = sign switch
        {
            MapSign.Absolute => m.abs(),
            MapSign.Positive => m.clamp_min(0),
            MapSign.Negative => (-m).clamp_min(0),
            MapSign.Signed => m,
            _ => throw new ArgumentOutOfRangeException(nameof(sign), sign, "unknown sign"),
        };
        var flat = m.abs().flatten(1).to_type(ScalarType.Float64);
        var scale = torch.quantile(flat, percentile / 100.0, dim: 1, keepdim: true).clamp_min(1e-12).to_type(m.dtype);
        var scaled = m / scale.reshape(new long[] { -1 }.Concat(Enumerable.Repeat(1L, (int)m.dim() - 1)).ToArray());
        return (sign == MapSign.Signed ? scaled.clamp(-1, 1) : scaled.clamp(0, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>Grey images [B, 1 or 3, H, W] in [0, 1] with a normalised map laid over them in red: [B, 3, H, W].</summary>
    public static Tensor Overlay(Tensor images, Tensor normalizedMaps, double alpha = 0.6)
    {
        using var scope = torch.NewDisposeScope();
        var grey = images.shape[1] == 1 ? images.expand(-1, 3, -1, -1) : images;
        var heat = torch.stack(new[] { normalizedMaps.abs(), torch.zeros_like(normalizedMaps), torch.zeros_like(normalizedMaps) }, 1);
        var a = normalizedMaps.abs().unsqueeze(1) * alpha;
        return (grey * (1 - a) + heat * a).clamp(0, 1).MoveToOuterDisposeScope();
    }
}
