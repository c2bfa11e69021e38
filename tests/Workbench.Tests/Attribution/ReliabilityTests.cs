using System.Diagnostics;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

/// <summary>Issue 19's attribution items: no input aborts the process, errors name the caller's argument, shapes and types.</summary>
public class ReliabilityTests
{
    [Fact]
    public void A_model_whose_output_does_not_depend_on_the_input_is_an_error_not_an_abort()
    {
        using var model = Nets.Smooth(4, 6, 3, seed: 1);
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 2);
        var models = new (string Name, Func<Tensor, Tensor> F)[]
        {
            ("no_grad", t => { using var _ = torch.no_grad(); return model.call(t); }),
            ("detach", t => model.call(t.detach())),
            ("constant", t => torch.zeros(t.shape[0], 3, ScalarType.Float64)),
        };
        foreach (var (name, f) in models)
        {
            var e = Assert.Throws<ModelContractException>(() => new Saliency(f).Attribute(x, 1));
            Assert.Contains("does not depend on its input", e.Message);
            Assert.Contains("Saliency", e.Message);
            Assert.Throws<ModelContractException>(() => new IntegratedGradients(f, 4).Attribute(x, 1));
            Assert.Throws<ModelContractException>(() => new GradientShap(f, 4).Attribute(x, 1));
        }
        // Grad-CAM on a layer the model computes but does not use.
        using var branchy = new Branchy();
        using var images = Nets.Inputs(new long[] { 2, 1, 6, 6 }, seed: 3);
        var off = Assert.Throws<ModelContractException>(() => new GradCam(branchy, "side").Attribute(images, 0));
        Assert.Contains("layer 'side'", off.Message);
        using var on = new GradCam(branchy, "main").Attribute(images, 0); // the layer on the path still works
        Assert.Equal(images.shape, on.Map.shape);
    }

    sealed class Branchy : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> main, side, head;
        public Branchy() : base("branchy")
        {
            TorchRuntime.Seed(4);
            main = nn.Conv2d(1, 2, 3, padding: 1);
            side = nn.Conv2d(1, 2, 3, padding: 1);
            head = nn.Linear(72, 3);
            RegisterComponents();
            this.to(ScalarType.Float64);
        }
        public override Tensor forward(Tensor x)
        {
            using var unused = side.call(x);
            return head.call(main.call(x).flatten(1));
        }
    }

    [Fact]
    public void Hook_based_methods_on_one_model_from_parallel_threads_give_the_sequential_maps()
    {
        using var model = Nets.Cnn(5);
        using var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 6);
        Func<AttributionMethod>[] methods = { () => new GradCam(model, "act2"), () => new GuidedBackprop(model), () => new DeepLift(model), () => new Saliency(model) };
        var expected = methods.Select(m => { using var a = m().Attribute(x, 1); return a.Map.clone(); }).ToArray();
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var scope = torch.NewDisposeScope();
            using var a = methods[i % methods.Length]().Attribute(x, 1);
            if (!a.Map.allclose(expected[i % methods.Length], atol: 1e-12)) errors.Add($"call {i} ({a.Method}) gave a different map");
        });
        Assert.Empty(errors);
        foreach (var e in expected) e.Dispose();
    }

    [Fact]
    public void Errors_report_the_callers_shapes_not_a_probe_or_a_chunk()
    {
        using var cnn = Nets.Cnn(7);
        using var flat = Nets.Inputs(new long[] { 4, 8, 8 }, seed: 8); // a channel dimension missing
        var e = Assert.Throws<InvalidOperationException>(() => new Saliency(cnn).Attribute(flat, 0));
        Assert.Contains("inputs of shape [4, 8, 8]", e.Message);
        Assert.DoesNotContain("frame #", e.Message);
        // A model with one value per example, with a class target, in chunks of 7 rows.
        Func<Tensor, Tensor> scalarPerExample = t => t.sum(1);
        using var x = Nets.Inputs(new long[] { 4, 3 }, seed: 9);
        var chunked = new AttributionSettings { MaxRowsPerPass = 7 };
        var t = Assert.Throws<ArgumentException>(() => new IntegratedGradients(scalarPerExample, 50, settings: chunked).Attribute(x, 0));
        Assert.Contains("[batch]", t.Message);
        Assert.DoesNotContain("[7]", t.Message);
    }

    [Fact]
    public void Dtype_mismatch_is_checked_up_front_naming_argument_expected_and_actual()
    {
        using var model = Nets.Linear(4, 3, seed: 10); // float64 parameters
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 11).to_type(ScalarType.Float32);
        var e = Assert.Throws<ArgumentException>(() => new Saliency(model).Attribute(x, 0));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("Float64", e.Message);
        Assert.Contains("got Float32", e.Message);
        Assert.DoesNotContain("frame #", e.Message);
    }

    [Fact]
    public void A_scalar_output_or_one_row_for_any_batch_is_refused()
    {
        using var model = Nets.Cnn(12);
        using var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 13);
        Func<Tensor, Tensor> scalar = t => model.call(t).sum();
        var e = Assert.Throws<ModelContractException>(() => new Saliency(scalar).Attribute(x, Target.Selector(o => o)));
        Assert.Contains("0-D", e.Message);
        Func<Tensor, Tensor> oneRow = t => model.call(t).mean(new long[] { 0 }, keepdim: true);
        var occ = Assert.Throws<ModelContractException>(() => new Occlusion(oneRow, 2, 2).Attribute(x, 0));
        Assert.Contains("one output row per example", occ.Message);
        Assert.Contains("[3, 1, 8, 8]", occ.Message);
    }

    [Fact]
    public void Per_example_targets_refuse_non_integer_tensors()
    {
        TorchRuntime.EnsureLoaded();
        using var fractional = torch.tensor(new[] { -0.5f, 1f });
        var e = Assert.Throws<ArgumentException>(() => Target.PerExample(fractional));
        Assert.Equal("classes", e.ParamName);
        Assert.Contains("Float32", e.Message);
        using var ints = torch.tensor(new[] { 2, 1 });
        using var model = Nets.Linear(4, 3, seed: 14);
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 15);
        using var a = new Saliency(model, absolute: false).Attribute(x, Target.PerExample(ints));
        var w = model.parameters().First().detach();
        Assert.True(a.Map.allclose(torch.stack(new[] { w[2], w[1] }), atol: 1e-12));
    }

    [Fact]
    public void After_the_eval_switch_each_submodule_gets_its_own_mode_back()
    {
        TorchRuntime.Seed(16);
        using var model = nn.Sequential(("fc", nn.Linear(4, 3)), ("bn", nn.BatchNorm1d(3)), ("drop", nn.Dropout(0.5)));
        model.to(ScalarType.Float64);
        model.train();
        var bn = model.named_modules().Single(m => m.name == "bn").module;
        bn.eval(); // frozen by the user
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 17);
        using var a = new Saliency(model, absolute: false).Attribute(x, 1);
        Assert.True(a.SwitchedToEval);
        Assert.True(model.training);
        Assert.False(bn.training);
        Assert.True(model.named_modules().Single(m => m.name == "drop").module.training);
        // A model in eval mode except one submodule (dropout left in training) is switched too, and restored.
        model.eval();
        var drop = model.named_modules().Single(m => m.name == "drop").module;
        drop.train();
        using var b = new Saliency(model, absolute: false).Attribute(x, 1);
        using var c = new Saliency(model, absolute: false).Attribute(x, 1);
        Assert.True(b.SwitchedToEval);
        Assert.True(b.Map.equal(c.Map).all().item<bool>()); // no dropout noise
        Assert.True(drop.training);
        Assert.False(model.training);
    }

    /// <summary>An "attribution" that returns its inputs and records the batch sizes it was given.</summary>
    sealed class Recorder(AttributionModel model, AttributionSettings? settings = null) : AttributionMethod(model, settings)
    {
        public List<long> Batches { get; } = new();
        public override string Name => "Recorder";
        protected override bool UsesBaselines => true;
        protected override AttributionOutput Compute(AttributionContext c)
        {
            Batches.Add(c.BatchSize);
            return new(c.Inputs.clone());
        }
    }

    [Fact]
    public void Noise_tunnel_explains_the_noisy_copies_in_groups_of_the_budget_with_the_same_result()
    {
        using var model = Nets.Linear(5, 2, seed: 18);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 19);
        var small = new Recorder(model, new AttributionSettings { MaxRowsPerPass = 6 });
        using var grouped = new NoiseTunnel(small, NoiseTunnelKind.VarGrad, samples: 10, seed: 4).Attribute(x, 0);
        Assert.All(small.Batches, n => Assert.True(n <= 6, $"a group of {n} rows"));
        Assert.Equal(30, small.Batches.Sum());
        var large = new Recorder(model);
        using var whole = new NoiseTunnel(large, NoiseTunnelKind.VarGrad, samples: 10, seed: 4).Attribute(x, 0);
        Assert.Single(large.Batches);
        Assert.True(grouped.Map.allclose(whole.Map, atol: 1e-12));
    }

    [Fact]
    public void Noise_tunnel_takes_an_absolute_noise_level()
    {
        using var model = Nets.Linear(5, 2, seed: 20);
        using var x = Nets.Inputs(new long[] { 2, 5 }, seed: 21) * 10; // a range of ~20: a fraction would give σ ≈ 3
        using var absolute = new NoiseTunnel(new Recorder(model), NoiseTunnelKind.VarGrad, samples: 4000, stdev: 0.5, seed: 5).Attribute(x, 0);
        double variance = absolute.Map.mean().item<double>();
        Assert.True(Math.Abs(variance - 0.25) < 0.02, $"variance of the noise {variance}, expected 0.25");
        Assert.Equal(0.5, absolute.Parameters["stdev"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseTunnel(new Recorder(model), stdev: -1));
    }

    [Fact]
    public void Row_indices_stay_exact_beyond_two_to_the_24_rows()
    {
        // 1,000 examples × 20,000 steps = 2·10⁷ rows: in float32, row 19,999,999 / 1,000 rounds up to step 20,000 (out of range).
        using var model = Nets.Linear(1, 1, seed: 22);
        using var x = Nets.Inputs(new long[] { 1000, 1 }, seed: 23);
        using var ig = new IntegratedGradients(model, 20_000, IntegrationRule.RiemannMiddle).Attribute(x, 0);
        var w = model.parameters().First().detach().item<double>();
        Assert.True(ig.Map.allclose(x * w, atol: 1e-9));
    }

    [Fact]
    public void Gauss_legendre_points_are_exact_and_capped_with_a_clear_message()
    {
        foreach (int n in new[] { 1, 2, 5, 64, 1001 })
        {
            var (a, w) = Quadrature.Points(IntegrationRule.GaussLegendre, n);
            // n points integrate α^k exactly for k ≤ 2n − 1 (checked up to degree 40).
            for (int k = 0; k <= Math.Min(2 * n - 1, 40); k++)
                Assert.True(Math.Abs(a.Zip(w, (x, y) => y * Math.Pow(x, k)).Sum() - 1.0 / (k + 1)) < 1e-12, $"n = {n}, degree {k}");
            Assert.True(a.Zip(a.Skip(1), (p, q) => p < q).All(b => b), $"n = {n}: nodes not increasing");
        }
        // The largest allowed rule is still exact (its cost is a benchmark's business, not a unit test's: timings fail on a loaded machine).
        var (big, weights) = Quadrature.Points(IntegrationRule.GaussLegendre, Quadrature.MaxGaussLegendreSteps);
        Assert.Equal(1.0, weights.Sum(), 10);
        Assert.Equal(1.0 / 3, big.Zip(weights, (x, y) => y * x * x).Sum(), 10);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new IntegratedGradients(Nets.Linear(2, 2, seed: 1), steps: 100_000));
        Assert.Equal("steps", e.ParamName);
        Assert.Contains("RiemannMiddle", e.Message);
        using var riemann = new IntegratedGradients(Nets.Linear(2, 2, seed: 1), steps: 100_000, rule: IntegrationRule.RiemannMiddle).Attribute(torch.ones(1, 2, ScalarType.Float64), 0);
        Assert.True(riemann.ConvergenceDelta!.abs().item<double>() < 1e-9);
    }
}
