using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

public enum NoiseTunnelKind { SmoothGrad, SmoothGradSquared, VarGrad }

/// <summary>
/// Averages any method over noisy copies of the input (Captum's NoiseTunnel): SmoothGrad (Smilkov et
/// al., 2017) the mean, SmoothGrad² the mean of squares, VarGrad (Adebayo et al., 2018) the
/// variance. Noise N(0, σ²) with σ = <see cref="SigmaFraction"/> × (max − min) of each example, as in
/// SmoothGrad. The noisy copies are explained together (the wrapped method chunks them).
/// </summary>
public sealed class NoiseTunnel(AttributionMethod inner, NoiseTunnelKind kind = NoiseTunnelKind.SmoothGrad, int samples = 50,
    double sigmaFraction = 0.15, int seed = 0) : AttributionMethod(inner.Model, inner.Settings)
{
    public AttributionMethod Inner { get; } = inner;
    public NoiseTunnelKind Kind { get; } = kind;
    public int Samples { get; } = samples >= 1 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 1.");
    public double SigmaFraction { get; } = sigmaFraction >= 0 ? sigmaFraction : throw new ArgumentOutOfRangeException(nameof(sigmaFraction), sigmaFraction, "sigmaFraction must be >= 0.");
    public int Seed { get; } = seed;

    public override string Name => $"{Kind}({Inner.Name})";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object>(Inner.Parameters)
    {
        ["kind"] = Kind.ToString(), ["samples"] = Samples, ["sigma_fraction"] = SigmaFraction, ["seed"] = Seed,
    };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        long b = c.BatchSize;
        var flat = c.Inputs.flatten(1);
        var range = (flat.max(1).values - flat.min(1).values).reshape(new[] { b }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray());
        using var g = new torch.Generator((ulong)Seed);
        var noise = torch.randn(new[] { Samples * b }.Concat(c.ExampleShape).ToArray(), c.Inputs.dtype, generator: g).to(c.Inputs.device);
        // Sample-major rows: row r is example r mod B, the target convention.
        var noisy = c.Inputs.repeat(new[] { (long)Samples }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray())
                    + noise * (SigmaFraction * range.repeat(new[] { (long)Samples }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray()));
        var classes = c.Target.Classes;
        Target tiled = classes is null
            ? throw new NotSupportedException("NoiseTunnel needs a class target (a selector target cannot be tiled over noise samples).")
            : Target.PerExample(Enumerable.Range(0, Samples).SelectMany(_ => classes).ToArray());
        Tensor? baselines = c.Baselines is null ? null : TileBaselines(c, Samples);
        using var inner = Inner.Attribute(noisy, tiled, baselines);
        var maps = inner.Map.reshape(new[] { (long)Samples, b }.Concat(c.ExampleShape).ToArray());
        var result = Kind switch
        {
            NoiseTunnelKind.SmoothGrad => maps.mean(new long[] { 0 }),
            NoiseTunnelKind.SmoothGradSquared => maps.pow(2).mean(new long[] { 0 }),
            NoiseTunnelKind.VarGrad => (maps - maps.mean(new long[] { 0 }, keepdim: true)).pow(2).mean(new long[] { 0 }),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown kind"),
        };
        return new(result);
    }

    static Tensor TileBaselines(AttributionContext c, int samples)
    {
        var b = c.Baselines!.dim() == c.Inputs.dim() - 1 ? c.Baselines.unsqueeze(0) : c.Baselines;
        if (b.shape[0] == c.BatchSize && c.BatchSize > 1)
            return b.repeat(new[] { (long)samples }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray());
        return b; // one baseline, or a set the inner method averages: shared by all noisy copies
    }
}
