using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The model being explained: any forward function, optionally with the module behind it (needed
/// by methods that hook layers and to switch training mode off). Counts passes for the result's
/// metadata and the cost table.
/// </summary>
public sealed class AttributionModel
{
    readonly Func<Tensor, Tensor> _forward;

    public nn.Module<Tensor, Tensor>? Module { get; }
    public string Name { get; }
    public long ForwardPasses { get; private set; }
    public long ExamplesEvaluated { get; private set; }
    public long BackwardPasses { get; private set; }

    public AttributionModel(nn.Module<Tensor, Tensor> module)
    {
        Module = module ?? throw new ArgumentNullException(nameof(module));
        _forward = module.call; // call(), not forward(): forward hooks must fire
        Name = module.GetName();
    }

    public AttributionModel(Func<Tensor, Tensor> forward, string name = "function")
    {
        _forward = forward ?? throw new ArgumentNullException(nameof(forward));
        Name = name;
    }

    public static implicit operator AttributionModel(nn.Module<Tensor, Tensor> module) => new(module);
    public static implicit operator AttributionModel(Func<Tensor, Tensor> forward) => new(forward);

    public Tensor Forward(Tensor inputs)
    {
        ForwardPasses++;
        ExamplesEvaluated += inputs.shape[0];
        return _forward(inputs);
    }

    /// <summary>d Σ score / d inputs, counted as one backward pass.</summary>
    public Tensor Gradient(Tensor score, Tensor inputs)
    {
        BackwardPasses++;
        return autograd.grad(new[] { score }, new[] { inputs })[0];
    }

    internal (long Forward, long Examples, long Backward) Counters => (ForwardPasses, ExamplesEvaluated, BackwardPasses);
}
