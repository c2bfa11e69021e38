using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Boundaries;

/// <summary>Options of projected gradient descent; the start is random (seeded) unless <see cref="RandomStart"/> is false, as in Captum's PGD.</summary>
public sealed record PgdOptions
{
    public double Epsilon { get; init; } = 0.3;
    public double StepSize { get; init; } = 0.01;
    public int Steps { get; init; } = 40;
    public AttackNorm Norm { get; init; } = AttackNorm.LInf;
    public bool RandomStart { get; init; } = true;
    public int Seed { get; init; }
    public double Lower { get; init; } = double.NegativeInfinity;
    public double Upper { get; init; } = double.PositiveInfinity;

    public PgdOptions Validate()
    {
        if (!(StepSize > 0 && double.IsFinite(StepSize))) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, $"StepSize must be a finite number > 0; got {StepSize}.");
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, $"Steps must be >= 1; got {Steps}.");
        return this;
    }
}

/// <summary>
/// Projected gradient descent (Madry et al., 2018), untargeted, as captum.robust.PGD: from a random point of
/// the ε-ball (uniform in the L∞ box; for L2 a uniform point of the ball), repeat x ← Π_ball(x + α·dir(∇ₓ CE)),
/// clipped to [lower, upper], with dir = sign for L∞ and ∇/‖∇‖₂ for L2.
/// </summary>
public static class Pgd
{
    public static Tensor Perturb(AttributionModel model, Tensor inputs, Tensor labels, PgdOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = (options ?? new PgdOptions()).Validate();
        AttackSteps.CheckCommon(inputs, labels, options.Epsilon, options.Lower, options.Upper);
        using var mode = model.EvalMode();
        using var outer = torch.NewDisposeScope();
        var x0 = inputs.detach();
        var delta = options.RandomStart ? RandomStart(x0, options) : torch.zeros_like(x0);
        var x = (x0 + delta).clamp(options.Lower, options.Upper);
        for (int step = 0; step < options.Steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var gradient = AttackSteps.LossGradient(model, x, labels);
            var moved = x + options.StepSize * AttackSteps.Direction(gradient, options.Norm);
            var next = (x0 + AttackSteps.ProjectToBall(moved - x0, options.Epsilon, options.Norm)).clamp(options.Lower, options.Upper).detach();
            var previous = x;
            x = next.MoveToOuterDisposeScope();
            previous.Dispose(); // one iterate alive at a time: memory stays flat over the steps
        }
        return x.MoveToOuterDisposeScope();
    }

    static Tensor RandomStart(Tensor x0, PgdOptions options)
    {
        using var g = new torch.Generator((ulong)options.Seed);
        if (options.Norm == AttackNorm.LInf)
            return (torch.rand(x0.shape, generator: g, dtype: x0.dtype, device: x0.device) * 2 - 1) * options.Epsilon;
        // Uniform in the L2 ball: a Gaussian direction, radius ε·U^(1/d).
        var direction = torch.randn(x0.shape, generator: g, dtype: x0.dtype, device: x0.device);
        direction = direction / AttackSteps.PerExampleNorm(direction).clamp_min(1e-12);
        long d = x0.numel() / x0.shape[0];
        var radius = torch.rand(new[] { x0.shape[0] }, generator: g, dtype: x0.dtype, device: x0.device).pow(1.0 / d) * options.Epsilon;
        return direction * radius.reshape(new[] { x0.shape[0] }.Concat(Enumerable.Repeat(1L, (int)x0.dim() - 1)).ToArray());
    }
}
