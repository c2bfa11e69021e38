using System.Diagnostics;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Benchmarks;

public sealed record EvaluationBenchmarkResult(double PixelBatchedSeconds, double PixelLoopSeconds, int PixelImages, double MprtBatchedSeconds, double MprtLoopSeconds, int MprtImages)
{
    public double PixelSpeedup => PixelLoopSeconds / PixelBatchedSeconds;
    public double MprtSpeedup => MprtLoopSeconds / MprtBatchedSeconds;
}

/// <summary>
/// Batched metrics against a per-image loop of the same computation, in one run: the pixel
/// perturbation test (25 fractions) and cascading MPRT with saliency.
/// </summary>
public static class EvaluationBenchmark
{
    /// <param name="repeats">Each path is timed this many times, alternating, and the medians are reported.</param>
    public static EvaluationBenchmarkResult Run(Tensor images, Tensor labels, nn.Module<Tensor, Tensor> model, int pixelImages = 1000, int mprtImages = 200,
        IProgressSink? progress = null, int repeats = 1)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "repeats must be >= 1.");
        progress ??= NullProgress.Instance;
        using var task = progress.Start("bench evaluation", 4L * repeats);
        model.eval();
        using var x = images.narrow(0, 0, Math.Min(pixelImages, images.shape[0]));
        using var y = labels.narrow(0, 0, x.shape[0]);
        using var saliency = new Saliency(model).Attribute(x, Target.PerExample(y)).Map;
        using var xm = images.narrow(0, 0, Math.Min(mprtImages, images.shape[0]));
        using var ym = labels.narrow(0, 0, xm.shape[0]);
        var explainer = Explainers.From(new Saliency(model));
        // Warm-up of both paths on a few images: first-call costs (kernel selection, allocator growth)
        // would otherwise fall on whichever path runs first.
        long warm = Math.Min(20, x.shape[0]);
        PixelPerturbation.Evaluate(model, x.narrow(0, 0, warm), y.narrow(0, 0, warm), saliency.narrow(0, 0, warm));
        PixelPerturbation.EvaluatePerImage(model, x.narrow(0, 0, warm), y.narrow(0, 0, warm), saliency.narrow(0, 0, warm));

        var times = new List<double>[4] { new(), new(), new(), new() };
        int done = 0;
        void Time(int slot, Action work)
        {
            var clock = Stopwatch.StartNew();
            work();
            times[slot].Add(clock.Elapsed.TotalSeconds);
            task.Report(++done);
        }
        for (int r = 0; r < repeats; r++)
        {
            PerturbationCurve? batched = null, loop = null;
            Time(0, () => batched = PixelPerturbation.Evaluate(model, x, y, saliency));
            Time(1, () => loop = PixelPerturbation.EvaluatePerImage(model, x, y, saliency));
            if (!batched!.Accuracy.SequenceEqual(loop!.Accuracy)) throw new InvalidOperationException("batched and per-image pixel perturbation disagree.");
            Time(2, () => ModelParameterRandomization.Evaluate(model, xm, ym, explainer));
            Time(3, () =>
            {
                for (long i = 0; i < xm.shape[0]; i++)
                {
                    using var scope = torch.NewDisposeScope();
                    ModelParameterRandomization.Evaluate(model, xm.narrow(0, i, 1), ym.narrow(0, i, 1), explainer);
                }
            });
        }
        return new EvaluationBenchmarkResult(BenchmarkStatistics.Median(times[0]), BenchmarkStatistics.Median(times[1]), (int)x.shape[0],
            BenchmarkStatistics.Median(times[2]), BenchmarkStatistics.Median(times[3]), (int)xm.shape[0]);
    }
}
