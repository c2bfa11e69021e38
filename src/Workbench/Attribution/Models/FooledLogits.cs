using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Attribution;

/// <summary>
/// The "fooled gradients" construction of seed 001 (Srinivas &amp; Fleuret, ICLR 2021): f̃_i(x) =
/// f_i(x) + g(x) for every class i. Softmax is invariant to adding the same g(x) to all logits, so
/// predictions are unchanged (to rounding) while every logit gradient becomes ∇f_i + ∇g: arbitrary.
/// </summary>
public sealed class FooledLogits : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> model;
    readonly Func<Tensor, Tensor> _g;

    /// <param name="model">The trained classifier f.</param>
    /// <param name="g">Any per-example scalar function of the input, [B, ...] -> [B].</param>
    public FooledLogits(nn.Module<Tensor, Tensor> model, Func<Tensor, Tensor> g, string name = "fooled") : base(name)
    {
        this.model = model;
        _g = g;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var logits = model.call(x);
        var shift = _g(x);
        if (shift.dim() != 1 || shift.shape[0] != x.shape[0])
            throw new InvalidOperationException($"g must map a batch of {x.shape[0]} inputs to a vector [{x.shape[0]}]; it returned [{string.Join(", ", shift.shape)}].");
        return logits + shift.unsqueeze(1);
    }

    /// <summary>g(x) = amplitude · ⟨pattern, x⟩: every logit gradient becomes ∇f_i + amplitude · pattern.</summary>
    public static Func<Tensor, Tensor> LinearPattern(Tensor pattern, double amplitude) =>
        x => (x.flatten(1) * pattern.flatten().to_type(x.dtype).to(x.device)).sum(1) * amplitude;

    /// <summary>g(x) = amplitude · Σ sin(frequency · ⟨pattern, x⟩): a large-amplitude smooth function with structured gradients.</summary>
    public static Func<Tensor, Tensor> SinePattern(Tensor pattern, double amplitude, double frequency = 1.0) =>
        x => torch.sin((x.flatten(1) * pattern.flatten().to_type(x.dtype).to(x.device)).sum(1) * frequency) * amplitude;
}
