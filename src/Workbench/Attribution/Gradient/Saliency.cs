using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Saliency (Simonyan et al., 2014): the gradient of the target score w.r.t. the input, absolute
/// by default (the original definition) or signed.
/// </summary>
public sealed class Saliency(AttributionModel model, bool absolute = true, AttributionSettings? settings = null) : AttributionMethod(model, settings)
{
    public bool Absolute { get; } = absolute;
    protected internal override bool HandlesSeveralInputs => true;
    public override string Name => Absolute ? "Saliency" : "Gradient";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["absolute"] = Absolute };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var grad = InputGradient(c);
        return new(Absolute ? grad.abs() : grad);
    }
}
