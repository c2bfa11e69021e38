using System.Diagnostics;
using Workbench.Boundaries;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Benchmarks;

public sealed record BoundariesBenchmarkResult(int Images, int LoopImages, int Blocks, double BatchedSeconds, double LoopSeconds, int NotFlipped, double MaxLoopDifference)
{
    /// <summary>Image × block pairs per second, batched.</summary>
    public double BatchedRate => Images * (double)Blocks / BatchedSeconds;
    /// <summary>Image × block pairs per second, one DeepFool call per image and block.</summary>
    public double LoopRate => LoopImages * (double)Blocks / LoopSeconds;
    public double Speedup => BatchedRate / LoopRate;
}

/// <summary>
/// Subspace DeepFool over the 21 diagonal DCT blocks ("Hold me tight!" Fig. 2), batched over images and blocks,
/// against a loop of one call per image and block. The loop runs on the first <c>loopImages</c> images only (it
/// is slow), so the two are compared by throughput (pairs/s); the loop's margins must match the batched ones.
/// </summary>
public static class BoundariesBenchmark
{
    public static BoundariesBenchmarkResult Run(Func<Tensor, Tensor> model, Tensor images, int count = 1000, int loopImages = 20,
        DeepFoolOptions? options = null, IProgressSink? progress = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be >= 1.");
        if (loopImages < 1 || loopImages > count) throw new ArgumentOutOfRangeException(nameof(loopImages), loopImages, $"loopImages must be in [1, count = {count}].");
        progress ??= NullProgress.Instance;
        options ??= new DeepFoolOptions();
        using var x = images.narrow(0, 0, Math.Min(count, images.shape[0]));
        var blocks = DctSubspaces.Diagonal((int)x.shape[^2], (int)x.shape[^1]);
        try
        {
            // Warm-up of both paths: first-call costs must not fall on whichever runs first.
            using (var warm = x.narrow(0, 0, 1))
            {
                foreach (var r in DeepFool.AttackInSubspaces(model, warm, blocks.Take(2).ToList(), options with { MaxIterations = 2 })) r.Dispose();
                DeepFool.Attack(model, warm, options with { MaxIterations = 2 }, blocks[0]).Dispose();
            }
            var clock = Stopwatch.StartNew();
            var batched = DeepFool.AttackInSubspaces(model, x, blocks, options, progress);
            double batchedSeconds = clock.Elapsed.TotalSeconds;
            int notFlipped = batched.Sum(r => r.NotFlipped);

            double maxDifference = 0;
            using var task = progress.Start("per-image loop", (long)loopImages * blocks.Count);
            clock.Restart();
            var loopMargins = new double[blocks.Count, loopImages];
            for (int i = 0; i < loopImages; i++)
                for (int b = 0; b < blocks.Count; b++)
                {
                    using var one = x.narrow(0, i, 1);
                    using var r = DeepFool.Attack(model, one, options, blocks[b]);
                    loopMargins[b, i] = r.Margins[0];
                    task.Report((long)i * blocks.Count + b + 1);
                }
            double loopSeconds = clock.Elapsed.TotalSeconds;
            for (int i = 0; i < loopImages; i++)
                for (int b = 0; b < blocks.Count; b++)
                {
                    double a = batched[b].Margins[i], l = loopMargins[b, i];
                    if (double.IsInfinity(a) != double.IsInfinity(l))
                        throw new InvalidOperationException($"batched and per-image DeepFool disagree on image {i}, block {b}: {a} vs {l}.");
                    if (!double.IsInfinity(a)) maxDifference = Math.Max(maxDifference, Math.Abs(a - l) / Math.Max(1e-6, l));
                }
            foreach (var r in batched) r.Dispose();
            return new BoundariesBenchmarkResult((int)x.shape[0], loopImages, blocks.Count, batchedSeconds, loopSeconds, notFlipped, maxDifference);
        }
        finally { foreach (var b in blocks) b.Dispose(); }
    }
}
