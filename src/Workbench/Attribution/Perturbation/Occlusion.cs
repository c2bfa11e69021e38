using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Occlusion (Zeiler &amp; Fergus, 2014): slide a window over the image (all channels), replace it by
/// the baseline, and give each pixel the mean drop of the target score over the windows covering it.
/// </summary>
public sealed class Occlusion(AttributionModel model, int window = 4, int stride = 2, AttributionSettings? settings = null) : PerturbationAttribution(model, settings)
{
    public int Window { get; } = window >= 1 ? window : throw new ArgumentOutOfRangeException(nameof(window), window, "window must be >= 1.");
    public int Stride { get; } = stride >= 1 ? stride : throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be >= 1.");
    public override string Name => "Occlusion";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["window"] = Window, ["stride"] = Stride };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        if (c.Inputs.dim() != 4) throw new ArgumentException($"Occlusion needs images [batch, channels, height, width]; got [{string.Join(", ", c.Inputs.shape)}].", "inputs");
        long h = c.Inputs.shape[2], w = c.Inputs.shape[3];
        if (Window > h || Window > w) throw new ArgumentOutOfRangeException(nameof(Window), Window, $"window must fit the {h}×{w} image.");
        var tops = Positions(h); var lefts = Positions(w);
        var windows = (from t in tops from l in lefts select (t, l)).ToArray();
        // One mask per window: 1 inside, [P, 1, H, W].
        var masks = torch.zeros(windows.Length, 1, h, w, dtype: c.Inputs.dtype, device: c.Inputs.device);
        for (int p = 0; p < windows.Length; p++)
            masks[p, .., TensorIndex.Slice(windows[p].t, windows[p].t + Window), TensorIndex.Slice(windows[p].l, windows[p].l + Window)] = torch.tensor(1.0, c.Inputs.dtype);
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, windows.Length, (start, n) =>
        {
            var (example, perturbation) = RowIndices(c, start, n);
            var m = masks.index_select(0, perturbation);
            return c.Inputs.index_select(0, example) * (1 - m) + baseline.index_select(0, example) * m;
        });
        var drop = c.Target.Score(c.OutputAtInputs).unsqueeze(0) - scores; // [P, B]
        var total = torch.einsum("pb,pchw->bchw", drop, masks);
        var count = masks.sum(new long[] { 0 }).clamp_min(1); // sum(0) would bind to sum(ScalarType): a literal 0 converts to any enum
        return new((total / count).expand_as(c.Inputs).contiguous());
    }

    long[] Positions(long size)
    {
        var list = new List<long>();
        for (long p = 0; p + Window <= size; p += Stride) list.Add(p);
        if (list[^1] + Window < size) list.Add(size - Window); // cover the border
        return list.ToArray();
    }
}
