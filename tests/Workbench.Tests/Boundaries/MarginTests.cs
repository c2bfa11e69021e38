using TorchSharp;
using Workbench.Boundaries;
using Workbench.Experiments.Boundaries;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Boundaries;

public class MarginTests
{
    public MarginTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Percentiles_follow_numpy_linear_interpolation_and_not_flipped_reads_infinity()
    {
        // numpy.percentile([1, 2, 3, 4, 10], [5, 50, 95]) = [1.2, 3.0, 8.8]
        var s = MarginSummary.Of("s", new[] { 4.0, 1, 10, 3, 2 });
        Assert.Equal(1.2, s.P5, 12);
        Assert.Equal(3.0, s.Median, 12);
        Assert.Equal(8.8, s.P95, 12);
        Assert.Equal(0, s.NotFlipped);
        // One of five not flipped: the 95th percentile reaches it, the median does not.
        var t = MarginSummary.Of("t", new[] { 4.0, 1, double.PositiveInfinity, 3, 2 });
        Assert.Equal(3.0, t.Median, 12);
        Assert.True(double.IsPositiveInfinity(t.P95));
        Assert.Equal(1, t.NotFlipped);
        Assert.Equal("margins", Assert.Throws<ArgumentException>(() => MarginSummary.Of("e", Array.Empty<double>())).ParamName);
        Assert.Equal("margins", Assert.Throws<ArgumentException>(() => MarginSummary.Of("n", new[] { double.NaN })).ParamName);
    }

    [Fact]
    public void Diagonal_dct_blocks_are_21_orthonormal_8x8_subspaces_for_28x28()
    {
        var blocks = DctSubspaces.Diagonal(28, 28);
        try
        {
            Assert.Equal(21, blocks.Count);
            Assert.All(blocks, b => Assert.Equal(64, b.Dimension));
            // Block 0 holds the constant image; block 20 does not.
            using var constant = torch.full(1, 784, 1f / 28);
            using var p0 = blocks[0].Project(constant);
            using var p20 = blocks[20].Project(constant);
            Assert.True((p0 - constant).abs().max().item<float>() < 1e-5);
            Assert.True(p20.abs().max().item<float>() < 1e-5);
        }
        finally { foreach (var b in blocks) b.Dispose(); }
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => DctSubspaces.Diagonal(28, 28, 29)).ParamName);
    }

    [Fact]
    public void The_synthetic_mlp_reads_a_square_dimension_and_the_direction_data_is_along_u()
    {
        var config = BoundariesConfig.Quick with { SyntheticTrain = 50, SyntheticTest = 20 };
        Assert.Equal(10, BoundariesExperiment.SyntheticMlp(config).ImageSize);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => BoundariesExperiment.SyntheticMlp(config with { SyntheticDimension = 99 }));
        Assert.Equal("config", e.ParamName);
        var (u, train, test) = BoundariesExperiment.DiscriminativeData(config);
        using (u) using (train) using (test)
        {
            // ⟨x, u⟩ = ±ε exactly: the noise is orthogonal to u.
            using var along = test.Inputs.matmul(u).abs();
            Assert.True((along - config.Epsilon).abs().max().item<float>() < 1e-4);
            var subspaces = BoundariesExperiment.DiscriminativeSubspaces(u, config);
            Assert.Equal(new long[] { 1, 99, 3, 3 }, subspaces.Select(s => s.Dimension).ToArray());
            // S_ORTH is orthogonal to u.
            using var leak = subspaces[2].Basis.matmul(u).abs().max();
            Assert.True(leak.item<float>() < 1e-5);
            foreach (var s in subspaces) s.Dispose();
        }
    }

    [Fact]
    public void Boundary_radius_of_a_norm_threshold_classifier_is_its_threshold()
    {
        // logits [0, ‖x‖ − 2.5]: the outer class exactly beyond radius 2.5.
        Func<Tensor, Tensor> model = x => torch.stack(new[] { torch.zeros(x.shape[0]), x.flatten(1).norm(1) - 2.5 }, 1);
        using var directions = torch.randn(20, 7);
        var (radius, without) = BoundariesExperiment.BoundaryRadius(model, directions);
        Assert.Equal(2.51, radius, 6); // the first grid radius (steps of 0.01) beyond 2.5
        Assert.Equal(0, without);
        Func<Tensor, Tensor> never = x => torch.stack(new[] { torch.zeros(x.shape[0]), -torch.ones(x.shape[0]) }, 1);
        var (none, all) = BoundariesExperiment.BoundaryRadius(never, directions);
        Assert.True(double.IsPositiveInfinity(none));
        Assert.Equal(20, all);
    }
}
