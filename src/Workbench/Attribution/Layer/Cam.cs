using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Class Activation Mapping (Zhou et al., 2016), for architectures whose feature maps A_k go through
/// global average pooling into one linear layer W: map_c = Σ_k W[c, k] A_k (no ReLU), upsampled to
/// the input. Needs class targets.
/// </summary>
public sealed class Cam(AttributionModel model, string featureLayer, string linearLayer, AttributionSettings? settings = null)
    : CamAttribution(model, featureLayer, relu: false, settings)
{
    public string FeatureLayer => Layer;
    public string LinearLayer { get; } = linearLayer;
    public override string Name => "Cam";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["feature_layer"] = FeatureLayer, ["linear_layer"] = LinearLayer };

    protected override Tensor ChannelTerms(AttributionContext c, long first, long n)
    {
        if (HookScope.Layer(RequireModule(), LinearLayer) is not Linear linear)
            throw new ArgumentException($"CAM needs '{LinearLayer}' to be the linear layer after global pooling; it is not a Linear layer.", "linearLayer");
        var classes = c.Target.Classes ?? throw new NotSupportedException("CAM explains classes: use a class target, not a selector.");
        var kept = Activation(c, first, n);
        if (kept.shape[1] != linear.weight!.shape[1])
            throw new ArgumentException($"CAM needs '{FeatureLayer}' to output [batch, {linear.weight!.shape[1]}, h, w] (the linear layer's inputs after pooling); it outputs {Target.RowShape(kept)}.", "featureLayer");
        using var cls = torch.tensor(classes.Skip((int)first).Take((int)n).ToArray(), device: kept.device);
        var weights = linear.weight!.detach().index_select(0, cls).to_type(kept.dtype); // [n, K]
        return Weighted(weights, kept);
    }
}
