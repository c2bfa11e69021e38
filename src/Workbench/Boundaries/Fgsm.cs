using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Boundaries;

/// <summary>
/// The fast gradient sign method (Goodfellow et al., 2015): x' = clip(x + ε·sign(∇ₓ CE(f(x), y))), the
/// untargeted form of captum.robust.FGSM (cross-entropy loss, bounds −∞/+∞ unless given). L2 steps along
/// ∇/‖∇‖₂ instead (the "fast gradient method"; Captum's FGSM is L∞ only). The HFC paper attacks in [0, 1].
/// </summary>
public static class Fgsm
{
    public static Tensor Perturb(AttributionModel model, Tensor inputs, Tensor labels, double epsilon, AttackNorm norm = AttackNorm.LInf,
        double lower = double.NegativeInfinity, double upper = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(model);
        AttackSteps.CheckCommon(inputs, labels, epsilon, lower, upper);
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        var gradient = AttackSteps.LossGradient(model, inputs, labels);
        var adversarial = (inputs.detach() + epsilon * AttackSteps.Direction(gradient, norm)).clamp(lower, upper);
        return adversarial.detach().MoveToOuterDisposeScope();
    }
}
