using TorchSharp;
using static TorchSharp.torch;

namespace Workbench.Regularization;

/// <summary>
/// The Hessian-trace estimate of seed 001 (Srinivas &amp; Fleuret, ICLR 2021, "Regularized score matching"):
/// tr(∇²f(x)) = E_v[vᵀ∇²f v] for v ~ N(0, I) (Hutchinson), and by a second-order Taylor expansion
/// ≈ (2/σ²) E_{v~N(0,σ²I)}[f(x+v) − f(x)]. The first-order term gᵀv has mean 0 but variance
/// 4‖g‖²/σ², so a single sample is noisy; the bias is O(σ²).
/// </summary>
public static class HessianTraceEstimator
{
    /// <summary>
    /// h(x) per example, [B], averaged over <paramref name="samples"/> noise draws, differentiable
    /// w.r.t. the model's parameters. <paramref name="fyAtX"/> is f_y(x) when already computed (saves a pass).
    /// </summary>
    public static Tensor Estimate(Func<Tensor, Tensor> model, Tensor inputs, Tensor targets, double sigma, int samples = 1,
        Tensor? fyAtX = null, Generator? generator = null)
    {
        if (!(sigma > 0) || !double.IsFinite(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be a finite number > 0.");
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "samples must be >= 1.");
        long b = inputs.shape[0];
        var x = inputs.detach();
        fyAtX ??= TrueClassLogit.Of(model(x), targets);
        // All noise draws in one batch: [samples*B, ...], example-major within each draw.
        var repeated = samples == 1 ? x : x.repeat(new long[] { samples }.Concat(Enumerable.Repeat(1L, (int)x.dim() - 1)).ToArray());
        var noise = torch.randn(repeated.shape, repeated.dtype, repeated.device, generator: generator) * sigma;
        var fyNoisy = TrueClassLogit.Of(model(repeated + noise), samples == 1 ? targets : targets.repeat(samples));
        var meanNoisy = fyNoisy.reshape(samples, b).mean(new long[] { 0 });
        return (meanNoisy - fyAtX) * (2.0 / (sigma * sigma));
    }
}
