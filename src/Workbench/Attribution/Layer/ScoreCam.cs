using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Score-CAM (Wang et al., 2020), as pytorch-grad-cam computes it: each feature map A_k is upsampled
/// (bilinear, corners aligned) to the input, scaled to [0, 1] (min-max, +1e-8), and used as a mask
/// of the input; w = softmax over k of the target score of x ⊙ M_k; map = ReLU(Σ_k w_k A_k). No
/// gradients. K masked copies per example, evaluated in chunks of the memory budget.
/// </summary>
public sealed class ScoreCam(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    public override string Name => "ScoreCam";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        if (c.Inputs.dim() != 4) throw new ArgumentException($"Score-CAM masks image inputs [batch, channels, height, width]; got [{string.Join(", ", c.Inputs.shape)}].", "inputs");
        var a = Activation(c, first, n);
        long k = a.shape[1];
        var x = c.Inputs.narrow(0, first, n);
        using var noGrad = torch.no_grad();
        var up = nn.functional.interpolate(a, new[] { x.shape[2], x.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: true);
        var flat = up.flatten(2);
        var min = flat.min(2).values.unsqueeze(-1).unsqueeze(-1);
        var max = flat.max(2).values.unsqueeze(-1).unsqueeze(-1);
        var masks = (up - min) / (max - min + 1e-8); // [n, K, H, W]
        var scores = ExpandedScores(c, first, n, k, (example, channel) =>
            x.index_select(0, example) * masks.flatten(0, 1).index_select(0, example * k + channel).unsqueeze(1));
        return Weighted(nn.functional.softmax(scores, 1), a);
    }
}

/// <summary>
/// Ablation-CAM (Desai &amp; Ramaswamy, 2020): w_k = (y − y_k) / y, the relative drop of the target
/// score y when feature map k of the layer is set to zero (a forward hook); map = ReLU(Σ_k w_k A_k).
/// No gradients. K ablated passes per example, in chunks of the memory budget. y near 0 makes the
/// weights large, as in the paper's definition.
/// </summary>
public sealed class AblationCam(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    public override string Name => "AblationCam";

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        var a = Activation(c, first, n);
        long k = a.shape[1];
        var x = c.Inputs.narrow(0, first, n);
        var y = c.Target.Score(c.OutputAtInputs).narrow(0, first, n).unsqueeze(1); // [n, 1]
        Tensor? keep = null; // per row of the current pass: 0 for the ablated channel
        using var hooks = new HookScope();
        hooks.Add(Layer, HookScope.Layer(RequireModule(), Layer), (input, output) => output * keep!);
        ActiveHooks = hooks;
        try
        {
            var ablated = ExpandedScores(c, first, n, k, (example, channel) =>
            {
                keep = (1 - nn.functional.one_hot(channel, k)).to_type(a.dtype).reshape(channel.shape[0], k, 1, 1);
                return x.index_select(0, example);
            }, hooked: true);
            return Weighted((y - ablated) / y, a);
        }
        finally { ActiveHooks = null; }
    }
}

/// <summary>
/// Eigen-CAM (Muhammad &amp; Yeasin, 2020): the projection of the layer's feature maps on their first
/// principal component (<see cref="CamAttribution.Projection"/>: positions × channels, centred per
/// channel, as pytorch-grad-cam's get_2d_projection; sign agreeing with the summed maps).
/// Class-agnostic: the target is not used.
/// </summary>
public sealed class EigenCam(AttributionModel model, string layer, bool relu = true, AttributionSettings? settings = null) : CamAttribution(model, layer, relu, settings)
{
    public override string Name => "EigenCam";

    protected override bool Project => true;

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n) => Activation(c, first, n);
}
