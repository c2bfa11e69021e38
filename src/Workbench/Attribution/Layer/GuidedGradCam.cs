using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>Guided Grad-CAM (Selvaraju et al., 2017): guided backpropagation ⊙ the upsampled Grad-CAM map — fine detail inside the class-discriminative region.</summary>
public sealed class GuidedGradCam(AttributionModel model, string layer, AttributionSettings? settings = null) : AttributionMethod(model, settings)
{
    public string Layer { get; } = layer;
    public override string Name => "GuidedGradCam";
    public override IReadOnlyDictionary<string, object> Parameters => new Dictionary<string, object> { ["layer"] = Layer };

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var target = Target.Bound(c.Target, "the guided Grad-CAM target");
        using var guided = new GuidedBackprop(Model, Settings).Attribute(c.Inputs, target);
        using var cam = new GradCam(Model, Layer, settings: Settings).Attribute(c.Inputs, target);
        return new(guided.Map * cam.Map);
    }
}
