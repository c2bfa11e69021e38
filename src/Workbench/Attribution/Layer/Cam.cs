using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Class Activation Mapping (Zhou et al., 2016), for architectures whose feature maps A_k go through
/// global average pooling into one linear layer W: map_c = Σ_k W[c, k] A_k, upsampled to the input.
/// Needs class targets.
/// </summary>
public sealed class Cam(AttributionModel model, string featureLayer, string linearLayer, AttributionSettings? settings = null)
    : AttributionMethod(model, settings)
{
    public string FeatureLayer { get; } = featureLayer;
    public string LinearLayer { get; } = linearLayer;
    public override string Name => "Cam";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["feature_layer"] = FeatureLayer, ["linear_layer"] = LinearLayer };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var module = RequireModule();
        if (HookScope.Layer(module, LinearLayer) is not Linear linear)
            throw new ArgumentException($"CAM needs '{LinearLayer}' to be the linear layer after global pooling; it is not a Linear layer.", "linearLayer");
        var classes = c.Target.Classes ?? throw new NotSupportedException("CAM explains classes: use a class target, not a selector.");
        var maps = new List<Tensor>();
        ForEachChunk(c.BatchSize, (s, n) =>
        {
            Tensor? kept = null;
            using (var hooks = new HookScope())
            {
                hooks.Add(FeatureLayer, HookScope.Layer(module, FeatureLayer), (input, output) => { kept = output.detach().clone(); return output; });
                using var noGrad = torch.no_grad();
                Model.Forward(c.Inputs.narrow(0, s, n));
                hooks.Audit(Name);
            }
            if (kept!.dim() != 4 || kept.shape[1] != linear.weight!.shape[1])
                throw new ArgumentException($"CAM needs '{FeatureLayer}' to output [batch, {linear.weight!.shape[1]}, h, w] (the linear layer's inputs after pooling); it output [{string.Join(", ", kept.shape)}].", "featureLayer");
            using var cls = torch.tensor(classes.Skip((int)s).Take((int)n).ToArray(), device: kept.device);
            var weights = linear.weight!.detach().index_select(0, cls).to_type(kept.dtype); // [n, K]
            var cam = (weights.unsqueeze(-1).unsqueeze(-1) * kept).sum(1, keepdim: true);
            maps.Add(GradCam.Upsample(cam, c.Inputs).MoveToOuterDisposeScope());
        });
        return new(torch.cat(maps.ToArray()));
    }
}
