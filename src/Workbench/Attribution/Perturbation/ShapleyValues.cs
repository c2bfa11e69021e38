using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Exact Shapley values (Shapley, 1953; Captum's ShapleyValues): every coalition S of the M features
/// of a mask is evaluated (absent features at the baseline), and
/// φ_i = Σ_{S ∌ i} |S|! (M − |S| − 1)! / M! · (v(S ∪ {i}) − v(S)). 2^M evaluations per example, so
/// for small M (default cap 12: 4,096); the results need no seed and are exact (efficiency:
/// Σ φ = f(x) − f(x'); symmetry; dummy; linearity). Captum enumerates the M! permutations instead;
/// the values are the same. For more features use <see cref="ShapleyValueSampling"/> or <see cref="KernelShap"/>.
/// </summary>
public sealed class ShapleyValues(AttributionModel model, Tensor? featureMask = null, int maxFeatures = 12, AttributionSettings? settings = null)
    : PerturbationAttribution(model, settings)
{
    /// <summary>The hard limit on <see cref="MaxFeatures"/>: 2^20 evaluations per example is already about a million.</summary>
    public const int FeatureLimit = 20;

    public Tensor? FeatureMask { get; } = featureMask;
    public int MaxFeatures { get; } = maxFeatures is >= 1 and <= FeatureLimit ? maxFeatures
        : throw new ArgumentOutOfRangeException(nameof(maxFeatures), maxFeatures, $"maxFeatures must be in [1, {FeatureLimit}].");
    public override string Name => "ShapleyValues";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["max_features"] = MaxFeatures };

    protected override AttributionOutput Compute(AttributionContext c) => new(PerFeatureCount(c, FeatureMask, Enumerate));

    Tensor Enumerate(AttributionContext c, BoundFeatureMask mask)
    {
        long features = mask.Features;
        if (features > MaxFeatures)
            throw new ArgumentException($"ShapleyValues evaluates all 2^M coalitions; the mask has M = {features} features ({1L << (int)Math.Min(features, 62):N0} evaluations per example) and maxFeatures is {MaxFeatures}. " +
                "Use a coarser mask, raise maxFeatures (at most 20), or use ShapleyValueSampling / KernelShap.", "featureMask");
        int m = (int)features;
        long count = 1L << m;
        // Coalition s holds feature i when bit i of s is set; C [M, 2^M] turns the values into φ = C v.
        var z = new double[count * m];
        var coefficients = new double[m * count];
        var weight = new double[m]; // |S|! (M − |S| − 1)! / M! for |S| = 0..M−1
        for (int k = 0; k < m; k++) weight[k] = Math.Exp(LogFactorial(k) + LogFactorial(m - k - 1) - LogFactorial(m));
        for (long s = 0; s < count; s++)
        {
            int size = System.Numerics.BitOperations.PopCount((ulong)s);
            for (int i = 0; i < m; i++)
            {
                bool has = ((s >> i) & 1) == 1;
                z[s * m + i] = has ? 1 : 0;
                coefficients[i * count + s] = has ? weight[size - 1] : -weight[size];
            }
        }
        var coalitions = torch.tensor(z, new[] { count, (long)m }, ScalarType.Float64).to(c.Inputs.device);
        var baseline = BaselinePerExample(c);
        var values = PerturbedScores(c, count, (start, n) =>
        {
            var (example, row) = RowIndices(c, start, n);
            return Compose(c.Inputs.index_select(0, example), baseline.index_select(0, example), coalitions.index_select(0, row), mask, example);
        }).to_type(ScalarType.Float64); // [2^M, B]
        var phi = torch.tensor(coefficients, new[] { (long)m, count }, ScalarType.Float64, c.Inputs.device).matmul(values); // [M, B]
        return mask.Spread(phi.t().to_type(c.Inputs.dtype), c.Inputs.shape);
    }

    static double LogFactorial(int n)
    {
        double sum = 0;
        for (int i = 2; i <= n; i++) sum += Math.Log(i);
        return sum;
    }
}
