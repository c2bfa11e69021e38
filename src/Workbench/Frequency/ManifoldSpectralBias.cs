using TorchSharp;
using Workbench.Data.Synthetic;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Frequency;

/// <summary>
/// Binary classification on the curve γ_L (Experiment 5): the share of held-out grid points classified right at every
/// recorded step, and the final training loss.
/// </summary>
public sealed record ManifoldClassificationRun(double L, int Frequency, int[] Steps, double[] ValidationAccuracy, double FinalLoss)
{
    public double FinalAccuracy => ValidationAccuracy[^1];
    /// <summary>The held-out accuracy averaged over the recorded steps: how fast the task is learned, not only how well.</summary>
    public double MeanAccuracy => ValidationAccuracy.Average();
}

/// <summary>
/// "Not all manifolds are learned equal" (Rahaman et al., 2019, Section 5): the data lie on the curve
/// γ_L(z) = (1 + ½ sin(2πLz)) (cos 2πz, sin 2πz) in the plane, z ∈ [0, 1), and the target is a function of z. A function
/// of low frequency in the plane can have high frequencies along a curve that winds fast (large L), so the network's
/// bias towards low frequencies in its input space helps it learn high frequencies in z: the larger L, the easier the
/// task (Experiments 4 and 5). L = 0 is the unit circle.
/// </summary>
public static class ManifoldSpectralBias
{
    /// <summary>γ_L at the grid <paramref name="z"/> ([N] or [N, 1]): [N, 2].</summary>
    public static Tensor Curve(Tensor z, double L)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (!(L >= 0) || double.IsInfinity(L)) throw new ArgumentOutOfRangeException(nameof(L), L, $"L must be a finite number >= 0; got {L}.");
        using var scope = torch.NewDisposeScope();
        var t = SpectralAmplitudes.OneDimensional(z, nameof(z)).to_type(ScalarType.Float64) * (2 * Math.PI);
        var radius = 1 + 0.5 * torch.sin(t * L);
        return torch.stack(new[] { radius * torch.cos(t), radius * torch.sin(t) }, 1).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Experiment 4: the regression of <see cref="SpectralBias.Train"/> with the network reading γ_L(z) instead of z.</summary>
    public static SpectralBiasRun Regress(SinusoidMixture target, double L, SpectralBiasOptions? options = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        using var curve = Curve(target.Z, L);
        return SpectralBias.Train(target, options, progress, curve);
    }

    /// <summary>
    /// Experiment 5: the label of z is 1 where sin(2πkz) > 0, the same target for every L; the network reads γ_L(z) and is
    /// trained by full-batch Adam on binary cross-entropy over the even grid points, and judged on the odd ones (never seen).
    /// </summary>
    public static ManifoldClassificationRun Classify(double L, int frequency, int points, SpectralBiasOptions? options = null, IProgressSink? progress = null)
    {
        options = (options ?? new SpectralBiasOptions()).Validate();
        if (points < 4 || points % 2 != 0) throw new ArgumentOutOfRangeException(nameof(points), points, $"points must be even and >= 4 (even points train, odd ones validate); got {points}.");
        if (frequency < 1 || frequency >= points / 4) throw new ArgumentOutOfRangeException(nameof(frequency), frequency, $"frequency must be in [1, {points / 4}) for {points} points (two samples per half period in each split); got {frequency}.");
        progress ??= NullProgress.Instance;
        var z = Enumerable.Range(0, points).Select(i => (double)i / points).ToArray();
        // Shifted by a quarter sample so no grid point sits on a zero of the sine (its label would be a rounding accident).
        var labels = z.Select(v => Math.Sin(2 * Math.PI * frequency * (v + 0.25 / points)) > 0 ? 1f : 0f).ToArray();
        using var grid = torch.tensor(z);
        using var curve = Curve(grid, L);
        using var trainIndex = torch.arange(0, points, 2);
        using var validationIndex = torch.arange(1, points, 2);
        using var all = torch.tensor(labels);
        using var x = curve.index_select(0, trainIndex);
        using var y = all.index_select(0, trainIndex).unsqueeze(1);
        using var xv = curve.index_select(0, validationIndex);
        using var yv = all.index_select(0, validationIndex).unsqueeze(1);
        TorchRuntime.Seed(options.Seed);
        using var model = SpectralBias.Network(options, 2);
        var steps = new List<int>();
        var accuracy = new List<double>();
        double loss = SpectralBias.FullBatch(model, options, progress, $"manifold L={L} classification",
            () => nn.functional.binary_cross_entropy_with_logits(model.call(x), y), step =>
            {
                using var noGrad = torch.no_grad();
                steps.Add(step);
                accuracy.Add(model.call(xv).gt(0).to_type(ScalarType.Float32).eq(yv).to_type(ScalarType.Float64).mean().item<double>());
            });
        return new ManifoldClassificationRun(L, frequency, steps.ToArray(), accuracy.ToArray(), loss);
    }
}
