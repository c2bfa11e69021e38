using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Guided Grad-CAM (Selvaraju et al., 2017; Captum's GuidedGradCam): guided backpropagation ⊙ the
/// Grad-CAM map (ReLU'd, at the layer's resolution) brought to the input by
/// <see cref="Interpolation"/> — nearest by default, as Captum; bilinear gives the smooth
/// pytorch-grad-cam upsampling of <see cref="GradCam"/> — fine detail inside the class-discriminative region.
/// </summary>
public sealed class GuidedGradCam(AttributionModel model, string layer, LayerInterpolation interpolation = LayerInterpolation.Nearest, AttributionSettings? settings = null)
    : AttributionMethod(model, settings)
{
    public string Layer { get; } = layer;
    public LayerInterpolation Interpolation { get; } = interpolation;
    public override string Name => "GuidedGradCam";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["layer"] = Layer, ["interpolation"] = Interpolation.ToString() };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        if (c.Inputs.dim() != 4) throw new ArgumentException($"GuidedGradCam needs image inputs [batch, channels, height, width]; got [{string.Join(", ", c.Inputs.shape)}].", "inputs");
        var target = Target.Bound(c.Target, "the guided Grad-CAM target");
        using var guided = new GuidedBackprop(Model, Settings).Attribute(c.Inputs, target);
        using var cam = new LayerGradCam(Model, Layer, relu: true, settings: Settings).Attribute(c.Inputs, target);
        if (cam.Map.dim() != 4)
            throw new ArgumentException($"GuidedGradCam needs layer '{Layer}' to output feature maps [batch, channels, height, width]; its Grad-CAM map is [{string.Join(", ", cam.Map.shape)}].", "layer");
        return new(guided.Map * LayerAttribution.Interpolate(cam.Map, c.Inputs.shape[2], c.Inputs.shape[3], Interpolation));
    }
}
