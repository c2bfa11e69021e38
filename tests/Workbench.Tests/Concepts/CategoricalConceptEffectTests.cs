using TorchSharp;
using Workbench.Concepts;
using Workbench.Data;
using Workbench.Data.Synthetic;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Concepts;

/// <summary>Reads only where the digit is (its support: any channel > 0), never its colour; logits = a seeded linear map of the support.</summary>
sealed class ShapeOnlyNet : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> head;
    public ShapeOnlyNet(int seed) : base("shape-only")
    {
        torch.manual_seed(seed);
        head = nn.Linear(28 * 28, 10);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => head.call(x.amax(new long[] { 1 }).gt(0).to_type(ScalarType.Float32).flatten(1) * 5);
}

/// <summary>Reads only the colour of strokes of intensity 1: logit k = −20 · ‖mean stroke colour − palette colour k‖².</summary>
sealed class ColourOnlyNet : nn.Module<Tensor, Tensor>
{
    public ColourOnlyNet() : base("colour-only") => RegisterComponents();
    public override Tensor forward(Tensor x)
    {
        var support = x.amax(new long[] { 1 }, keepdim: true).gt(0).to_type(x.dtype);
        var colour = (x * support).sum(new long[] { 2, 3 }) / support.sum(new long[] { 2, 3 }).clamp_min(1);
        var d = torch.cdist(colour.unsqueeze(0), ColoredMnist.Palette().unsqueeze(0)).squeeze(0);
        return -20 * d.pow(2);
    }
}

public class CategoricalConceptEffectTests
{
    public CategoricalConceptEffectTests() => TorchRuntime.EnsureLoaded();

    static ColoredMnistSet Set(int n, double sigma, int seed)
    {
        var g = new torch.Generator((ulong)seed);
        var x = torch.ones(new long[] { n, 1, 28, 28 }) * (torch.rand(new long[] { n, 1, 28, 28 }, generator: g) > 0.6).to_type(ScalarType.Float32);
        using var digits = new TensorDataset(x, torch.arange(n, dtype: ScalarType.Int64) % 10, "strokes", 10);
        return ColoredMnist.Generate(digits, sigma, seed);
    }

    static readonly int[] Identity = Enumerable.Range(0, 10).ToArray();

    [Fact]
    public void Gt_cace_of_a_model_that_reads_only_the_shape_is_exactly_zero()
    {
        using var set = Set(60, 0.03, 1);
        using var model = new ShapeOnlyNet(2);
        var gt = CategoricalConceptEffect.FromInterventions(CausalConceptEffect.ClassProbabilities(model), 10, set.WithColour, Identity);
        Assert.Equal(90, gt.Pairs);
        Assert.Equal(0.0, gt.Average);
        for (int a = 0; a < 10; a++)
            for (int b = 0; b < 10; b++) Assert.Equal(0.0, gt.Effects[a, b]);
    }

    [Fact]
    public void Gt_cace_of_a_model_that_reads_only_the_colour_is_large_and_conexp_follows_the_data()
    {
        using var set = Set(200, 0.0, 3);
        using var model = new ColourOnlyNet();
        var gt = CategoricalConceptEffect.FromInterventions(CausalConceptEffect.ClassProbabilities(model), 10, set.WithColour, Identity);
        Assert.True(gt.Average > 0.5, $"Avg-GT-CaCE {gt.Average}");
        Assert.All(Enumerable.Range(0, 10), a => Assert.True(gt.MeanProbabilities[a, a] > 0.5));
    }

    [Fact]
    public void Effects_are_the_closed_form_of_the_mean_probabilities()
    {
        // f_a = P(class a); under do(C = v) the "model" returns the fixed probability row rows[v] for every image.
        var rows = new[] { new[] { 0.7, 0.2, 0.1 }, new[] { 0.1, 0.6, 0.3 }, new[] { 0.3, 0.3, 0.4 } };
        Tensor Render(int v) => torch.full(new long[] { 5, 1 }, (float)v);
        Tensor Probabilities(Tensor x) => torch.tensor(rows.SelectMany(r => r).ToArray(), new long[] { 3, 3 }).index_select(0, x.squeeze(1).to_type(ScalarType.Int64));
        var e = CategoricalConceptEffect.FromInterventions(Probabilities, 3, Render, new[] { 0, 1, 2 }, batchSize: 2);
        Assert.Equal(0.7 - 0.1, e.Effects[0, 1], 6);
        Assert.Equal(0.7 - 0.3, e.Effects[0, 2], 6);
        Assert.Equal(0.6 - 0.2, e.Effects[1, 0], 6);
        Assert.Equal(0.4 - 0.3, e.Effects[2, 1], 6);
        double expected = ((0.6 + 0.4) + (0.4 + 0.3) + (0.4 - 0.1 + 0.4 - 0.3)) / 6;
        Assert.Equal(expected, e.Average, 6);
    }

    [Fact]
    public void Conexp_is_the_difference_of_group_means_and_skips_unobserved_values()
    {
        using var p = torch.tensor(new[] { 0.9f, 0.1f, 0f, 0.5f, 0.5f, 0f, 0.2f, 0.8f, 0f, 0.4f, 0.6f, 0f }, new long[] { 4, 3 });
        using var c = torch.tensor(new long[] { 0, 0, 1, 1 });
        var e = CategoricalConceptEffect.ConExp(p, c, 3, new[] { 0, 1, 2 });
        Assert.Equal(0.7 - 0.3, e.Effects[0, 1], 6);   // E[P0 | C=0] − E[P0 | C=1]
        Assert.Equal(0.7 - 0.3, e.Effects[1, 0], 6);   // E[P1 | C=1] − E[P1 | C=0]
        Assert.True(double.IsNaN(e.Effects[0, 2]));      // value 2 never observed
        Assert.Equal(2, e.Pairs);
        Assert.Equal(0.4, e.Average, 6);
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        Tensor Ones(Tensor x) => torch.ones(x.shape[0], 3);
        Assert.Equal("values", Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalConceptEffect.FromInterventions(Ones, 1, _ => torch.zeros(2, 1), new[] { 0 })).ParamName);
        Assert.Equal("classOfValue", Assert.Throws<ArgumentException>(() => CategoricalConceptEffect.FromInterventions(Ones, 3, _ => torch.zeros(2, 1), new[] { 0, 1 })).ParamName);
        Assert.Equal("classOfValue", Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalConceptEffect.FromInterventions(Ones, 2, _ => torch.zeros(2, 1), new[] { 0, 5 })).ParamName);
        Assert.Equal("render", Assert.Throws<ArgumentException>(() => CategoricalConceptEffect.FromInterventions(Ones, 2, v => torch.zeros(2 + v, 1), new[] { 0, 1 })).ParamName);
        Assert.Equal("probabilities", Assert.Throws<ArgumentException>(() => CategoricalConceptEffect.FromInterventions(x => torch.ones(x.shape[0]), 2, _ => torch.zeros(2, 1), new[] { 0, 1 })).ParamName);
        using var p = torch.ones(4, 3);
        Assert.Equal("concept", Assert.Throws<ArgumentException>(() => CategoricalConceptEffect.ConExp(p, torch.zeros(4, ScalarType.Int64), 3, new[] { 0, 1, 2 })).ParamName);
        Assert.Equal("concept", Assert.Throws<ArgumentException>(() => CategoricalConceptEffect.ConExp(p, torch.zeros(3, ScalarType.Int64), 3, new[] { 0, 1, 2 })).ParamName);
        Assert.Equal("outputProbabilities", Assert.Throws<ArgumentException>(() => CategoricalConceptEffect.ConExp(torch.ones(4), torch.zeros(4, ScalarType.Int64), 3, new[] { 0, 1, 2 })).ParamName);
    }
}
