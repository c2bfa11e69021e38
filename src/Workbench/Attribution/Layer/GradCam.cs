using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Grad-CAM (Selvaraju et al., 2017) on any named layer: weights α_k = spatial mean of ∂y/∂A_k,
/// map = ReLU(Σ_k α_k A_k), upsampled (bilinear) to the input and repeated over its channels.
/// <see cref="Counterfactual"/> uses −∂y/∂A_k: the regions whose removal would raise the score
/// (the paper's counterfactual explanations).
/// </summary>
public sealed class GradCam(AttributionModel model, string layer, bool counterfactual = false, bool relu = true, AttributionSettings? settings = null)
    : CamAttribution(model, layer, relu, settings)
{
    public bool Counterfactual { get; } = counterfactual;
    public override string Name => Counterfactual ? "CounterfactualGradCam" : "GradCam";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        var (activation, grad) = ActivationAndGradient(c, first, n);
        var weights = (Counterfactual ? -grad : grad).mean(new long[] { 2, 3 });
        return Weighted(weights, activation);
    }

    /// <summary>Bilinear upsampling of [n, 1, h, w] maps to the input's size, repeated over its channels.</summary>
    internal static Tensor Upsample(Tensor cam, Tensor inputs)
    {
        if (inputs.dim() != 4) throw new ArgumentException($"layer maps need image inputs [batch, channels, height, width]; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        var up = nn.functional.interpolate(cam, new long[] { inputs.shape[2], inputs.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: false);
        return up.expand(-1, inputs.shape[1], -1, -1).contiguous();
    }

    /// <summary>
    /// The layer's activation A [n, ...] and ∂score/∂A for rows <paramref name="rows"/>. The hook
    /// keeps an alias of the layer's output and hands an alias of that alias downstream: containers
    /// such as nn.Sequential dispose the tensors they pass along, and the gradient is taken w.r.t. the kept one.
    /// </summary>
    internal static (Tensor Activation, Tensor Gradient) LayerActivationAndGradient(AttributionMethod method, nn.Module module,
        string layer, Tensor rows, ResolvedTarget target, long firstRow)
    {
        var hooked = HookScope.Layer(module, layer);
        Tensor? kept = null;
        using var hooks = new HookScope();
        hooks.Add(layer, hooked, (input, output) => { kept = output.alias(); return kept.alias(); });
        using var enable = torch.enable_grad();
        var x = rows.detach().requires_grad_(true);
        var output = method.Model.Forward(x);
        hooks.Audit(method.Name);
        var score = target.Score(output, firstRow).sum();
        var grad = method.Model.Gradient(score, kept!, $"layer '{layer}'");
        return (kept!.detach(), grad);
    }
}
