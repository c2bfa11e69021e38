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

    /// <summary>
    /// Cheaper than replacing the ReLU's backward: the positive part of the gradient arriving at the
    /// ReLU's output, then the ReLU's own backward, which zeroes it where the input was ≤ 0 — the
    /// same rule in one extra operation instead of three.
    /// </summary>
    protected override Tensor Hook(Tensor input, Tensor output) => ModifiedGradient.Replace(output, output, (i, o, g) => g.clamp_min(0));
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
    /// <summary>The gradient the rule passes back through a ReLU, given its input and the gradient at its output.</summary>
    protected abstract Tensor ReluBackward(Tensor input, Tensor gradOutput);
    protected internal override bool HandlesSeveralInputs => true;

    /// <summary>The forward hook on each ReLU: by default its backward pass replaced by <see cref="ReluBackward"/>.</summary>
    protected virtual Tensor Hook(Tensor input, Tensor output) => ModifiedGradient.Replace(input, output, (i, o, g) => ReluBackward(i, g));

    protected override AttributionOutput Compute(AttributionContext c)
    {
        var module = RequireModule();
        var relus = HookScope.Leaves(module, m => m is TorchSharp.Modules.ReLU).ToList();
        if (relus.Count == 0)
            throw new InvalidOperationException($"{Name} modifies the backward pass of ReLU modules, and '{Model.Name}' has none (functional relu calls cannot be hooked).");
        using var hooks = new HookScope();
        foreach (var (name, relu) in relus)
            hooks.Add(name, relu, Hook);
        ActiveHooks = hooks;
        try { return new(InputGradient(c)); }
        finally { ActiveHooks = null; }
    }
}
