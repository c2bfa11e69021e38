using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Integrated Gradients (Sundararajan et al., 2017): (x − x') ⊙ ∫₀¹ ∂f/∂x (x' + α(x − x')) dα,
/// approximated by <see cref="Rule"/> with <see cref="Steps"/> points. Completeness: the map sums to
/// F(x) − F(x'); the convergence delta reports the gap per example. Baselines: none (zeros), one
/// [..] or [1, ..], one per example [B, ..], or K baselines [K, ..] (K ≠ B) whose maps are averaged.
/// The steps × examples × baselines rows are evaluated in chunks (memory bounded at any step count).
/// With <see cref="MultiplyByInputs"/> false the map is the path-averaged gradient alone, without
/// × (x − x') (Captum's "global" attribution, multiply_by_inputs=False); completeness, and so the
/// convergence delta, then does not apply (null).
/// </summary>
public sealed class IntegratedGradients(AttributionModel model, int steps = 50, IntegrationRule rule = IntegrationRule.GaussLegendre,
    AttributionSettings? settings = null, bool multiplyByInputs = true) : AttributionMethod(model, settings)
{
    public bool MultiplyByInputs { get; } = multiplyByInputs;
    public int Steps { get; } = Checked(steps, rule);
    public IntegrationRule Rule { get; } = rule;

    static int Checked(int steps, IntegrationRule rule)
    {
        Quadrature.Check(rule, steps, nameof(steps));
        return steps;
    }
    public override string Name => "IntegratedGradients";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["steps"] = Steps, ["rule"] = Rule.ToString(), ["multiply_by_inputs"] = MultiplyByInputs };
    protected override bool UsesBaselines => true;

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var (alphas, weights) = Quadrature.Points(Rule, Steps);
        // One baseline per example, or a set of K baselines averaged.
        bool perExample = c.Baselines is null || BaselineSet(c).shape[0] is var given && (given == 1 || given == c.BatchSize);
        return perExample
            ? Integrate(c, BaselinePerExample(c), alphas, weights)
            : AverageOverBaselines(c, BaselineSet(c), baseline => Integrate(c, baseline, alphas, weights));
    }

    /// <summary>IG against one baseline per example; the delta is Σ map − (F(x) − F(x')).</summary>
    AttributionOutput Integrate(AttributionContext c, Tensor baseline, double[] alphas, double[] weights)
    {
        long b = c.BatchSize, rows = alphas.Length * b;
        var diff = c.Inputs - baseline;
        var gradSum = torch.zeros_like(c.Inputs);
        using var alphaT = torch.tensor(alphas, c.Inputs.dtype, c.Inputs.device);
        using var weightT = torch.tensor(weights, c.Inputs.dtype, c.Inputs.device);
        var bcast = new[] { -1L }.Concat(Enumerable.Repeat(1L, c.ExampleShape.Length)).ToArray();
        ForEachChunk(rows, (start, n) =>
        {
            // Row r = step (r / B), example (r mod B): the target's row convention.
            var (example, step) = RowIndices(c, start, n);
            var a = alphaT.index_select(0, step).reshape(bcast);
            var w = weightT.index_select(0, step).reshape(bcast);
            var x = baseline.index_select(0, example) + a * diff.index_select(0, example);
            var g = TargetGradient(x, c.Target, start);
            gradSum.index_add_(0, example, g * w, 1);
        });
        if (!MultiplyByInputs) return new(gradSum);
        var map = diff * gradSum;
        using var noGrad = torch.no_grad();
        var fx = c.Target.Score(c.OutputAtInputs);
        var fb = c.Target.Score(Scores(baseline));
        return new(map, map.flatten(1).sum(1) - (fx - fb));
    }
}
