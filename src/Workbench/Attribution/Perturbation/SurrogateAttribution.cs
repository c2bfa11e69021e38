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
    protected internal override bool HandlesSeveralInputs => true;

    /// <summary>Coalitions [S, M] (0/1, float64) and their regression weights [S].</summary>
    protected abstract (Tensor Coalitions, Tensor Weights) Sample(long features, torch.Generator generator);

    protected override AttributionOutput Compute(AttributionContext c) => new(PerFeatureCount(c, FeatureMask, Fit));

    Tensor Fit(AttributionContext c, BoundFeatureMask mask)
    {
        long features = mask.Features;
        using var g = new torch.Generator((ulong)Seed);
        var (z, weights) = Sample(features, g);
        z = z.to(c.Inputs.device);
        weights = weights.to(c.Inputs.device);
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, z.shape[0], (start, n) =>
        {
            var (example, sample) = RowIndices(c, start, n);
            return Compose(c.Inputs.index_select(0, example), baseline.index_select(0, example), z.index_select(0, sample), mask, example);
        }).to_type(ScalarType.Float64); // [S, B]

        // Weighted ridge regression with an intercept, all examples at once: (XᵀWX + λI) β = XᵀW y.
        var x = torch.cat(new[] { torch.ones(z.shape[0], 1, dtype: ScalarType.Float64, device: z.device), z.to_type(ScalarType.Float64) }, 1);
        var xw = x * weights.to_type(ScalarType.Float64).unsqueeze(1);
        var gram = xw.t().matmul(x);
        var ridge = torch.eye(features + 1, dtype: ScalarType.Float64, device: z.device) * Ridge;
        ridge[0, 0] = torch.tensor(0.0); // never shrink the intercept
        var beta = torch.linalg.solve(gram + ridge, xw.t().matmul(scores)); // [M + 1, B]
        var phi = beta.narrow(0, 1, features).t().to_type(c.Inputs.dtype); // [B, M]
        return mask.Spread(phi, c.Inputs.shape);
    }
}

/// <summary>
/// LIME (Ribeiro et al., 2016): coalitions uniform at random, weighted by an exponential kernel on
/// their cosine distance to the full input, exp(−d² / width²). The distance is between coalition
/// vectors and the fit is a ridge regression, as the lime package's image explainer; Captum's default
/// measures the distance between the inputs themselves and fits a Lasso (α = 0.01).
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
/// and absent features get 0 (missingness). When the budget covers every coalition (2^M ≤ samples),
/// all of them are enumerated with their kernel weights instead: the weighted regression is then
/// the Shapley values exactly (Lundberg &amp; Lee, Theorem 2), as the shap package does.
/// </summary>
public sealed class KernelShap(AttributionModel model, Tensor? featureMask = null, int samples = 500, int seed = 0, AttributionSettings? settings = null)
    : SurrogateAttribution(model, featureMask, samples, seed, ridge: 0, settings)
{
    const double AnchorWeight = 1e6;
    public override string Name => "KernelShap";

    protected override (Tensor, Tensor) Sample(long features, torch.Generator g)
    {
        if (features < 2) throw new ArgumentException($"KernelSHAP needs at least 2 features; the mask has {features}.", "featureMask");
        if (features < 31 && 1L << (int)features <= Samples) return Enumerate((int)features);
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

    /// <summary>Every coalition: the empty and full ones as anchors, each other of size k with weight (M − 1) / (C(M, k) k (M − k)).</summary>
    static (Tensor, Tensor) Enumerate(int features)
    {
        long count = 1L << features;
        var z = new double[count * features];
        var weights = new double[count];
        // Row 0 the empty coalition, row 1 the full one, then the others in binary order.
        long row = 2;
        for (long s = 0; s < count; s++)
        {
            int size = System.Numerics.BitOperations.PopCount((ulong)s);
            long r = size == 0 ? 0 : size == features ? 1 : row++;
            for (int i = 0; i < features; i++) z[r * features + i] = (s >> i) & 1;
            weights[r] = size == 0 || size == features ? AnchorWeight : (features - 1.0) / (Binomial(features, size) * size * (features - size));
        }
        return (torch.tensor(z, new[] { count, (long)features }, ScalarType.Float64), torch.tensor(weights, ScalarType.Float64));
    }

    static double Binomial(int n, int k)
    {
        double c = 1;
        for (int i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return c;
    }
}
