using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

public enum NoiseTunnelKind { SmoothGrad, SmoothGradSquared, VarGrad }

/// <summary>
/// Averages any method over noisy copies of the input (Captum's NoiseTunnel): SmoothGrad (Smilkov et
/// al., 2017) the mean, SmoothGrad² the mean of squares, VarGrad (Adebayo et al., 2018) the
/// variance. Noise N(0, σ²) with σ = <see cref="SigmaFraction"/> × (max − min) of each example, as in
/// SmoothGrad, or an absolute <see cref="Stdev"/> for every element (Captum's <c>stdevs</c>). The
/// copies are made and explained in groups of as many samples as one pass of the memory budget holds,
/// and reduced as they come (running sums): memory does not grow with the samples. Each sample's
/// noise is one draw of the batch's shape, so the result does not depend on the grouping.
/// </summary>
public sealed class NoiseTunnel(AttributionMethod inner, NoiseTunnelKind kind = NoiseTunnelKind.SmoothGrad, int samples = 50,
    double sigmaFraction = 0.15, int seed = 0, double? stdev = null) : AttributionMethod(inner.Model, inner.Settings)
{
    public AttributionMethod Inner { get; } = inner;
    public NoiseTunnelKind Kind { get; } = kind;
    public int Samples { get; } = samples >= 1 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 1.");
    public double SigmaFraction { get; } = sigmaFraction >= 0 ? sigmaFraction : throw new ArgumentOutOfRangeException(nameof(sigmaFraction), sigmaFraction, "sigmaFraction must be >= 0.");

    /// <summary>An absolute noise level σ for every element; when set, <see cref="SigmaFraction"/> is not used.</summary>
    public double? Stdev { get; } = stdev is null or >= 0 ? stdev : throw new ArgumentOutOfRangeException(nameof(stdev), stdev, "stdev must be >= 0.");
    public int Seed { get; } = seed;

    /// <summary>
    /// With several input tensors: an absolute σ per input (Captum's tuple of <c>stdevs</c>); when set,
    /// neither <see cref="Stdev"/> nor <see cref="SigmaFraction"/> is used.
    /// </summary>
    public IReadOnlyList<double>? StdevPerInput { get; init; }

    public override string Name => $"{Kind}({Inner.Name})";
    protected internal override bool HandlesSeveralInputs => Inner.HandlesSeveralInputs;
    protected internal override bool MapsPerInput => Inner.MapsPerInput;
    public override IReadOnlyDictionary<string, object> Parameters
    {
        get
        {
            var p = new Dictionary<string, object>(Inner.Parameters) { ["kind"] = Kind.ToString(), ["samples"] = Samples, ["seed"] = Seed };
            if (StdevPerInput is { } perInput) p["stdevs"] = $"[{string.Join(", ", perInput)}]";
            else if (Stdev is { } sd) p["stdev"] = sd;
            else p["sigma_fraction"] = SigmaFraction;
            return p;
        }
    }
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        long b = c.BatchSize;
        var ones = Enumerable.Repeat(1L, c.ExampleShape.Length).ToArray();
        var flat = c.Inputs.flatten(1);
        if (StdevPerInput is not null && c.Layout is null)
            throw new ArgumentException("StdevPerInput gives one σ per input tensor; this call has one input. Use stdev.", nameof(StdevPerInput));
        var sigma = StdevPerInput is { } perInput ? PerInput(perInput, c)
            : Stdev is { } sd
            ? torch.full(new[] { b }.Concat(ones).ToArray(), sd, c.Inputs.dtype, c.Inputs.device)
            : c.Layout is { } layout ? RangePerInput(flat, layout) * SigmaFraction
            : (flat.max(1).values - flat.min(1).values).reshape(new[] { b }.Concat(ones).ToArray()) * SigmaFraction;
        // Samples per group: as many copies of the batch as one pass of the budget holds (at least one).
        long perGroup = Math.Clamp(RowsPerPass() / b, 1, Samples);
        Tensor? sum = null, sumOfSquares = null; // the wrapped method's map shape: the inputs', or a layer's
        using var g = new torch.Generator((ulong)Seed);
        for (long first = 0; first < Samples; first += perGroup)
        {
            using var scope = torch.NewDisposeScope();
            long k = Math.Min(perGroup, Samples - first);
            var noise = torch.cat(Enumerable.Range(0, (int)k).Select(_ => torch.randn(c.Inputs.shape, c.Inputs.dtype, generator: g)).ToArray()).to(c.Inputs.device);
            // Sample-major rows: row r is example r mod B, the target convention.
            var tile = new[] { k }.Concat(ones).ToArray();
            var noisy = c.Inputs.repeat(tile) + noise * sigma.repeat(tile);
            var tiled = Target.Bound(c.Target, "the tunnel's target, per noisy copy");
            using var inner = Inner.Attribute(noisy, tiled, c.Baselines is null ? null : TileBaselines(c, k));
            var maps = inner.Map.reshape(new[] { k, b }.Concat(inner.Map.shape.Skip(1)).ToArray());
            sum ??= torch.zeros(maps.shape.Skip(1).ToArray(), maps.dtype, maps.device).MoveToOuterDisposeScope();
            sum.add_(maps.sum(new long[] { 0 }));
            if (Kind != NoiseTunnelKind.SmoothGrad)
            {
                sumOfSquares ??= torch.zeros_like(sum).MoveToOuterDisposeScope();
                sumOfSquares.add_(maps.pow(2).sum(new long[] { 0 }));
            }
        }
        var result = Kind switch
        {
            NoiseTunnelKind.SmoothGrad => sum! / Samples,
            NoiseTunnelKind.SmoothGradSquared => sumOfSquares! / Samples,
            // E[g²] − E[g]², clamped at 0 against rounding.
            NoiseTunnelKind.VarGrad => (sumOfSquares! / Samples - (sum! / Samples).pow(2)).clamp_min(0),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown kind"),
        };
        return new(result);
    }

    /// <summary>σ of input i for each of its elements -> [B, E] (checked: one σ ≥ 0 per input).</summary>
    static Tensor PerInput(IReadOnlyList<double> sigmas, AttributionContext c)
    {
        var layout = c.Layout!;
        if (sigmas.Count != layout.Count)
            throw new ArgumentException($"StdevPerInput must give one σ per input ({layout.Count}); got {sigmas.Count}.", nameof(StdevPerInput));
        foreach (var s in sigmas)
            if (!(s >= 0)) throw new ArgumentOutOfRangeException(nameof(StdevPerInput), s, "every σ must be >= 0.");
        var row = new double[layout.Elements];
        for (int i = 0; i < layout.Count; i++)
        {
            var (offset, size) = layout.Segment(i);
            Array.Fill(row, sigmas[i], (int)offset, (int)size);
        }
        return torch.tensor(row, c.Inputs.dtype, c.Inputs.device).unsqueeze(0).expand(c.BatchSize, -1);
    }

    /// <summary>With several inputs, each input's own range (max − min per example), for each of its elements -> [B, E].</summary>
    static Tensor RangePerInput(Tensor packed, InputLayout layout) =>
        torch.cat(Enumerable.Range(0, layout.Count).Select(i =>
        {
            var (offset, size) = layout.Segment(i);
            var part = packed.narrow(1, offset, size);
            return (part.max(1).values - part.min(1).values).unsqueeze(1).expand(-1, size);
        }).ToArray(), 1);

    static Tensor TileBaselines(AttributionContext c, long samples)
    {
        var b = c.Baselines!.dim() == c.Inputs.dim() - 1 ? c.Baselines.unsqueeze(0) : c.Baselines;
        if (b.shape[0] == c.BatchSize && c.BatchSize > 1)
            return b.repeat(new[] { samples }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray());
        return b; // one baseline, or a set the inner method averages: shared by all noisy copies
    }
}
