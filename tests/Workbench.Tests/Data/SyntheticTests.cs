using TorchSharp;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Data.Transforms;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Data;

public class SyntheticTests
{
    public SyntheticTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Bars_confounding_matches_the_setting_and_counterfactual_switches_only_colour()
    {
        using var bars = Bars.Generate(4000, pGreenGivenVertical: 0.99, pGreenGivenHorizontal: 0.01, seed: 1);
        var vertical = bars.Factors.Where(f => f.Vertical).ToList();
        var horizontal = bars.Factors.Where(f => !f.Vertical).ToList();
        Assert.InRange(vertical.Count(f => f.Green) / (double)vertical.Count, 0.98, 1.0);
        Assert.InRange(horizontal.Count(f => f.Green) / (double)horizontal.Count, 0.0, 0.02);

        using var cf = bars.Counterfactual();
        // Same pixels overall (channel sum), different colour channel for every image.
        Assert.True(cf.sum(1).equal(bars.Data.Inputs.sum(1)).all().item<bool>());
        Assert.False(cf[0].equal(bars.Data.Inputs[0]).all().item<bool>());
        using var green = bars.WithColour(true);
        Assert.Equal(0f, green[.., 0].sum().item<float>());

        using var conditions = bars.Conditions();
        using var forced = bars.Conditions(green: false);
        var f0 = bars.Factors[0];
        Assert.Equal(new[] { f0.Green ? 0f : 1, f0.Green ? 1f : 0, f0.Vertical ? 0f : 1, f0.Vertical ? 1f : 0 }, conditions[0].data<float>().ToArray());
        Assert.Equal(4000f, forced.select(1, 0).sum().item<float>());
        Assert.True(forced.narrow(1, 2, 2).equal(conditions.narrow(1, 2, 2)).all().item<bool>());

        using var again = Bars.Generate(4000, 0.99, 0.01, seed: 1);
        Assert.True(again.Data.Inputs.equal(bars.Data.Inputs).all().item<bool>());
        using var other = Bars.Generate(4000, 0.99, 0.01, seed: 2);
        Assert.False(other.Data.Inputs.equal(bars.Data.Inputs).all().item<bool>());
    }

    [Fact]
    public void Hyperspheres_lie_on_their_radii_with_labels_by_boundary()
    {
        using var s = Generators.Hyperspheres(100, new[] { 1.0, 3.0, 4.0, 5.0 }, dimension: 10, seed: 3);
        using var norms = s.Inputs.norm(1);
        var radii = norms.data<float>().ToArray();
        var labels = s.Labels.data<long>().ToArray();
        for (int i = 0; i < radii.Length; i++)
        {
            Assert.Equal(new[] { 1.0, 3.0, 4.0, 5.0 }[i / 100], radii[i], 4);
            Assert.Equal(radii[i] < 3.5 ? 0 : 1, labels[i]);
        }
    }

    [Fact]
    public void Discriminative_direction_separates_only_along_u()
    {
        using var u = torch.zeros(4, 4);
        u[1, 2] = torch.tensor(1f);
        using var d = Generators.DiscriminativeDirection(500, u, epsilon: 0.5, sigma: 2.0, seed: 4);
        using var along = d.Inputs.reshape(500, 16)[.., 6];
        var signs = (along.sign() + 1) / 2;
        Assert.True(signs.to_type(ScalarType.Int64).equal(d.Labels).all().item<bool>());
        Assert.True((along.abs() - 0.5).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Sinusoids_are_the_sum_of_their_components()
    {
        var amps = Enumerable.Repeat(1.0, 10).ToArray();
        using var m = Generators.Sinusoids(200, amps, seed: 5);
        double z = m.Z[17, 0].item<float>();
        double expected = Enumerable.Range(0, 10).Sum(i => Math.Sin(2 * Math.PI * m.Frequencies[i] * z + m.Phases[i]));
        Assert.Equal(expected, m.Values[17].item<float>(), 4);
        Assert.Equal(new[] { 5.0, 10, 15, 20, 25, 30, 35, 40, 45, 50 }, m.Frequencies);
    }

    [Fact]
    public void Ambiguous_bars_hide_the_orientation_and_fraction_zero_is_the_seeds_bars()
    {
        using var plain = Bars.Generate(500, 0.9, 0.1, seed: 12);
        using var zero = Bars.Generate(500, 0.9, 0.1, seed: 12, ambiguousFraction: 0);
        Assert.True(plain.Data.Inputs.equal(zero.Data.Inputs).all().item<bool>());
        Assert.DoesNotContain(zero.Factors, f => f.Ambiguous);

        using var mixed = Bars.Generate(2000, 0.9, 0.1, seed: 12, ambiguousFraction: 0.5);
        Assert.InRange(mixed.Factors.Count(f => f.Ambiguous) / 2000.0, 0.45, 0.55);
        // An ambiguous image is the same picture whatever its orientation: only its label differs.
        var ambiguous = mixed.Factors.Where(f => f.Ambiguous).Take(20).ToList();
        using var asIs = Bars.Render(ambiguous, 28);
        using var flipped = Bars.Render(ambiguous.Select(f => f with { Vertical = !f.Vertical }).ToList(), 28);
        Assert.True(asIs.equal(flipped).all().item<bool>());
        Assert.Equal(Bars.AmbiguousSide * Bars.AmbiguousSide, asIs[0].sum().item<float>());
        // The colour counterfactual still changes only the colour.
        using var swapped = mixed.Counterfactual();
        Assert.True(swapped.sum(1).equal(mixed.Data.Inputs.sum(1)).all().item<bool>());
        Assert.Equal("ambiguousFraction", Assert.Throws<ArgumentOutOfRangeException>(() => Bars.Generate(10, 0.5, 0.5, 0, ambiguousFraction: 1.5)).ParamName);
    }

    [Fact]
    public void Fourier_low_and_high_pass_add_up_to_the_image()
    {
        using var x = torch.rand(2, 1, 28, 28, generator: new torch.Generator(7));
        using var low = FourierFilter.LowPass(x, 4);
        using var high = FourierFilter.HighPass(x, 4);
        Assert.True((low + high).allclose(x, atol: 1e-5));
        // Radius 0 keeps only the mean.
        using var dc = FourierFilter.LowPass(x, 0);
        Assert.True(dc.allclose(x.mean(new long[] { -2, -1 }, keepdim: true).expand_as(x), atol: 1e-5));
    }

    [Fact]
    public void Dct_is_orthonormal_and_flipping_is_an_involution()
    {
        using var c = Dct2D.Matrix(28, ScalarType.Float64);
        Assert.True(c.matmul(c.t()).allclose(torch.eye(28, dtype: ScalarType.Float64), atol: 1e-10));
        using var x = torch.rand(3, 1, 28, 28, generator: new torch.Generator(8));
        using var y = Dct2D.Forward(x);
        Assert.True(Dct2D.Inverse(y).allclose(x, atol: 1e-5));
        Assert.Equal(x.pow(2).sum().item<float>(), y.pow(2).sum().item<float>(), 1); // Parseval
        Assert.True(Dct2D.Flip(Dct2D.Flip(x)).allclose(x, atol: 1e-5));
        Assert.False(Dct2D.Flip(x).allclose(x, atol: 1e-3));
    }

    [Fact]
    public void Dct_diagonal_blocks_project_onto_orthonormal_subspaces()
    {
        Assert.Equal(21, Dct2D.DiagonalBlockCount(28, 28));
        using var mask = Dct2D.DiagonalBlockMask(28, 28, 5);
        using var basis = Dct2D.Basis(mask);
        Assert.Equal(new long[] { 64, 784 }, basis.shape);
        Assert.True(basis.matmul(basis.t()).allclose(torch.eye(64), atol: 1e-5));
        using var x = torch.rand(2, 1, 28, 28, generator: new torch.Generator(9));
        using var p = Dct2D.Project(x, mask);
        using var viaBasis = x.reshape(2, 784).matmul(basis.t()).matmul(basis).reshape(2, 1, 28, 28);
        Assert.True(p.allclose(viaBasis, atol: 1e-4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dct2D.DiagonalBlockMask(28, 28, 21));
    }
}
