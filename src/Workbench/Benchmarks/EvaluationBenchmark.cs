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
    public static EvaluationBenchmarkResult Run(Tensor images, Tensor labels, nn.Module<Tensor, Tensor> model, int pixelImages = 1000, int mprtImages = 200, IProgressSink? progress = null)
    {
        progress ??= NullProgress.Instance;
        using var task = progress.Start("bench evaluation", 4);
        model.eval();
        using var x = images.narrow(0, 0, Math.Min(pixelImages, images.shape[0]));
        using var y = labels.narrow(0, 0, x.shape[0]);
        using var saliency = new Saliency(model).Attribute(x, Target.PerExample(y)).Map;
        // Warm-up of both paths on a few images: first-call costs (kernel selection, allocator growth)
        // would otherwise fall on whichever path runs first.
        long warm = Math.Min(20, x.shape[0]);
        PixelPerturbation.Evaluate(model.call, x.narrow(0, 0, warm), y.narrow(0, 0, warm), saliency.narrow(0, 0, warm));
        PixelPerturbation.EvaluatePerImage(model.call, x.narrow(0, 0, warm), y.narrow(0, 0, warm), saliency.narrow(0, 0, warm));
        var clock = Stopwatch.StartNew();
        var batched = PixelPerturbation.Evaluate(model.call, x, y, saliency);
        double pixelBatched = clock.Elapsed.TotalSeconds;
        task.Report(1, "pixel perturbation, per image");
        clock.Restart();
        var loop = PixelPerturbation.EvaluatePerImage(model.call, x, y, saliency);
        double pixelLoop = clock.Elapsed.TotalSeconds;
        if (!batched.Accuracy.SequenceEqual(loop.Accuracy)) throw new InvalidOperationException("batched and per-image pixel perturbation disagree.");
        task.Report(2, "MPRT, batched");

        using var xm = images.narrow(0, 0, Math.Min(mprtImages, images.shape[0]));
        using var ym = labels.narrow(0, 0, xm.shape[0]);
        var explainer = Explainers.From(new Saliency(model));
        clock.Restart();
        ModelParameterRandomization.Evaluate(model, xm, ym, explainer);
        double mprtBatched = clock.Elapsed.TotalSeconds;
        task.Report(3, "MPRT, per image");
        clock.Restart();
        for (long i = 0; i < xm.shape[0]; i++)
        {
            using var scope = torch.NewDisposeScope();
            ModelParameterRandomization.Evaluate(model, xm.narrow(0, i, 1), ym.narrow(0, i, 1), explainer);
        }
        double mprtLoop = clock.Elapsed.TotalSeconds;
        task.Report(4);
        return new EvaluationBenchmarkResult(pixelBatched, pixelLoop, (int)x.shape[0], mprtBatched, mprtLoop, (int)xm.shape[0]);
    }
}
