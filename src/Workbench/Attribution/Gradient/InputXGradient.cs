namespace Workbench.Attribution;

/// <summary>Input × Gradient (Shrikumar et al., 2016): x ⊙ ∂f/∂x; equals IG with a zero baseline for linear models.</summary>
public sealed class InputXGradient(AttributionModel model, AttributionSettings? settings = null) : AttributionMethod(model, settings)
{
    public override string Name => "InputXGradient";
    protected internal override bool HandlesSeveralInputs => true;

    protected override AttributionOutput Compute(AttributionContext c) => new(c.Inputs * InputGradient(c));
}
