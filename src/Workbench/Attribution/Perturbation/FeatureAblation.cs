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

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (mask, features) = ResolveMask(c, FeatureMask);
        var baseline = BaselinePerExample(c);
        var scores = PerturbedScores(c, features, (start, n) =>
        {
            var (example, feature) = RowIndices(c, start, n);
            var keep = 1 - nn.functional.one_hot(feature, features); // [n, M]: all but the ablated feature
            return Compose(c.Inputs.index_select(0, example), baseline.index_select(0, example), keep, mask);
        });
        var drop = c.Target.Score(c.OutputAtInputs).unsqueeze(0) - scores; // [M, B]
        var perElement = drop.t().index_select(1, mask.flatten()).reshape(c.Inputs.shape);
        return new(perElement);
    }
}
