using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Permutation feature importance (Breiman, 2001; Fisher et al., 2019; Captum's FeaturePermutation):
/// for each feature of a mask, its values are shuffled across the batch (one random permutation
/// of the examples per feature, never the identity) and each example's attribution is the drop of
/// its target score, f(x) − f(x with that feature taken from another example). Needs a batch of at
/// least 2 and one mask shared by the batch (a feature must be the same elements in every example).
/// </summary>
public sealed class FeaturePermutation(AttributionModel model, Tensor? featureMask = null, int seed = 0, AttributionSettings? settings = null)
    : PerturbationAttribution(model, settings)
{
    public Tensor? FeatureMask { get; } = featureMask;
    public int Seed { get; } = seed;
    public override string Name => "FeaturePermutation";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["seed"] = Seed };
    protected override bool UsesBaselines => false; // the other examples are the reference

    protected override AttributionOutput Compute(AttributionContext c)
    {
        if (c.BatchSize < 2)
            throw new ArgumentException($"FeaturePermutation shuffles features across the batch: it needs at least 2 examples; got {c.BatchSize}.", "inputs");
        var mask = ResolveMask(c, FeatureMask);
        if (mask.PerExample)
            throw new ArgumentException("FeaturePermutation needs one feature mask for the whole batch (a feature moves between examples, so it must be the same elements in each); got one mask per example.", "featureMask");
        long features = mask.Features, b = c.BatchSize;
        // One permutation of the examples per feature, redrawn while it is the identity (Captum does the same).
        using var g = new torch.Generator((ulong)Seed);
        using var identity = torch.arange(b, dtype: ScalarType.Int64);
        var permutations = torch.stack(Enumerable.Range(0, (int)features).Select(_ =>
        {
            var p = torch.randperm(b, generator: g);
            while (p.equal(identity).all().item<bool>()) p = torch.randperm(b, generator: g);
            return p;
        }).ToArray()).to(c.Inputs.device); // [M, B]
        var scores = PerturbedScores(c, features, (start, n) =>
        {
            var (example, feature) = RowIndices(c, start, n);
            var source = permutations.flatten().index_select(0, feature * b + example); // the example feature m comes from
            var keep = 1 - nn.functional.one_hot(feature, features);
            return Compose(c.Inputs.index_select(0, example), c.Inputs.index_select(0, source), keep, mask, example);
        });
        var drop = c.Target.Score(c.OutputAtInputs).unsqueeze(0) - scores; // [M, B]
        return new(mask.Spread(drop.t(), c.Inputs.shape));
    }
}
