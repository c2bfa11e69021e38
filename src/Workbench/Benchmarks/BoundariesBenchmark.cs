using System.Diagnostics;
using Workbench.Boundaries;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Benchmarks;

public sealed record BoundariesBenchmarkResult(int Images, int LoopImages, int Blocks, double BatchedSeconds, double LoopSeconds, int NotFlipped, double MaxLoopDifference,
    long BatchedIterations, long LoopIterations)
{
    /// <summary>Image × block pairs per second, batched.</summary>
    public double BatchedRate => Images * (double)Blocks / BatchedSeconds;
    /// <summary>Image × block pairs per second, one DeepFool call per image and block.</summary>
    public double LoopRate => LoopImages * (double)Blocks / LoopSeconds;
    /// <summary>The ratio of pairs/s. Images differ in how many DeepFool steps they need, and the loop sees only a few of them.</summary>
    public double Speedup => BatchedRate / LoopRate;
    /// <summary>The ratio of DeepFool steps per second (pair-iterations/s): the speed-up corrected for how hard the loop's images are.</summary>
    public double StepSpeedup => BatchedIterations / BatchedSeconds / (LoopIterations / LoopSeconds);
}

/// <summary>
/// Subspace DeepFool over the 21 diagonal DCT blocks ("Hold me tight!" Fig. 2), batched over images and blocks,
/// against a loop of one call per image and block. The loop runs on the first <c>loopImages</c> images only (it
/// is slow), so the two are compared by throughput (pairs/s); the loop's margins must match the batched ones. The
/// two alternate in rounds so that both are timed under the same machine load.
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
            // Interleaved rounds (a slice batched, then one of its images in the loop), so that both paths see the same
            // machine load: on a shared machine a load change between two long phases would otherwise decide the ratio.
            int rounds = loopImages;
            long n = x.shape[0];
            double batchedSeconds = 0, loopSeconds = 0, maxDifference = 0;
            int notFlipped = 0;
            long batchedIterations = 0, loopIterations = 0;
            using var task = progress.Start("bench boundaries", n + (long)loopImages * blocks.Count);
            long progressDone = 0;
            var clock = new Stopwatch();
            for (int round = 0; round < rounds; round++)
            {
                long from = n * round / rounds, to = n * (round + 1) / rounds;
                using var slice = x.narrow(0, from, to - from);
                clock.Restart();
                var batched = DeepFool.AttackInSubspaces(model, slice, blocks, options);
                batchedSeconds += clock.Elapsed.TotalSeconds;
                notFlipped += batched.Sum(r => r.NotFlipped);
                batchedIterations += batched.Sum(r => r.Iterations.Sum(i => (long)i));
                task.Report(progressDone += to - from);
                using var one = x.narrow(0, from, 1);
                for (int b = 0; b < blocks.Count; b++)
                {
                    clock.Restart();
                    using var r = DeepFool.Attack(model, one, options, blocks[b]);
                    loopSeconds += clock.Elapsed.TotalSeconds;
                    loopIterations += r.Iterations[0];
                    double a = batched[b].Margins[0], l = r.Margins[0];
                    if (double.IsInfinity(a) != double.IsInfinity(l))
                        throw new InvalidOperationException($"batched and per-image DeepFool disagree on image {from}, block {b}: {a} vs {l}.");
                    if (!double.IsInfinity(a)) maxDifference = Math.Max(maxDifference, Math.Abs(a - l) / Math.Max(1e-6, l));
                    task.Report(++progressDone);
                }
                foreach (var r in batched) r.Dispose();
            }
            return new BoundariesBenchmarkResult((int)x.shape[0], loopImages, blocks.Count, batchedSeconds, loopSeconds, notFlipped, maxDifference,
                batchedIterations, loopIterations);
        }
        finally { foreach (var b in blocks) b.Dispose(); }
    }
}
