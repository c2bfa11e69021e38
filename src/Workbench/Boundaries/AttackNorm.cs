using Workbench.Attribution;
using static TorchSharp.torch;

namespace Workbench.Boundaries;

/// <summary>The norm ball of a gradient attack (Captum's "Linf" and "L2").</summary>
public enum AttackNorm { LInf, L2 }

/// <summary>Pieces FGSM and PGD share: the loss gradient, the norm-ascent step and the projection onto the ball.</summary>
static class AttackSteps
{
    public static void CheckCommon(Tensor inputs, Tensor labels, double epsilon, double lower, double upper)
    {
        if (inputs.dim() < 2 || inputs.shape[0] == 0)
            throw new ArgumentException($"inputs must be a non-empty batch [N, ...]; got [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        if (labels.dim() != 1 || labels.shape[0] != inputs.shape[0])
            throw new ArgumentException($"labels must be [N] = [{inputs.shape[0]}]; got [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (!(epsilon >= 0 && double.IsFinite(epsilon))) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"epsilon must be a finite number >= 0; got {epsilon}.");
        if (!(lower < upper)) throw new ArgumentOutOfRangeException(nameof(lower), lower, $"lower must be < upper = {upper}; got {lower}.");
    }

    /// <summary>∇ₓ of the summed cross-entropy of the model at x (per-example gradients: examples are independent).</summary>
    public static Tensor LossGradient(AttributionModel model, Tensor x, Tensor labels)
    {
        var leaf = x.detach().requires_grad_(true);
        var loss = nn.functional.cross_entropy(model.Forward(leaf), labels, reduction: nn.Reduction.Sum);
        return autograd.grad(new[] { loss }, new[] { leaf })[0];
    }

    /// <summary>The steepest-ascent direction of unit norm: sign(g) for L∞, g/‖g‖₂ per example for L2 (0 where g = 0).</summary>
    public static Tensor Direction(Tensor gradient, AttackNorm norm) => norm switch
    {
        AttackNorm.LInf => gradient.sign(),
        AttackNorm.L2 => gradient / PerExampleNorm(gradient).clamp_min(1e-12),
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "norm must be LInf or L2."),
    };

    /// <summary>Projects δ onto the ε-ball of the norm.</summary>
    public static Tensor ProjectToBall(Tensor delta, double epsilon, AttackNorm norm) => norm switch
    {
        AttackNorm.LInf => delta.clamp(-epsilon, epsilon),
        AttackNorm.L2 => delta * (epsilon / PerExampleNorm(delta).clamp_min(1e-12)).clamp_max(1.0),
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "norm must be LInf or L2."),
    };

    /// <summary>‖v_i‖₂ per example, shaped to broadcast against v ([N, 1, ..., 1]).</summary>
    public static Tensor PerExampleNorm(Tensor v) =>
        v.flatten(1).norm(1, keepdim: true).reshape(new[] { v.shape[0] }.Concat(Enumerable.Repeat(1L, (int)v.dim() - 1)).ToArray());
}
