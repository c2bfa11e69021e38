using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// Guided backpropagation (Springenberg et al., 2015): through every ReLU, pass back only positive
/// gradients at positive inputs. Sanity checks (Adebayo et al., 2018) found it close to an edge
/// detector, insensitive to the model's weights.
/// </summary>
public sealed class GuidedBackprop(AttributionModel model, AttributionSettings? settings = null) : ReluBackpropAttribution(model, settings)
{
    public override string Name => "GuidedBackprop";
    protected override Tensor ReluBackward(Tensor input, Tensor gradOutput) => gradOutput.clamp_min(0).masked_fill_(input.le(0), 0);
}

/// <summary>Deconvolution (Zeiler &amp; Fergus, 2014): through every ReLU, pass back the positive part of the gradient, ignoring the forward input.</summary>
public sealed class Deconvolution(AttributionModel model, AttributionSettings? settings = null) : ReluBackpropAttribution(model, settings)
{
    public override string Name => "Deconvolution";
    protected override Tensor ReluBackward(Tensor input, Tensor gradOutput) => gradOutput.clamp_min(0);
}

/// <summary>The family of methods that replace the ReLU backward pass (Captum's ModifiedReluGradientAttribution).</summary>
public abstract class ReluBackpropAttribution(AttributionModel model, AttributionSettings? settings) : AttributionMethod(model, settings)
{
    protected abstract Tensor ReluBackward(Tensor input, Tensor gradOutput);

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var module = RequireModule();
        var relus = HookScope.Leaves(module, m => m is TorchSharp.Modules.ReLU).ToList();
        if (relus.Count == 0)
            throw new InvalidOperationException($"{Name} modifies the backward pass of ReLU modules, and '{Model.Name}' has none (functional relu calls cannot be hooked).");
        using var hooks = new HookScope();
        foreach (var (name, relu) in relus)
            hooks.Add(name, relu, (input, output) => ModifiedGradient.Replace(input, output, (i, o, g) => ReluBackward(i, g)));
        ActiveHooks = hooks;
        try { return new(InputGradient(c)); }
        finally { ActiveHooks = null; }
    }
}
