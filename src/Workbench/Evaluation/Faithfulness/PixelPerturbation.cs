using Microsoft.Data.Analysis;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using static TorchSharp.torch;

namespace Workbench.Evaluation;

/// <summary>Accuracy after removing a fraction of pixels, per fraction.</summary>
public sealed record PerturbationCurve(double[] Fractions, double[] Accuracy)
{
    /// <summary>Area under the accuracy-vs-fraction curve (trapezoid, fractions on a linear axis).</summary>
    public double Auc => Enumerable.Range(1, Fractions.Length - 1).Sum(i => (Fractions[i] - Fractions[i - 1]) * (Accuracy[i] + Accuracy[i - 1]) / 2);

    public DataFrame ToDataFrame() => new(new DoubleDataFrameColumn("fraction", Fractions), new DoubleDataFrameColumn("accuracy", Accuracy));
}

/// <summary>
/// The pixel perturbation test of seed 001 (Srinivas &amp; Fleuret, 2021; Hooker et al.'s ROAR without
/// retraining): per image, replace the <i>least</i> salient fraction of pixels by a constant (0.5)
/// and measure the same model's accuracy; a faithful saliency keeps accuracy high longer.
/// Saliency per pixel is |map| summed over channels (the code uses the std over channels for colour).
/// Batched over images and fractions.
/// </summary>
public static class PixelPerturbation
{
    /// <summary>25 fractions log-spaced in [0.01, 1], as in the authors' code.</summary>
    public static double[] DefaultFractions => Enumerable.Range(0, 25).Select(i => Math.Pow(10, -2 + 2.0 * i / 24)).ToArray();

    /// <summary>
    /// The data's background: its most frequent pixel value (on a 1/255 grid), the fill that keeps a removed pixel on the
    /// data manifold's background (0 on MNIST and Fashion-MNIST, where the code's 0.5 — CIFAR's mean — is an off-manifold shift).
    /// </summary>
    public static double BackgroundFill(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.numel() == 0) throw new ArgumentException("images is empty; the background needs at least one pixel.", nameof(images));
        using var scope = torch.NewDisposeScope();
        var levels = (images.detach().to_type(ScalarType.Float64).flatten() * 255).round().to_type(ScalarType.Int64);
        long min = levels.min().item<long>();
        long mode = (levels - min).bincount(null, 0).argmax().item<long>() + min;
        return mode / 255.0;
    }

    /// <param name="rowsPerPass">Perturbed images per forward pass: each pass holds every fraction of
    /// max(1, rowsPerPass / fractions) images. Measured on 2 cores (small CNN): 25 to 1,000 rows take the
    /// same time (the pass is compute-bound from ~25 rows on); above that, and with glibc's default
    /// allocator thresholds above ~250, larger passes get slower.</param>
    public static PerturbationCurve Evaluate(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps,
        double[]? fractions = null, double fill = 0.5, bool removeLeastSalient = true, int rowsPerPass = 100)
    {
        fractions ??= DefaultFractions;
        MetricTensors.ModelArguments(inputs, targets, maps);
        if (fractions.Length == 0) throw new ArgumentException("fractions is empty; give at least one fraction in [0, 1].", nameof(fractions));
        if (fractions.Any(f => !(f >= 0 && f <= 1))) throw new ArgumentOutOfRangeException(nameof(fractions), "fractions must lie in [0, 1].");
        if (rowsPerPass < 1) throw new ArgumentOutOfRangeException(nameof(rowsPerPass), rowsPerPass, "rowsPerPass must be >= 1.");
        using var mode = model.EvalMode();
        using var scope = torch.NewDisposeScope();
        long n = inputs.shape[0];
        long h = inputs.shape[^2], w = inputs.shape[^1], pixels = h * w;
        int count = fractions.Length;
        var score = (maps.dim() == 4 ? maps.abs().sum(1) : maps.abs()).reshape(n, pixels);
        // Rank of each pixel from least (0) to most salient; a pixel is removed when its rank < fraction * pixels.
        var order = removeLeastSalient ? score.argsort(1) : (-score).argsort(1);
        var rank = torch.empty_like(order).scatter_(1, order, torch.arange(pixels, dtype: ScalarType.Int64).expand(n, -1).contiguous());
        // Removal thresholds, one per fraction, shaped to broadcast against [fractions, images, 1, h, w].
        var thresholds = torch.tensor(fractions.Select(f => (long)Math.Round(f * pixels)).ToArray()).reshape(count, 1, 1, 1, 1);
        var correct = torch.zeros(count, dtype: ScalarType.Int64);
        long imagesPerPass = Math.Max(1, rowsPerPass / count);
        using var noGrad = torch.no_grad();
        for (long start = 0; start < n; start += imagesPerPass)
        {
            using var batchScope = torch.NewDisposeScope();
            long m = Math.Min(imagesPerPass, n - start);
            var x = inputs.narrow(0, start, m);
            var removed = rank.narrow(0, start, m).reshape(1, m, 1, h, w).lt(thresholds);            // [F, m, 1, h, w]
            var expanded = x.unsqueeze(0).expand(new long[] { count }.Concat(x.shape).ToArray());
            var perturbed = expanded.masked_fill(removed, fill).reshape(new[] { count * m }.Concat(x.shape.Skip(1)).ToArray());
            var output = model.Forward(perturbed);
            if (output.dim() != 2 || output.shape[0] != count * m)
                throw new ArgumentException($"model must return scores [N, classes], one row per input; got [{string.Join(", ", output.shape)}] for {count * m} inputs.", nameof(model));
            if (start == 0) MetricTensors.TargetsInRange(targets, output.shape[1], nameof(targets));
            var hits = output.argmax(1).reshape(count, m).eq(targets.narrow(0, start, m).unsqueeze(0));
            correct.add_(hits.sum(new long[] { 1 }));
        }
        var totals = correct.data<long>().ToArray();
        return new PerturbationCurve(fractions, totals.Select(c => (double)c / n).ToArray());
    }

    /// <summary>The same computation one image and one fraction at a time: the reference the batched path is checked and timed against.</summary>
    public static PerturbationCurve EvaluatePerImage(AttributionModel model, Tensor inputs, Tensor targets, Tensor maps, double[]? fractions = null, double fill = 0.5)
    {
        fractions ??= DefaultFractions;
        MetricTensors.ModelArguments(inputs, targets, maps);
        long n = inputs.shape[0];
        var correct = new double[fractions.Length];
        using var mode = model.EvalMode();
        using var noGrad = torch.no_grad();
        for (long i = 0; i < n; i++)
            for (int f = 0; f < fractions.Length; f++)
            {
                using var scope = torch.NewDisposeScope();
                var x = inputs[i].clone();
                var s = maps[i].abs();
                if (s.dim() == 3) s = s.sum(new long[] { 0 });
                long k = (long)Math.Round(fractions[f] * s.numel());
                var flat = x.reshape(x.shape[0], -1);
                if (k > 0)
                {
                    var least = s.flatten().argsort().narrow(0, 0, k);
                    flat.index_fill_(1, least, fill);
                }
                var output = model.Forward(flat.reshape(x.shape).unsqueeze(0));
                if (i == 0 && f == 0)
                {
                    MetricTensors.TargetScore(output, targets.narrow(0, 0, 1), nameof(targets)); // one row of scores per input
                    MetricTensors.TargetsInRange(targets, output.shape[1], nameof(targets));      // every label, once
                }
                if (output.argmax(1).item<long>() == targets[i].item<long>()) correct[f]++;
            }
        return new PerturbationCurve(fractions, correct.Select(c => c / n).ToArray());
    }
}
