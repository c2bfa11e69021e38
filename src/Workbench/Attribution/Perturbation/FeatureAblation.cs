using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Feature ablation: replace one feature (a group of elements given by a feature mask; default:
/// every element) by the baseline at a time; its attribution is the drop of the target score.
/// </summary>
public sealed class FeatureAblation(AttributionModel model, Tensor? featureMask = null, AttributionSettings? settings = null) : PerturbationAttribution(model, settings)
{
    public Tensor? FeatureMask { get; } = featureMask;
    public override string Name => "FeatureAblation";
    protected internal override bool HandlesSeveralInputs => true;

    protected override AttributionOutput Compute(AttributionContext c) => new(PerFeatureCount(c, FeatureMask, Ablate));

    Tensor Ablate(AttributionContext c, BoundFeatureMask mask)
    {
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, mask.Features, (start, n) =>
        {
            var (example, feature) = RowIndices(c, start, n);
            var keep = 1 - nn.functional.one_hot(feature, mask.Features); // [n, M]: all but the ablated feature
            return Compose(c.Inputs.index_select(0, example), baseline.index_select(0, example), keep, mask, example);
        });
        var drop = c.Target.Score(c.OutputAtInputs).unsqueeze(0) - scores; // [M, B]
        return mask.Spread(drop.t(), c.Inputs.shape);
    }
}
