using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The sparsified gradient of Levine et al. (2019, "Certifiably robust interpretation via Rényi
/// differential privacy"), wrapped in <see cref="NoiseTunnel"/> it gives sparsified SmoothGrad: the
/// top <see cref="Fraction"/> of |∂f/∂x| per example becomes 1, the rest 0.
/// </summary>
public sealed class SparseGradient(AttributionModel model, double fraction = 0.1, AttributionSettings? settings = null) : AttributionMethod(model, settings)
{
    public double Fraction { get; } = fraction is > 0 and <= 1 ? fraction : throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "fraction must be in (0, 1].");
    public override string Name => "SparseGradient";
    protected internal override bool HandlesSeveralInputs => true;
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["fraction"] = Fraction };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var g = InputGradient(c).abs().flatten(1);
        long k = Math.Max(1, (long)Math.Round(Fraction * g.shape[1]));
        var top = g.topk((int)k, 1).indexes;
        return new(torch.zeros_like(g).scatter_(1, top, torch.ones(top.shape, g.dtype)).reshape(c.Inputs.shape));
    }
}
