using System.Diagnostics;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Benchmarks;

public sealed record AttributionBenchmarkConfig(int Batch = 64, int Steps = 50, int Repeats = 3, int IgMemorySteps = 1000, int IgMemoryImages = 256, int Seed = 0);

public sealed record MethodTiming(string Method, double LibrarySeconds, double RawSeconds, int Images)
{
    public double Ratio => LibrarySeconds / RawSeconds;
    public double ImagesPerSecond => Images / LibrarySeconds;
}

public sealed record AttributionBenchmarkResult(IReadOnlyList<MethodTiming> Methods, double IgPeakMegabytes, double IgPeakMegabytesTenthSteps, double BaselineMegabytes);

/// <summary>
/// Each gradient method against the minimal hand-written TorchSharp computation of the same passes
/// (e.g. IG with n steps vs n forward+backward passes over interpolated inputs), on the small CNN,
/// medians of alternating repeats in one process. Modified-backward methods (guided backprop,
/// DeepLIFT, LRP) are compared with plain gradients of the same passes, so their ratio is the cost
/// of their rules.
/// </summary>
public static class AttributionBenchmark
{
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
        var cases = new (string Name, Func<AttributionMethod> Method, Func<Tensor, Tensor, Tensor> Raw)[]
        {
            ("Saliency", () => new Saliency(model), (xs, _) => RawGradient(model, xs).abs()),
            ("InputXGradient", () => new InputXGradient(model), (xs, _) => xs * RawGradient(model, xs)),
            ("IntegratedGradients", () => new IntegratedGradients(model, n, IntegrationRule.RiemannMiddle), RawIg(model, n)),
            ("SmoothGrad", () => new NoiseTunnel(new Saliency(model, absolute: false), samples: n, sigmaFraction: 0.15), RawSmoothGrad(model, n)),
            ("GradientShap", () => new GradientShap(model, samples: n), RawIg(model, n)),
            ("GuidedBackprop", () => new GuidedBackprop(model), (xs, _) => RawGradient(model, xs)),
            ("Deconvolution", () => new Deconvolution(model), (xs, _) => RawGradient(model, xs)),
            ("DeepLift", () => new DeepLift(model), (xs, _) => RawGradient(model, torch.cat(new[] { xs, torch.zeros_like(xs) }))),
            ("GradCam", () => new GradCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            ("Lrp", () => new Lrp(model, LrpComposite.EpsilonPlus()), (xs, _) => RawGradient(model, xs)),
            // The CAM family and layer methods: one forward and backward (the layer's gradient), or K forward passes.
            ("GradCamPlusPlus", () => new GradCamPlusPlus(model, "act2"), (xs, _) => RawGradient(model, xs)),
            ("XGradCam", () => new XGradCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            ("HiResCam", () => new HiResCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            ("LayerCam", () => new LayerCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            ("LayerGradCam", () => new LayerGradCam(model, "act2"), (xs, _) => RawGradient(model, xs)),
            ("LayerIntegratedGradients", () => new LayerIntegratedGradients(model, "act2", n, IntegrationRule.RiemannMiddle), RawIg(model, n)),
            ("EigenCam", () => new EigenCam(model, "act2"), (xs, _) => { using var noGrad = torch.no_grad(); return model.call(xs); }),
            ("ScoreCam", () => new ScoreCam(model, "act2"), RawForwards(model, Channels(model, x, "act2"))),
            ("AblationCam", () => new AblationCam(model, "act2"), RawForwards(model, Channels(model, x, "act2"))),
        };
        var timings = new List<MethodTiming>();
        using (var task = progress.Start("bench attribution", cases.Length))
        {
            int done = 0;
            foreach (var (name, method, raw) in cases)
            {
                var lib = new List<double>();
                var rawTimes = new List<double>();
                Time(() => { using var a = method().Attribute(x, target); }); // warm-up
                Time(() => { using var scope = torch.NewDisposeScope(); raw(x, x); });
                for (int r = 0; r < config.Repeats; r++)
                {
                    lib.Add(Time(() => { using var a = method().Attribute(x, target); }));
                    rawTimes.Add(Time(() => { using var scope = torch.NewDisposeScope(); raw(x, x); }));
                }
                timings.Add(new MethodTiming(name, Median(lib), Median(rawTimes), b));
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

    /// <summary>Seconds per call; fast calls are repeated until 0.2 s have passed, so timer noise does not decide a ratio.</summary>
    static double Time(Action a)
    {
        var clock = Stopwatch.StartNew();
        int calls = 0;
        do { a(); calls++; } while (clock.Elapsed.TotalSeconds < 0.2);
        return clock.Elapsed.TotalSeconds / calls;
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
