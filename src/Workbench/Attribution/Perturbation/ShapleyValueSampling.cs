using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Shapley value sampling (Castro et al., 2009; Štrumbelj &amp; Kononenko, 2010): for random orders
/// of the features, add them one by one to the baseline and credit each with its marginal
/// contribution; average over orders. Each order's contributions sum to f(x) − f(x') exactly.
/// </summary>
public sealed class ShapleyValueSampling(AttributionModel model, Tensor? featureMask = null, int permutations = 25, int seed = 0, AttributionSettings? settings = null)
    : PerturbationAttribution(model, settings)
{
    public Tensor? FeatureMask { get; } = featureMask;
    public int Permutations { get; } = permutations >= 1 ? permutations : throw new ArgumentOutOfRangeException(nameof(permutations), permutations, "permutations must be >= 1.");
    public int Seed { get; } = seed;
    public override string Name => "ShapleyValueSampling";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["permutations"] = Permutations, ["seed"] = Seed };

    protected override AttributionOutput Compute(AttributionContext c) => new(PerFeatureCount(c, FeatureMask, Sample));

    Tensor Sample(AttributionContext c, BoundFeatureMask mask)
    {
        long features = mask.Features;
        using var g = new torch.Generator((ulong)Seed);
        var orders = torch.stack(Enumerable.Range(0, Permutations).Select(_ => torch.randperm(features, generator: g)).ToArray()); // [P, M]
        // Coalition k of order p holds its first k features: rows (p, k) for k = 0..M.
        var positions = orders.argsort(1); // position of each feature in each order
        var steps = torch.arange(features + 1, dtype: ScalarType.Int64);
        var coalitions = positions.unsqueeze(1).lt(steps.reshape(1, -1, 1)).to_type(ScalarType.Float64).reshape(-1, features).to(c.Inputs.device); // [P(M+1), M]
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, coalitions.shape[0], (start, n) =>
        {
            var (example, row) = RowIndices(c, start, n);
            return Compose(c.Inputs.index_select(0, example), baseline.index_select(0, example), coalitions.index_select(0, row), mask, example);
        }).reshape(Permutations, features + 1, c.BatchSize);
        var marginal = scores.narrow(1, 1, features) - scores.narrow(1, 0, features); // [P, M, B]: gain of the k-th added feature
        // Credit each gain to the feature added at that step.
        var phi = torch.zeros(c.BatchSize, features, dtype: scores.dtype, device: scores.device);
        for (int p = 0; p < Permutations; p++)
            phi.index_add_(1, orders[p].to(scores.device), marginal[p].t(), 1);
        phi /= Permutations;
        return mask.Spread(phi, c.Inputs.shape);
    }
}
