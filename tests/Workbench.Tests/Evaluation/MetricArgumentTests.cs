using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Runtime;
using Workbench.Tests.Attribution;
using static TorchSharp.torch;

namespace Workbench.Tests.Evaluation;

/// <summary>Bad arguments to the metrics are refused with an error naming the argument, the expected and the actual
/// value, instead of broadcasting, truncating or scoring garbage (issue 19: S1-S4, S7, S8, U3, U4).</summary>
public class MetricArgumentTests
{
    public MetricArgumentTests() => TorchRuntime.EnsureLoaded();

    const int N = 4;

    /// <summary>Every metric that takes a model and one target per example, called on [4, 1, 8, 8] images of a 3-class CNN.</summary>
    public static readonly Dictionary<string, Action<Func<Tensor, Tensor>, Tensor, Tensor, Tensor>> ModelMetrics = new()
    {
        ["deletion_insertion"] = (f, x, t, m) => DeletionInsertion.Evaluate(f, x, t, m, steps: 4),
        ["faithfulness_correlation"] = (f, x, t, m) => FaithfulnessCorrelation.Evaluate(f, x, t, m, samples: 3),
        ["infidelity"] = (f, x, t, m) => Infidelity.Evaluate(f, x, t, m, samples: 2),
        ["region_perturbation"] = (f, x, t, m) => RegionPerturbation.Evaluate(f, x, t, m, patch: 2, steps: 3),
        ["pixel_perturbation"] = (f, x, t, m) => PixelPerturbation.Evaluate(f, x, t, m, [0.0, 0.5]),
        ["pixel_perturbation_per_image"] = (f, x, t, m) => PixelPerturbation.EvaluatePerImage(f, x, t, m, [0.0, 0.5]),
        ["completeness"] = (f, x, t, m) => Axioms.Completeness(f, x, t, m),
        ["non_sensitivity"] = (f, x, t, m) => Axioms.NonSensitivity(f, x, t, m),
        ["density_ratio"] = (f, x, t, _) => Workbench.Evaluation.ModelMetrics.DensityRatio(f, x, t, [0.1]),
        ["robustness"] = (f, x, t, m) => Robustness.Evaluate(x, t, (a, _) => a.clone(), samples: 2),
        ["random_logit"] = (f, x, t, m) => RandomLogit.Evaluate(x, t, 3, (a, _) => a.clone()),
    };

    public static TheoryData<string> ModelMetricNames => new(ModelMetrics.Keys);

    /// <summary>A 3-class CNN, [4, 1, 8, 8] images, maps like them and valid targets; disposed together.</summary>
    sealed class Case : IDisposable
    {
        public readonly nn.Module<Tensor, Tensor> Model = Nets.Cnn(1);
        public readonly Tensor X = Nets.Inputs(new long[] { N, 1, 8, 8 }, seed: 2, 0, 1);
        public readonly Tensor Maps = Nets.Inputs(new long[] { N, 1, 8, 8 }, seed: 3);
        public readonly Tensor T = torch.tensor(new long[] { 0, 1, 2, 0 });
        public void Dispose() { Model.Dispose(); X.Dispose(); Maps.Dispose(); T.Dispose(); }
    }

    // S1 (a single target broadcast to the batch) and S8 (extra targets silently ignored).
    [Theory]
    [MemberData(nameof(ModelMetricNames))]
    public void Targets_not_one_per_example_are_refused_naming_expected_and_actual(string metric)
    {
        using var c = new Case();
        var (model, x, maps) = (c.Model, c.X, c.Maps);
        foreach (var length in new[] { 1, N + 1 })
        {
            using var t = torch.zeros(length, ScalarType.Int64);
            var e = Assert.ThrowsAny<ArgumentException>(() => ModelMetrics[metric](model.call, x, t, maps));
            Assert.Contains("targets", e.Message.Replace("labels", "targets"));
            Assert.Contains($"[{N}]", e.Message);
            Assert.Contains($"[{length}]", e.Message);
        }
    }

    // U3/U4: a class the model does not have is an argument error, not a libtorch index error.
    [Theory]
    [MemberData(nameof(ModelMetricNames))]
    public void Targets_out_of_range_are_refused_naming_the_range(string metric)
    {
        using var c = new Case();
        var (model, x, maps) = (c.Model, c.X, c.Maps);
        foreach (var bad in new long[] { 3, -1 })
        {
            if (metric == "robustness") continue; // takes no model: any label is the explainer's business
            using var t = torch.tensor(new long[] { 0, 1, bad, 2 });
            var e = Assert.ThrowsAny<ArgumentException>(() => ModelMetrics[metric](model.call, x, t, maps));
            Assert.Contains("[0, 2]", e.Message);
            Assert.Contains(bad.ToString(), e.Message);
        }
    }

    [Fact]
    public void Targets_that_are_not_int64_are_refused()
    {
        using var c = new Case();
        var (model, x, maps) = (c.Model, c.X, c.Maps);
        using var t = torch.tensor(new[] { 0.0f, 1, 2, 0.5f });
        var e = Assert.ThrowsAny<ArgumentException>(() => DeletionInsertion.Evaluate(model, x, t, maps));
        Assert.Contains("Float32", e.Message);
        using var bytes = torch.tensor(new byte[] { 0, 1, 1, 0 }); // as an index, a uint8 tensor would be a mask
        Assert.Contains("Byte", Assert.ThrowsAny<ArgumentException>(() => Axioms.NonSensitivity(model, x, bytes, maps)).Message);
    }

    // S8 (metrics part): a model that returns one row whatever the batch is not scored.
    [Fact]
    public void A_model_returning_the_wrong_number_of_rows_is_refused()
    {
        using var c = new Case();
        var (model, x, maps, t) = (c.Model, c.X, c.Maps, c.T);
        Func<Tensor, Tensor> oneRow = input => model.call(input).narrow(0, 0, 1);
        // Robustness and the random-logit test take no model; the per-image reference only ever passes one row.
        foreach (var (name, metric) in ModelMetrics.Where(m => m.Key is not ("robustness" or "random_logit" or "pixel_perturbation_per_image")))
        {
            // The metrics call the model through AttributionModel, as the methods do: the same contract, the same error.
            var e = Assert.Throws<ModelContractException>(() => metric(oneRow, x, t, maps));
            Assert.True(e.Message.Contains("one output row per example"), $"{name}: {e.Message}");
        }
    }

    // U4: patch 0 or larger than the image.
    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void Region_perturbation_patch_outside_the_image_is_refused(int patch)
    {
        using var c = new Case();
        var (model, x, maps, t) = (c.Model, c.X, c.Maps, c.T);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RegionPerturbation.Evaluate(model, x, t, maps, patch: patch));
        Assert.Equal("patch", e.ParamName);
        Assert.Contains("[1, 8]", e.Message);
    }

    // S3: zero samples.
    [Fact]
    public void Zero_samples_are_refused()
    {
        using var c = new Case();
        var (model, x, maps, t) = (c.Model, c.X, c.Maps, c.T);
        Assert.Equal("samples", Assert.Throws<ArgumentOutOfRangeException>(() => FaithfulnessCorrelation.Evaluate(model, x, t, maps, samples: 0)).ParamName);
        Assert.Equal("samples", Assert.Throws<ArgumentOutOfRangeException>(() => Infidelity.Evaluate(model, x, t, maps, samples: 0)).ParamName);
        Assert.Equal("samples", Assert.Throws<ArgumentOutOfRangeException>(() => Robustness.Evaluate(x, t, (a, _) => a.clone(), samples: 0)).ParamName);
    }

    // S3: NaN maps gave numbers (Spearman 0.002).
    [Fact]
    public void Maps_with_nan_are_refused_naming_the_example()
    {
        using var c = new Case();
        var (model, x, maps, t) = (c.Model, c.X, c.Maps, c.T);
        using var nan = maps.clone();
        nan[2, 0, 3, 3] = torch.tensor(float.NaN);
        var calls = new Dictionary<string, Action>
        {
            ["spearman"] = () => SpearmanRankCorrelation.Evaluate(maps, nan),
            ["pearson"] = () => PearsonCorrelation.Evaluate(nan, maps),
            ["ssim"] = () => Ssim.Evaluate(maps, nan),
            ["topk"] = () => TopKIntersection.Evaluate(maps, nan),
            ["complexity"] = () => Complexity.Evaluate(nan),
            ["sparseness"] = () => Sparseness.Evaluate(nan),
            ["pointing"] = () => Localisation.PointingGame(nan, torch.ones(N, 8, 8)),
            ["deletion"] = () => DeletionInsertion.Evaluate(model, x, t, nan),
            ["completeness"] = () => Axioms.Completeness(model, x, t, nan),
        };
        foreach (var (name, call) in calls)
        {
            var e = Assert.ThrowsAny<ArgumentException>(call);
            Assert.True(e.Message.Contains("NaN") && e.Message.Contains("example 2"), $"{name}: {e.Message}");
        }
    }

    [Fact]
    public void Mean_does_not_drop_undefined_samples_silently()
    {
        var r = new MetricResult("m", [1.0, double.NaN, 3.0]);
        Assert.True(double.IsNaN(r.Mean));
        Assert.True(double.IsNaN(r.Std));
        Assert.Equal(1, r.Undefined);
        Assert.Equal(2.0, r.DefinedMean, 12);
        Assert.Equal(Math.Sqrt(2), r.DefinedStd, 12);
    }

    // S4: an all-zero map explains nothing; it must not score as the simplest / a located one.
    [Fact]
    public void All_zero_maps_are_undefined_not_simplest()
    {
        using var maps = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 4);
        maps[1].zero_();
        using var mask = torch.zeros(3, 8, 8);
        mask[.., ..4, ..] = torch.tensor(1f);
        foreach (var r in new[] { Complexity.Evaluate(maps), Sparseness.Evaluate(maps), Localisation.PointingGame(maps, mask), Localisation.RelevanceMass(maps, mask) })
        {
            Assert.True(double.IsNaN(r.PerSample[1]), $"{r.Metric}: {r.PerSample[1]}");
            Assert.True(double.IsFinite(r.PerSample[0]) && double.IsFinite(r.PerSample[2]), r.Metric);
            Assert.Equal(1, r.Undefined);
        }
    }

    // S2: flat maps [4, 784] were read as one 4x784 image: one value for the batch.
    [Fact]
    public void Hog_correlation_is_per_sample_and_refuses_flat_maps()
    {
        using var a = Nets.Inputs(new long[] { N, 28, 28 }, seed: 5);
        using var b = Nets.Inputs(new long[] { N, 28, 28 }, seed: 6);
        Assert.Equal(N, HogCorrelation.Evaluate(a, b).PerSample.Length);
        using var flatA = a.reshape(N, 784);
        using var flatB = b.reshape(N, 784);
        var e = Assert.Throws<ArgumentException>(() => HogCorrelation.Evaluate(flatA, flatB));
        Assert.Contains("[4, 784]", e.Message);
    }

    static nn.Module<Tensor, Tensor> BatchNormNet()
    {
        TorchRuntime.Seed(7);
        var features = nn.Sequential(("conv", nn.Conv2d(1, 2, 3, padding: 1)), ("bn", nn.BatchNorm2d(2)));
        var m = nn.Sequential(("features", features), ("flatten", nn.Flatten()), ("fc", nn.Linear(128, 3)));
        m.to(ScalarType.Float64);
        return m;
    }

    // S7: a model in training mode given to a metric: no batch-norm update, every submodule's own mode restored.
    [Fact]
    public void A_training_mode_model_is_evaluated_in_eval_mode_and_every_module_keeps_its_mode()
    {
        using var model = BatchNormNet();
        model.train();
        var fc = model.named_modules().Single(m => m.name == "fc").module;
        fc.eval(); // a submodule the user froze
        var bn = model.named_modules().Single(m => m.name == "features.bn").module;
        var conv = model.named_modules().Single(m => m.name == "features.conv").module;
        conv.eval(); // frozen, nested under a module in training mode
        var running = bn.named_buffers().Single(b => b.name == "running_mean").buffer;
        using var before = running.clone();
        using var x = Nets.Inputs(new long[] { N, 1, 8, 8 }, seed: 8, 0, 1);
        using var maps = Nets.Inputs(new long[] { N, 1, 8, 8 }, seed: 9);
        using var t = torch.zeros(N, ScalarType.Int64);
        var asMethod = DeletionInsertion.Evaluate(model, x, t, maps, steps: 3).Deletion;
        var asLambda = DeletionInsertion.Evaluate(new AttributionModel(input => model.call(input)), x, t, maps, steps: 3).Deletion;
        Assert.True(running.equal(before).all().item<bool>(), "batch-norm running statistics changed");
        Assert.Equal(asMethod.PerSample, asLambda.PerSample);
        Assert.True(model.training);
        Assert.True(bn.training);
        Assert.False(fc.training);
        Assert.False(conv.training);
    }

    [Fact]
    public void Modules_behind_a_function_are_found_in_its_target_and_closures()
    {
        using var model = BatchNormNet();
        Func<Tensor, Tensor> f = model.call;
        Func<Tensor, Tensor> nested = input => f(input.flatten(1));
        Assert.Same(model, EvalMode.ModulesBehind(f).Single());
        Assert.Same(model, EvalMode.ModulesBehind(nested).Single());
        Assert.Empty(EvalMode.ModulesBehind((Func<Tensor, Tensor>)(input => input * 2)));
    }
}
