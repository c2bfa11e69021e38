using System.Diagnostics;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Benchmarks;

/// <param name="WindowSeconds">Each round interleaves the sides' calls until the slowest side has run this long. A 24 ms call timed in
/// 0.1 s windows (4 calls) swung the Saliency ratio between 1.14 and 1.34 at 2 threads on a quiet machine (2026-12-02).</param>
/// <param name="WarmupSeconds">Untimed interleaved calls of every side before a method's rounds (.NET's tiered JIT, libtorch's first-call setup).</param>
/// <param name="Methods">The methods to time, by name (null: all); an unknown name is an error listing the known ones.</param>
public sealed record AttributionBenchmarkConfig(int Batch = 64, int Steps = 50, int Repeats = 3, int IgMemorySteps = 1000, int IgMemoryImages = 256, int Seed = 0,
    double WindowSeconds = 0.5, IReadOnlyList<string>? Methods = null, double WarmupSeconds = 1);

/// <summary>
/// One method's timing: median seconds per call of each side, the median of the per-round ratios
/// (library / raw of the same round), and the ratio of the fastest rounds (<see cref="FastestRatio"/>:
/// on a loaded machine the least disturbed round of each side is the closest to its own cost). For
/// methods with backward rules, <see cref="HandWrittenRatio"/> is the median per-round ratio against the
/// same rules written by hand (<see cref="HandWrittenPasses"/>): the library's own cost, where
/// <see cref="Ratio"/> (against plain gradients) also counts the rules' arithmetic.
/// </summary>
public sealed record MethodTiming(string Method, double LibrarySeconds, double RawSeconds, int Images, double Ratio, double FastestRatio,
    double? HandWrittenRatio = null)
{
    public double ImagesPerSecond => Images / LibrarySeconds;
}

public sealed record AttributionBenchmarkResult(IReadOnlyList<MethodTiming> Methods, double IgPeakMegabytes, double IgPeakMegabytesTenthSteps, double BaselineMegabytes);

/// <summary>
/// Each gradient method against the minimal hand-written TorchSharp computation of the same passes
/// (e.g. IG with n steps vs n forward+backward passes over interpolated inputs), on the small CNN,
/// medians of alternating repeats in one process. Modified-backward methods (guided backprop,
/// DeepLIFT, LRP) are compared with plain gradients of the same passes, so their ratio includes the cost
/// of their rules; guided backprop and DeepLIFT are also compared with their rules written by hand
/// (<see cref="HandWrittenPasses"/>), which isolates the library's own cost. Layer and CAM methods stop
/// the backward pass at their layer while the baseline runs it to the input, so their ratio can be
/// below 1. Perturbation baselines are the forward passes of the batch alone, so their ratio includes
/// building the perturbed inputs. Each round interleaves the sides' calls one by one, and the ratio
/// reported is the median of the rounds' ratios: load from other processes then falls on every side
/// alike instead of deciding the ratio.
/// </summary>
public static class AttributionBenchmark
{
    /// <summary>A benchmarked method, its hand-written counterpart, and the baselines both use (none: zeros).</summary>
    sealed record Case(string Name, Func<AttributionMethod> Method, Func<Tensor, Tensor, Tensor> Raw, Tensor? Baselines = null, bool TakesTarget = true,
        Func<Tensor, Tensor>? HandWritten = null);

    public static AttributionBenchmarkResult Run(Tensor images, AttributionBenchmarkConfig config, IProgressSink? progress = null)
    {
        progress ??= NullProgress.Instance;
        TorchRuntime.Seed(config.Seed);
        using var model = new ModelSpec("cnn").Build();
        model.eval();
        using var x = images.narrow(0, 0, Math.Min(config.Batch, images.shape[0])).contiguous();
        int b = (int)x.shape[0];
        int n = config.Steps;
        var target = Target.Class(3);
        long channels = Channels(model, x, "act2");
        using var mask = FeatureMasks.Grid(x.shape[2], x.shape[3], 7); // 4 x 4 patches of 7 x 7 pixels on MNIST
        long patches = mask.max().item<long>() + 1;
        using var baselineSet = torch.rand(new long[] { 4 }.Concat(x.shape.Skip(1)).ToArray(), generator: new torch.Generator((ulong)config.Seed)) * 0.1;
        var cases = new Case[]
        {
            new("Saliency", () => new Saliency(model), (xs, _) => RawGradient(model, xs).abs()),
            new("InputXGradient", () => new InputXGradient(model), (xs, _) => xs * RawGradient(model, xs)),
            new("IntegratedGradients", () => new IntegratedGradients(model, n, IntegrationRule.RiemannMiddle), RawIg(model, n)),
            new("SmoothGrad", () => new NoiseTunnel(new Saliency(model, absolute: false), samples: n, sigmaFraction: 0.15), RawSmoothGrad(model, n)),
            new("GradientShap", () => new GradientShap(model, samples: n), RawIg(model, n)),
            new("GuidedBackprop", () => new GuidedBackprop(model), (xs, _) => RawGradient(model, xs), HandWritten: xs => HandWrittenPasses.GuidedBackprop(model, xs, 3)),
            new("Deconvolution", () => new Deconvolution(model), (xs, _) => RawGradient(model, xs)),
            new("DeepLift", () => new DeepLift(model), (xs, _) => RawGradient(model, torch.cat(new[] { xs, torch.zeros_like(xs) })),
                HandWritten: xs => HandWrittenPasses.DeepLift(model, xs, torch.zeros_like(xs), 3)),
            new("GradCam", () => new GradCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("Lrp", () => new Lrp(model, LrpComposite.EpsilonPlus()), (xs, _) => RawGradient(model, xs)),
            // The CAM family and layer methods: one forward and backward (the layer's gradient), or K forward passes.
            new("GradCamPlusPlus", () => new GradCamPlusPlus(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("XGradCam", () => new XGradCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("HiResCam", () => new HiResCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("LayerCam", () => new LayerCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("LayerGradCam", () => new LayerGradCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("LayerIntegratedGradients", () => new LayerIntegratedGradients(model, "act2", n, IntegrationRule.RiemannMiddle), RawIg(model, n)),
            new("EigenCam", () => new EigenCam(model, "act2"), (xs, _) => RawEigenCam(model, xs, "act2")),
            new("ScoreCam", () => new ScoreCam(model, "act2"), RawForwards(model, channels)),
            new("AblationCam", () => new AblationCam(model, "act2"), RawForwards(model, channels)),
            // Layer and neuron methods: one forward and backward; DeepLIFT's on the paired batch.
            new("LayerGradientXActivation", () => new LayerGradientXActivation(model, "act2"), (xs, _) => RawGradient(model, xs)),
            new("LayerDeepLift", () => new LayerDeepLift(model, "act2"), (xs, _) => RawGradient(model, torch.cat(new[] { xs, torch.zeros_like(xs) }))),
            new("NeuronGradient", () => new NeuronGradient(model, "act3", new long[] { 0 }), (xs, _) => RawNeuronGradient(model, xs, "act3", 0), TakesTarget: false),
            // DeepLiftShap against 4 baselines: 4 paired passes.
            new("DeepLiftShap", () => new DeepLiftShap(model), (xs, _) => RawPairs(model, xs, baselineSet), baselineSet),
            // Perturbation methods: one forward pass of the batch per perturbation.
            new("Occlusion", () => new Occlusion(model, window: 7, stride: 7), RawForwards(model, patches)),
            new("FeatureAblation", () => new FeatureAblation(model, mask), RawForwards(model, patches)),
            new("KernelShap", () => new KernelShap(model, mask, samples: 64), RawForwards(model, 64)),
        };
        if (config.Methods is { } names)
        {
            var unknown = names.Where(m => !cases.Any(c => c.Name.Equals(m, StringComparison.OrdinalIgnoreCase))).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"unknown method(s) {string.Join(", ", unknown)}; the benchmark has {string.Join(", ", cases.Select(c => c.Name))}.", nameof(config));
            cases = cases.Where(c => names.Contains(c.Name, StringComparer.OrdinalIgnoreCase)).ToArray();
        }
        var timings = new List<MethodTiming>();
        using (var task = progress.Start("bench attribution", cases.Length))
        {
            int done = 0;
            foreach (var (name, method, raw, baselines, takesTarget, handWritten) in cases)
            {
                var lib = new List<double>();
                var rawTimes = new List<double>();
                var ratios = new List<double>();
                var handRatios = new List<double>();
                void Library() { using var a = method().Attribute(x, takesTarget ? target : null, baselines); }
                void Raw() { using var scope = torch.NewDisposeScope(); raw(x, x); }
                void Hand() { using var scope = torch.NewDisposeScope(); handWritten!(x); }
                var sides = handWritten is null ? new Action[] { Library, Raw } : new Action[] { Library, Raw, Hand };
                TimeInterleaved(sides, config.WarmupSeconds, 0);
                for (int r = 0; r < config.Repeats; r++)
                {
                    var seconds = TimeInterleaved(sides, config.WindowSeconds, r);
                    lib.Add(seconds[0]);
                    rawTimes.Add(seconds[1]);
                    ratios.Add(seconds[0] / seconds[1]);
                    if (handWritten is not null) handRatios.Add(seconds[0] / seconds[2]);
                }
                timings.Add(new MethodTiming(name, Median(lib), Median(rawTimes), b, Median(ratios), lib.Min() / rawTimes.Min(),
                    handWritten is null ? null : Median(handRatios)));
                task.Report(++done, name);
            }
        }

        // Peak memory of IG with many steps under the default budget: bounded, not proportional to the steps.
        using var many = images.narrow(0, 0, Math.Min(config.IgMemoryImages, images.shape[0])).contiguous();
        double baseline = double.NaN;
        double Peak(int steps)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            PeakMemory.Reset();
            baseline = PeakMemory.CurrentMegabytes();
            using (var a = new IntegratedGradients(model, steps, IntegrationRule.RiemannMiddle).Attribute(many, target)) { }
            return PeakMemory.PeakMegabytes() - baseline;
        }
        double tenth = Peak(Math.Max(1, config.IgMemorySteps / 10));
        double full = Peak(config.IgMemorySteps);
        return new AttributionBenchmarkResult(timings, full, tenth, baseline);
    }

    /// <summary>
    /// Seconds per call of each side, their calls interleaved one by one (the first side rotating from
    /// call to call) until the slowest side has run for <paramref name="window"/> seconds. Load from other
    /// processes that comes and goes within a window then falls on every side alike: timing each side for
    /// its own window let a disturbance of a second or two decide a ratio (Saliency 1.02-1.10 between runs).
    /// </summary>
    static double[] TimeInterleaved(Action[] sides, double window, int round)
    {
        var spent = new double[sides.Length];
        int calls = 0;
        var clock = new Stopwatch();
        do
        {
            for (int k = 0; k < sides.Length; k++)
            {
                int i = (k + round + calls) % sides.Length;
                clock.Restart();
                sides[i]();
                spent[i] += clock.Elapsed.TotalSeconds;
            }
            calls++;
        } while (spent.Max() < window);
        return spent.Select(t => t / calls).ToArray();
    }

    static double Median(List<double> xs) { var s = xs.OrderBy(v => v).ToArray(); return s[s.Length / 2]; }

    /// <summary>∂ logit 3 / ∂ x in one forward and one backward pass: the hand-written baseline.</summary>
    static Tensor RawGradient(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        var xr = x.detach().requires_grad_(true);
        var score = model.call(xr)[.., 3].sum();
        return autograd.grad(new[] { score }, new[] { xr })[0];
    }

    /// <summary>n forward+backward passes over α_k·x (zero baseline), batched per step.</summary>
    static Func<Tensor, Tensor, Tensor> RawIg(nn.Module<Tensor, Tensor> model, int n) => (x, _) =>
    {
        var sum = torch.zeros_like(x);
        for (int k = 0; k < n; k++)
        {
            using var scope = torch.NewDisposeScope();
            sum.add_(RawGradient(model, x * ((k + 0.5) / n)));
        }
        return x * sum / n;
    };

    /// <summary>K forward passes of the batch without gradients (Score-CAM and Ablation-CAM evaluate K variants of every image).</summary>
    static Func<Tensor, Tensor, Tensor> RawForwards(nn.Module<Tensor, Tensor> model, long k) => (x, _) =>
    {
        using var noGrad = torch.no_grad();
        var sum = torch.zeros(x.shape[0]);
        for (long i = 0; i < k; i++)
        {
            using var scope = torch.NewDisposeScope();
            sum.add_(model.call(x)[.., 3]);
        }
        return sum;
    };

    /// <summary>The channels of a layer's output (one forward of one image).</summary>
    static long Channels(nn.Module<Tensor, Tensor> model, Tensor x, string layer)
    {
        long channels = 0;
        using var hooks = new HookScope();
        hooks.Add(layer, HookScope.Layer(model, layer), (input, output) => { channels = output.shape[1]; return output; });
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        model.call(x.narrow(0, 0, 1));
        return channels;
    }

    /// <summary>Gradients of the paired batch [x; x'] for each baseline x' of a set (DeepLIFT's passes, plain gradients).</summary>
    static Tensor RawPairs(nn.Module<Tensor, Tensor> model, Tensor x, Tensor set)
    {
        var sum = torch.zeros_like(x);
        for (long k = 0; k < set.shape[0]; k++)
        {
            using var scope = torch.NewDisposeScope();
            sum.add_(RawGradient(model, torch.cat(new[] { x, set[k].unsqueeze(0).expand_as(x) })).narrow(0, 0, x.shape[0]));
        }
        return sum;
    }

    /// <summary>∂ a_unit / ∂ x for one unit of a layer: its value captured by a forward hook, one backward pass.</summary>
    static Tensor RawNeuronGradient(nn.Module<Tensor, Tensor> model, Tensor x, string layer, long unit)
    {
        Tensor? a = null;
        var xr = x.detach().requires_grad_(true);
        using (var hooks = new HookScope())
        {
            hooks.Add(layer, HookScope.Layer(model, layer), (input, output) => { a = output; return output; });
            model.call(xr);
        }
        return autograd.grad(new[] { a![.., unit].sum() }, new[] { xr })[0];
    }

    /// <summary>Eigen-CAM written by hand: the layer's maps from a forward hook, centred, projected on their first right singular vector (per image, batched SVD).</summary>
    static Tensor RawEigenCam(nn.Module<Tensor, Tensor> model, Tensor x, string layer)
    {
        Tensor? a = null;
        using (var hooks = new HookScope())
        {
            hooks.Add(layer, HookScope.Layer(model, layer), (input, output) => { a = output; return output; });
            using var noGrad = torch.no_grad();
            model.call(x);
        }
        var m = a!.flatten(2).transpose(1, 2); // [n, hw, K]
        m = m - m.mean(new long[] { 1 }, keepdim: true);
        var (_, _, vh) = torch.linalg.svd(m, fullMatrices: false);
        return m.matmul(vh.select(1, 0).unsqueeze(2)).reshape(a.shape[0], 1, a.shape[2], a.shape[3]).relu();
    }

    static Func<Tensor, Tensor, Tensor> RawSmoothGrad(nn.Module<Tensor, Tensor> model, int n) => (x, _) =>
    {
        var sum = torch.zeros_like(x);
        for (int k = 0; k < n; k++)
        {
            using var scope = torch.NewDisposeScope();
            sum.add_(RawGradient(model, x + torch.randn_like(x) * 0.15));
        }
        return sum / n;
    };
}
