using TorchSharp;
using Workbench.Models;
using Workbench.Representations;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Representations;

public class KnowledgeConsistencyTests
{
    static readonly KnowledgeConsistencyOptions Fast = new() { Epochs = 40, LearningRate = 3e-2, FinalLearningRate = 1e-3, BatchSize = 64 };

    /// <summary>Source features x ~ N(0, 1) [n, 4, 6, 6] from a seeded generator.</summary>
    static Tensor Gaussian(long n, int seed, params long[] shape)
    {
        using var g = new torch.Generator((ulong)seed);
        return torch.randn(new[] { n }.Concat(shape).ToArray(), generator: g);
    }

    /// <summary>A fixed 3×3 convolution 4 → 4 without bias: an exact linear relation between the two feature maps.</summary>
    static Tensor LinearMap(Tensor x)
    {
        using var g = new torch.Generator(7);
        using var w = torch.randn(new long[] { 4, 4, 3, 3 }, generator: g) * 0.3;
        return nn.functional.conv2d(x, w, padding: new long[] { 1, 1 });
    }

    [Fact]
    public void Exact_linear_relation_puts_almost_all_variance_in_order_zero_and_leaves_no_residual()
    {
        TorchRuntime.EnsureLoaded();
        using var train = Gaussian(512, 1, 4, 6, 6);
        using var test = Gaussian(256, 2, 4, 6, 6);
        FeaturePair pairs = x => (x, LinearMap(x));
        using var fit = KnowledgeConsistency.Fit(pairs, train, Fast);
        Assert.False(fit.Outcome.Diverged, fit.Outcome.Failure);
        var m = KnowledgeConsistency.Measure(fit, pairs, test, "synthetic");
        Assert.True(m.Ok, m.Status);
        double total = m.OrderVariances!.Sum() + m.ResidualVariance!.Value;
        Assert.True(m.OrderVariances![0] / total > 0.9, $"order-0 share {m.OrderVariances[0] / total:F3}; variances [{string.Join(", ", m.OrderVariances.Select(v => v.ToString("G3")))}], residual {m.ResidualVariance:G3}");
        Assert.True(m.ResidualVariance / m.TargetVariance < 0.02, $"residual {m.ResidualVariance:G3} of target variance {m.TargetVariance:G3}");
        Assert.True(m.Instability < 0.02, $"instability {m.Instability:F3}");
    }

    [Fact]
    public void Independent_random_features_leave_the_residual_dominant()
    {
        TorchRuntime.EnsureLoaded();
        using var train = Gaussian(512, 3, 4, 6, 6);
        using var test = Gaussian(256, 4, 4, 6, 6);
        // The target is noise drawn independently of x (a second generator keyed on nothing in x): nothing to reconstruct.
        using var noise = new torch.Generator(11);
        FeaturePair pairs = x => (x, torch.randn(x.shape, generator: noise));
        using var fit = KnowledgeConsistency.Fit(pairs, train, Fast);
        var m = KnowledgeConsistency.Measure(fit, pairs, test, "synthetic");
        Assert.True(m.Ok, m.Status);
        Assert.True(m.Instability > 0.8, $"instability {m.Instability:F3}; variances [{string.Join(", ", m.OrderVariances!.Select(v => v.ToString("G3")))}], residual {m.ResidualVariance:G3}");
    }

    [Fact]
    public void Vector_features_use_linear_branches_and_the_same_decomposition()
    {
        TorchRuntime.EnsureLoaded();
        using var train = Gaussian(512, 5, 8);
        using var test = Gaussian(256, 6, 8);
        using var g = new torch.Generator(9);
        using var w = torch.randn(new long[] { 8, 8 }, generator: g);
        FeaturePair pairs = x => (x, x.matmul(w));
        using var fit = KnowledgeConsistency.Fit(pairs, train, Fast with { Epochs = 80 });
        var m = KnowledgeConsistency.Measure(fit, pairs, test, "vector");
        Assert.True(m.Ok, m.Status);
        Assert.True(m.Instability < 0.02, $"instability {m.Instability:F3}");
        // Shares as in the paper's Table 2: of the sum of the components' variances (the components are not uncorrelated).
        Assert.True(m.OrderVariances![0] / (m.OrderVariances.Sum() + m.ResidualVariance!.Value) > 0.9,
            $"order variances [{string.Join(", ", m.OrderVariances.Select(v => v.ToString("G3")))}] of target {m.TargetVariance:G3}");
    }

    [Fact]
    public void Instability_reproduces_the_papers_table_1_from_its_table_2()
    {
        // Table 2 (different initialisations): Var(x⁽⁰⁾), Var(x⁽¹⁾), Var(x⁽²⁾), Var(x^Δ) → Table 1's instability.
        Assert.Equal(0.086, KnowledgeConsistency.InstabilityOf(new[] { 105.80, 10.51, 1.92 }, 11.14), 3);
        Assert.Equal(0.116, KnowledgeConsistency.InstabilityOf(new[] { 424.67, 73.73, 43.69 }, 71.37), 3);
        Assert.Equal(0.776, KnowledgeConsistency.InstabilityOf(new[] { 0.66, 0.10, 0.03 }, 2.75), 2);
    }

    [Fact]
    public void Same_seed_gives_the_same_decomposition()
    {
        TorchRuntime.EnsureLoaded();
        using var train = Gaussian(128, 1, 4, 6, 6);
        FeaturePair pairs = x => (x, LinearMap(x).relu());
        var options = Fast with { Epochs = 3, Seed = 5 };
        ConsistencyMeasurement Once() { using var fit = KnowledgeConsistency.Fit(pairs, train, options); return KnowledgeConsistency.Measure(fit, pairs, train, "x"); }
        var a = Once();
        var b = Once();
        Assert.Equal(a.OrderVariances, b.OrderVariances);
        Assert.Equal(a.ResidualVariance, b.ResidualVariance);
    }

    [Fact]
    public void Mismatched_shapes_empty_inputs_and_bad_options_are_errors_naming_the_argument()
    {
        TorchRuntime.EnsureLoaded();
        using var x = Gaussian(16, 1, 4, 6, 6);
        FeaturePair mismatched = t => (t, t.narrow(2, 0, 5).narrow(3, 0, 5));
        var shape = Assert.Throws<ArgumentException>(() => KnowledgeConsistency.Fit(mismatched, x, Fast));
        Assert.Equal("pairs", shape.ParamName);
        Assert.Contains("[16, 4, 5, 5]", shape.Message);
        FeaturePair identity = t => (t, t);
        using var empty = torch.zeros(0, 4, 6, 6);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => KnowledgeConsistency.Fit(identity, empty, Fast)).ParamName);
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => KnowledgeConsistency.Fit(identity, x, Fast with { Epochs = 0 })).ParamName);
    }

    [Fact]
    public void A_diverging_fit_is_reported_in_the_measurement_not_as_NaN()
    {
        TorchRuntime.EnsureLoaded();
        using var x = Gaussian(64, 1, 4, 6, 6);
        // A learning rate of 1e30: the weights after one Adam step are ~1e30 and the next squared error overflows float32.
        FeaturePair huge = t => (t, t.relu());
        using var fit = KnowledgeConsistency.Fit(huge, x, Fast with { LearningRate = 1e30, FinalLearningRate = 1e30 });
        Assert.True(fit.Outcome.Diverged);
        var m = KnowledgeConsistency.Measure(fit, huge, x, "huge");
        Assert.False(m.Ok);
        Assert.Contains("diverged", m.Status);
        Assert.Null(m.Instability);
        Assert.Null(m.OrderVariances);
        using var labels = torch.zeros(64, ScalarType.Int64);
        labels[..32] = torch.tensor(1L);
        var rows = FeatureRefinement.Run(fit, x, x, labels, x, x, labels, new ProbeOptions { Epochs = 1 });
        Assert.Contains(rows, r => r.Accuracy is null && r.Status.Contains("diverged"));
        Assert.All(rows.Where(r => r.Accuracy is not null), r => Assert.True(double.IsFinite(r.Accuracy!.Value)));
    }

    [Fact]
    public void Refinement_on_consistent_components_classifies_a_linearly_related_target_as_well_as_raw_features()
    {
        TorchRuntime.EnsureLoaded();
        using var train = Gaussian(512, 1, 4, 6, 6);
        using var test = Gaussian(256, 2, 4, 6, 6);
        // Labels from the sign of a fixed linear read-out of the target: learnable from raw and consistent features alike.
        Tensor Labels(Tensor x) => LinearMap(x).sum(new long[] { 1, 2, 3 }).gt(0).to_type(ScalarType.Int64);
        FeaturePair pairs = x => (x, LinearMap(x));
        using var fit = KnowledgeConsistency.Fit(pairs, train, Fast);
        using var trainLabels = Labels(train);
        using var testLabels = Labels(test);
        using var trainTarget = LinearMap(train);
        using var testTarget = LinearMap(test);
        var rows = FeatureRefinement.Run(fit, train, trainTarget, trainLabels, test, testTarget, testLabels, new ProbeOptions { Epochs = 20 });
        Assert.Equal(new[] { "network A (raw)", "network B (raw)", "x⁽⁰⁾", "x⁽⁰⁾ + x⁽¹⁾", "x⁽⁰⁾ + x⁽¹⁾ + x⁽²⁾" }, rows.Select(r => r.Features));
        // Chance is 0.5; the consistent components carry the whole target, so they classify as well as its raw features.
        double raw = rows[1].Accuracy!.Value;
        Assert.True(raw > 0.75, $"raw target features: {raw:F3}");
        Assert.All(rows.Skip(2), r => Assert.True(r.Accuracy > raw - 0.05, $"{r.Features}: {r.Accuracy:F3} vs raw {raw:F3}"));
    }
}
