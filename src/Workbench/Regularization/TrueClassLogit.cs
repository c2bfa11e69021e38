using static TorchSharp.torch;

namespace Workbench.Regularization;

/// <summary>f_y(x): the raw logit of each example's true class (seed 001 reads it as log p(x|y) up to a constant).</summary>
public static class TrueClassLogit
{
    /// <summary>logits [B, C], targets int64 [B] -> [B].</summary>
    public static Tensor Of(Tensor logits, Tensor targets)
    {
        if (logits.dim() != 2) throw new ArgumentException($"logits must have shape [batch, classes]; got [{string.Join(", ", logits.shape)}].", nameof(logits));
        if (targets.dim() != 1 || targets.shape[0] != logits.shape[0])
            throw new ArgumentException($"targets must have shape [{logits.shape[0]}]; got [{string.Join(", ", targets.shape)}].", nameof(targets));
        return logits.gather(1, targets.unsqueeze(1)).squeeze(1);
    }

    /// <summary>d f_y / dx for every example, [B, ...] like <paramref name="inputs"/>; inputs must require grad and
    /// <paramref name="logits"/> must come from them. With <paramref name="createGraph"/> the result is differentiable (double backprop).</summary>
    public static Tensor InputGradient(Tensor logits, Tensor targets, Tensor inputs, bool createGraph)
    {
        if (!inputs.requires_grad)
            throw new ArgumentException("inputs must require grad (the penalty's RequiresInputGradient makes the trainer set it).", nameof(inputs));
        // Each example's logit depends only on its own input, so the gradient of the sum is the per-example gradient.
        var fy = Of(logits, targets).sum();
        return autograd.grad(new[] { fy }, new[] { inputs }, create_graph: createGraph, retain_graph: true)[0];
    }

    /// <summary>1/2 ||g||^2 per example for a batch of gradients [B, ...] -> [B].</summary>
    public static Tensor HalfSquaredNorm(Tensor gradients) => gradients.flatten(1).pow(2).sum(1) * 0.5;
}
