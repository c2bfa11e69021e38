using System.Globalization;
using Workbench.Training;
using static TorchSharp.torch;

namespace Workbench.Regularization;

/// <summary>
/// Regularized score matching (seed 001): R = mean(h) + 1/2 mean‖∇ₓf_y‖² + τ mean(h²), with h the
/// Hessian-trace estimate of f_y. Minimising it aligns ∇ₓf_y with the data score ∇ₓ log p(x|y)
/// (Hyvärinen's objective); τh² keeps the unbounded-below trace term stable.
/// Defaults are the authors' code (σ = 0.01, τ = 1e-3, 1 sample); the slides say τ (μ) = 1e-4.
/// </summary>
public sealed record ScoreMatchingPenalty(double Sigma = 0.01, double Tau = 1e-3, int Samples = 1) : IPenalty
{
    public string Name => "score-matching";
    public string Key => string.Create(CultureInfo.InvariantCulture, $"sm(sigma={Sigma:R},tau={Tau:R},samples={Samples})");
    public bool RequiresInputGradient => true;

    public Tensor Compute(PenaltyContext c)
    {
        var fy = TrueClassLogit.Of(c.Logits, c.Targets);
        var h = HessianTraceEstimator.Estimate(c.Model, c.Inputs, c.Targets, Sigma, Samples, fy);
        var gradient = TrueClassLogit.InputGradient(c.Logits, c.Targets, c.Inputs, createGraph: true);
        return h.mean() + TrueClassLogit.HalfSquaredNorm(gradient).mean() + Tau * h.pow(2).mean();
    }
}

/// <summary>
/// Anti-score matching (seed 001): R = −mean(clamp(h, max = threshold)) — rewards a large Hessian
/// trace, misaligning gradients with the data score. Code defaults: σ = 0.001, threshold = 1e4.
/// </summary>
public sealed record AntiScoreMatchingPenalty(double Sigma = 0.001, double Threshold = 1e4, int Samples = 1) : IPenalty
{
    public string Name => "anti-score-matching";
    public string Key => string.Create(CultureInfo.InvariantCulture, $"asm(sigma={Sigma:R},thresh={Threshold:R},samples={Samples})");
    public bool RequiresInputGradient => false;

    public Tensor Compute(PenaltyContext c)
    {
        var fy = TrueClassLogit.Of(c.Logits, c.Targets);
        var h = HessianTraceEstimator.Estimate(c.Model, c.Inputs, c.Targets, Sigma, Samples, fy);
        return -h.clamp_max(Threshold).mean();
    }
}

/// <summary>Gradient-norm regularization (double backprop, Drucker &amp; LeCun 1992): R = 1/2 mean‖∇ₓf_y‖².</summary>
public sealed record GradientNormPenalty : IPenalty
{
    public string Name => "gradient-norm";
    public string Key => "gradnorm";
    public bool RequiresInputGradient => true;

    public Tensor Compute(PenaltyContext c) =>
        TrueClassLogit.HalfSquaredNorm(TrueClassLogit.InputGradient(c.Logits, c.Targets, c.Inputs, createGraph: true)).mean();
}
