using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// RISE (Petsiuk et al., 2018): random masks M_i (a coarse Bernoulli(p) grid, bilinearly upsampled
/// and randomly shifted); saliency = Σ_i f(x ⊙ M_i) M_i / (N · p).
/// </summary>
public sealed class Rise(AttributionModel model, int masks = 2000, int cells = 7, double probability = 0.5, int seed = 0, AttributionSettings? settings = null)
    : PerturbationAttribution(model, settings)
{
    public int Masks { get; } = masks >= 1 ? masks : throw new ArgumentOutOfRangeException(nameof(masks), masks, "masks must be >= 1.");
    public int Cells { get; } = cells >= 1 ? cells : throw new ArgumentOutOfRangeException(nameof(cells), cells, "cells must be >= 1.");
    public double Probability { get; } = probability is > 0 and <= 1 ? probability : throw new ArgumentOutOfRangeException(nameof(probability), probability, "probability must be in (0, 1].");
    public int Seed { get; } = seed;
    public override string Name => "Rise";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["masks"] = Masks, ["cells"] = Cells, ["p"] = Probability, ["seed"] = Seed };

    /// <summary>The N masks [N, 1, H, W] in [0, 1].</summary>
    public Tensor GenerateMasks(long height, long width, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var g = new torch.Generator((ulong)Seed);
        long cellH = (height + Cells - 1) / Cells, cellW = (width + Cells - 1) / Cells;
        var grid = torch.rand(new long[] { Masks, 1, Cells, Cells }, generator: g).lt(Probability).to_type(ScalarType.Float32);
        var up = nn.functional.interpolate(grid, new long[] { (Cells + 1) * cellH, (Cells + 1) * cellW }, mode: InterpolationMode.Bilinear, align_corners: false);
        var shifts = torch.randint(0, cellH * cellW, new long[] { Masks }, generator: g).data<long>().ToArray();
        var crops = new Tensor[Masks];
        for (int i = 0; i < Masks; i++)
        {
            long dy = shifts[i] / cellW, dx = shifts[i] % cellW;
            crops[i] = up[i, .., TensorIndex.Slice(dy, dy + height), TensorIndex.Slice(dx, dx + width)];
        }
        return torch.stack(crops).to_type(dtype).MoveToOuterDisposeScope();
    }

    protected override AttributionOutput Compute(AttributionContext c)
    {
        if (c.Inputs.dim() != 4) throw new ArgumentException($"RISE needs images [batch, channels, height, width]; got [{string.Join(", ", c.Inputs.shape)}].", "inputs");
        var masks = GenerateMasks(c.Inputs.shape[2], c.Inputs.shape[3], c.Inputs.dtype).to(c.Inputs.device);
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, Masks, (start, n) =>
        {
            var (example, perturbation) = RowIndices(c, start, n);
            var m = masks.index_select(0, perturbation);
            return c.Inputs.index_select(0, example) * m + baseline.index_select(0, example) * (1 - m);
        });
        var saliency = torch.einsum("nb,nchw->bchw", scores, masks) / (Masks * Probability);
        return new(saliency.expand_as(c.Inputs).contiguous());
    }
}
