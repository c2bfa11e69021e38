using TorchSharp;
using Workbench.Regularization;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Generative;

/// <summary>
/// Settings of <see cref="LogitAscentSampler"/>. Defaults are the seed-001 authors' code (idiap/rethinking-saliency):
/// start from N(0.5, 0.2²) clipped to [0,1], 500 steps x ← clip(x + lr·(∇f_y(x) − wd·(x − 0.5)), 0, 1) with lr 0.1 and
/// wd 1e-2 — a pull toward grey of lr·wd = 1e-3 per step. (Until 2026-11 this library applied wd without the lr
/// factor, a pull 10× too strong that kept the samples of score-matching models, whose logit gradients are ~12×
/// smaller, grey.) <see cref="LangevinNoise"/> &gt; 0 adds √(2·lr)·noise·N(0, I) per step (Langevin dynamics).
/// </summary>
public sealed record SamplerOptions
{
    public int Steps { get; init; } = 500;
    public double StepSize { get; init; } = 0.1;
    /// <summary>wd of the update: the decay toward 0.5 inside the step, so the pull per step is <see cref="StepSize"/> × wd.</summary>
    public double WeightDecay { get; init; } = 1e-2;
    public double InitMean { get; init; } = 0.5;
    public double InitStd { get; init; } = 0.2;
    public double LangevinNoise { get; init; }
    public int Seed { get; init; }
    /// <summary>Examples optimised together (bounds memory).</summary>
    public int BatchSize { get; init; } = 256;

    public SamplerOptions Validate()
    {
        if (Steps < 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be >= 0.");
        if (!(StepSize > 0)) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "StepSize must be > 0.");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be >= 0.");
        if (InitStd < 0) throw new ArgumentOutOfRangeException(nameof(InitStd), InitStd, "InitStd must be >= 0.");
        if (LangevinNoise < 0) throw new ArgumentOutOfRangeException(nameof(LangevinNoise), LangevinNoise, "LangevinNoise must be >= 0.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be >= 1.");
        return this;
    }
}

/// <summary>
/// Samples x for class y by gradient ascent on the logit f_y(x), which seed 001 reads as the
/// unnormalised log-density log p(x|y) of an energy-based model hidden in the classifier
/// ("deep dream" = MCMC without noise). The model is used in eval mode; its weights are untouched.
/// </summary>
public static class LogitAscentSampler
{
    /// <summary>Returns [targets.Count, ..imageShape] samples in [0,1].</summary>
    public static Tensor Sample(nn.Module<Tensor, Tensor> model, Tensor targets, long[] imageShape, SamplerOptions? options = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = (options ?? new SamplerOptions()).Validate();
        if (targets.dim() != 1 || targets.dtype != ScalarType.Int64)
            throw new ArgumentException($"targets must be an int64 vector; got {targets.dtype} of shape [{string.Join(", ", targets.shape)}].", nameof(targets));
        progress ??= NullProgress.Instance;
        bool wasTraining = model.training;
        model.eval();
        using var generator = new torch.Generator((ulong)options.Seed);
        var chunks = new List<Tensor>();
        long n = targets.shape[0];
        using var task = progress.Start("sampling", (n + options.BatchSize - 1) / options.BatchSize * options.Steps);
        long done = 0;
        try
        {
            for (long start = 0; start < n; start += options.BatchSize)
            {
                long count = Math.Min(options.BatchSize, n - start);
                var y = targets.narrow(0, start, count);
                var shape = new[] { count }.Concat(imageShape).ToArray();
                var x = (torch.randn(shape, generator: generator) * options.InitStd + options.InitMean).clamp(0, 1);
                for (int step = 0; step < options.Steps; step++)
                {
                    using var scope = torch.NewDisposeScope();
                    var xr = x.detach().requires_grad_(true);
                    var fy = TrueClassLogit.Of(model.call(xr), y).sum();
                    var grad = autograd.grad(new[] { fy }, new[] { xr })[0];
                    using (torch.no_grad())
                    {
                        var next = x + options.StepSize * (grad - options.WeightDecay * (x - 0.5));
                        if (options.LangevinNoise > 0)
                            next += Math.Sqrt(2 * options.StepSize) * options.LangevinNoise * torch.randn(shape, generator: generator);
                        var clipped = next.clamp(0, 1).MoveToOuterDisposeScope();
                        x.Dispose();
                        x = clipped;
                    }
                    task.Report(++done);
                }
                chunks.Add(x);
            }
            return torch.cat(chunks.ToArray());
        }
        finally
        {
            foreach (var c in chunks) c.Dispose();
            model.train(wasTraining);
        }
    }
}
