using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// LIME and KernelSHAP: sample coalitions z ∈ {0,1}^M of the features of a mask, evaluate the model
/// with absent features set to the baseline, fit a weighted linear model g(z) = φ₀ + Σ φ_m z_m per
/// example, and spread φ_m over the feature's elements. They differ in how coalitions are sampled
/// and weighted.
/// </summary>
public abstract class SurrogateAttribution(AttributionModel model, Tensor? featureMask, int samples, int seed, double ridge, AttributionSettings? settings)
    : PerturbationAttribution(model, settings)
{
    public Tensor? FeatureMask { get; } = featureMask;
    public int Samples { get; } = samples >= 2 ? samples : throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 2.");
    public int Seed { get; } = seed;
    public double Ridge { get; } = ridge >= 0 ? ridge : throw new ArgumentOutOfRangeException(nameof(ridge), ridge, "ridge must be >= 0.");
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["samples"] = Samples, ["seed"] = Seed, ["ridge"] = Ridge };

    /// <summary>Coalitions [S, M] (0/1, float64) and their regression weights [S].</summary>
    protected abstract (Tensor Coalitions, Tensor Weights) Sample(long features, torch.Generator generator);

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (mask, features) = ResolveMask(c, FeatureMask);
        using var g = new torch.Generator((ulong)Seed);
        var (z, weights) = Sample(features, g);
        z = z.to(c.Inputs.device);
        weights = weights.to(c.Inputs.device);
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, z.shape[0], (start, n) =>
        {
            var (example, sample) = RowIndices(c, start, n);
            return Compose(c.Inputs.index_select(0, example), baseline.index_select(0, example), z.index_select(0, sample), mask);
        }).to_type(ScalarType.Float64); // [S, B]

        // Weighted ridge regression with an intercept, all examples at once: (XᵀWX + λI) β = XᵀW y.
        var x = torch.cat(new[] { torch.ones(z.shape[0], 1, dtype: ScalarType.Float64, device: z.device), z.to_type(ScalarType.Float64) }, 1);
        var xw = x * weights.to_type(ScalarType.Float64).unsqueeze(1);
        var gram = xw.t().matmul(x);
        var ridge = torch.eye(features + 1, dtype: ScalarType.Float64, device: z.device) * Ridge;
        ridge[0, 0] = torch.tensor(0.0); // never shrink the intercept
        var beta = torch.linalg.solve(gram + ridge, xw.t().matmul(scores)); // [M + 1, B]
        var phi = beta.narrow(0, 1, features).t().to_type(c.Inputs.dtype); // [B, M]
        return new(phi.index_select(1, mask.flatten()).reshape(c.Inputs.shape));
    }
}

/// <summary>
/// LIME (Ribeiro et al., 2016): coalitions uniform at random, weighted by an exponential kernel on
/// their cosine distance to the full input, exp(−d² / width²).
/// </summary>
public sealed class Lime(AttributionModel model, Tensor? featureMask = null, int samples = 500, double kernelWidth = 0.25, int seed = 0,
    double ridge = 1e-3, AttributionSettings? settings = null) : SurrogateAttribution(model, featureMask, samples, seed, ridge, settings)
{
    public double KernelWidth { get; } = kernelWidth > 0 ? kernelWidth : throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, "kernelWidth must be > 0.");
    public override string Name => "Lime";

    protected override (Tensor, Tensor) Sample(long features, torch.Generator g)
    {
        var z = torch.rand(new long[] { Samples, features }, ScalarType.Float64, generator: g).lt(0.5).to_type(ScalarType.Float64);
        z[0] = torch.ones(features, ScalarType.Float64); // the input itself
        var cosine = z.sum(1) / (z.norm(1) * Math.Sqrt(features)).clamp_min(1e-12);
        var distance = 1 - cosine;
        return (z, torch.exp(-distance.pow(2) / (KernelWidth * KernelWidth)));
    }
}

/// <summary>
/// KernelSHAP (Lundberg &amp; Lee, 2017): coalition sizes drawn from the Shapley kernel
/// (M − 1) / (C(M, k) k (M − k)), so the regression weights are uniform, plus the empty and full
/// coalitions with a very large weight: φ then sums to f(x) − f(x') (local accuracy / efficiency)
/// and absent features get 0 (missingness).
/// </summary>
public sealed class KernelShap(AttributionModel model, Tensor? featureMask = null, int samples = 500, int seed = 0, AttributionSettings? settings = null)
    : SurrogateAttribution(model, featureMask, samples, seed, ridge: 0, settings)
{
    const double AnchorWeight = 1e6;
    public override string Name => "KernelShap";

    protected override (Tensor, Tensor) Sample(long features, torch.Generator g)
    {
        if (features < 2) throw new ArgumentException($"KernelSHAP needs at least 2 features; the mask has {features}.", "featureMask");
        var sizeWeights = Enumerable.Range(1, (int)features - 1).Select(k => (features - 1.0) / (k * (features - k))).ToArray();
        using var sizeProbabilities = torch.tensor(sizeWeights, ScalarType.Float64);
        var sizes = torch.multinomial(sizeProbabilities, Samples - 2, replacement: true, generator: g) + 1; // [S-2]
        // A random subset of each size: the features ranked by uniform noise, the first k kept.
        var noise = torch.rand(new long[] { Samples - 2, features }, ScalarType.Float64, generator: g);
        var ranks = noise.argsort(1).argsort(1);
        var z = ranks.lt(sizes.unsqueeze(1)).to_type(ScalarType.Float64);
        var anchors = torch.stack(new[] { torch.zeros(features, ScalarType.Float64), torch.ones(features, ScalarType.Float64) });
        var weights = torch.cat(new[] { torch.full(2, AnchorWeight, ScalarType.Float64), torch.ones(Samples - 2, ScalarType.Float64) });
        return (torch.cat(new[] { anchors, z }), weights);
    }
}
