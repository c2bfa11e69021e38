using MathNet.Numerics.Distributions;
using TorchSharp;
using Workbench.Concepts;
using Workbench.Data.Synthetic;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Concepts;

/// <summary>
/// A net whose layer "hidden" is the identity on R^d, then a head: <c>usesConcept</c> → logit₁ = h₀
/// (the concept's coordinate), else logit₁ = ½ Σ_{j≥1} h_j² (blind to h₀). logit₀ = 0. "spare" never runs.
/// </summary>
sealed class ConceptProbeNet : nn.Module<Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> hidden;
    readonly nn.Module<Tensor, Tensor> spare = nn.ReLU(); // registered, never run: a layer with no activations
    readonly bool _usesConcept;

    public ConceptProbeNet(int d, bool usesConcept) : base("probe")
    {
        var linear = nn.Linear(d, d);
        using (torch.no_grad())
        {
            linear.weight!.copy_(torch.eye(d));
            linear.bias!.zero_();
        }
        hidden = linear;
        _usesConcept = usesConcept;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = hidden.call(x);
        var logit = _usesConcept ? h.select(1, 0) : 0.5 * h.narrow(1, 1, h.shape[1] - 1).pow(2).sum(1);
        return torch.stack(new[] { torch.zeros_like(logit), logit }, 1);
    }
}

public class ConceptTests
{
    public ConceptTests() => TorchRuntime.EnsureLoaded();

    static Tensor Gaussian(long n, long d, int seed, double shift0 = 0)
    {
        using var g = new torch.Generator((ulong)seed);
        var x = torch.randn(new[] { n, d }, generator: g);
        if (shift0 != 0) x[.., 0] += shift0;
        return x;
    }

    [Fact]
    public void Cav_of_a_linearly_separable_set_recovers_the_separating_direction()
    {
        const int d = 10;
        // Two Gaussian clouds (σ = 0.02) at ±0.1 u, u a random unit vector: separable with a margin of 5σ. At this
        // scale most points stay inside the hinge's margin (α = 0.01), so the fit averages over all of them.
        using var g = new torch.Generator(11);
        using var u = torch.randn(new long[] { d }, generator: g);
        u.div_(u.norm());
        using var concept = Gaussian(300, d, 1) * 0.02 + 0.1 * u;
        using var negative = Gaussian(300, d, 2) * 0.02 - 0.1 * u;
        using var cav = ConceptActivationVector.Train(concept, negative, new CavOptions { Seed = 3 });
        double cosine = cav.Direction.dot(u).item<float>();
        Assert.True(cosine > 0.99, $"cosine(CAV, u) = {cosine}");
        Assert.Equal(1.0, cav.HeldOutAccuracy);
        Assert.False(cav.AtChance);
        Assert.Null(cav.Warning);
        Assert.Equal(1.0, cav.Direction.norm().item<float>(), 5);
        // Stratified 33 % hold-out of the balanced sets.
        Assert.Equal(2 * 99, cav.TestCount);
        Assert.Equal(2 * 201, cav.TrainCount);
    }

    [Fact]
    public void Cav_of_indistinguishable_sets_is_flagged_at_chance()
    {
        using var a = Gaussian(150, 6, 4);
        using var b = Gaussian(150, 6, 5);
        using var cav = ConceptActivationVector.Train(a, b, new CavOptions { Seed = 1 });
        Assert.True(cav.AtChance, $"accuracy {cav.HeldOutAccuracy}");
        Assert.Contains("at chance", cav.Warning);
    }

    [Fact]
    public void Cav_is_deterministic_for_a_seed()
    {
        using var a = Gaussian(80, 5, 6, shift0: 1);
        using var b = Gaussian(80, 5, 7);
        using var c1 = ConceptActivationVector.Train(a, b, new CavOptions { Seed = 2 });
        using var c2 = ConceptActivationVector.Train(a, b, new CavOptions { Seed = 2 });
        Assert.True(c1.Direction.equal(c2.Direction).all().item<bool>());
        Assert.Equal(c1.HeldOutAccuracy, c2.HeldOutAccuracy);
    }

    [Fact]
    public void Cav_rejects_too_small_or_mismatched_sets()
    {
        using var one = torch.zeros(1, 4);
        using var four = torch.randn(5, 4);
        using var five = torch.randn(5, 5);
        Assert.Equal("conceptActivations", Assert.Throws<ArgumentException>(() => ConceptActivationVector.Train(one, four)).ParamName);
        Assert.Equal("negativeActivations", Assert.Throws<ArgumentException>(() => ConceptActivationVector.Train(four, one)).ParamName);
        var shape = Assert.Throws<ArgumentException>(() => ConceptActivationVector.Train(four, five));
        Assert.Equal("negativeActivations", shape.ParamName);
        Assert.Contains("[5, 5]", shape.Message);
        Assert.Equal("TestFraction", Assert.Throws<ArgumentOutOfRangeException>(() => ConceptActivationVector.Train(four, four, new CavOptions { TestFraction = 1 })).ParamName);
    }

    [Fact]
    public void Layer_activations_name_a_missing_or_silent_layer()
    {
        using var net = new ConceptProbeNet(4, usesConcept: true);
        using var x = torch.randn(3, 4);
        var missing = Assert.Throws<ArgumentException>(() => LayerActivations.Collect(net, "nope", x));
        Assert.Equal("layer", missing.ParamName);
        Assert.Contains("hidden", missing.Message); // lists the layers that exist
        var silent = Assert.Throws<ArgumentException>(() => LayerActivations.Collect(net, "spare", x));
        Assert.Equal("layer", silent.ParamName);
        Assert.Contains("produced no activations", silent.Message);
        using var a = LayerActivations.Collect(net, "hidden", x);
        Assert.True(a.allclose(x, 1e-6, 1e-6));
        var (acts, grads) = LayerActivations.WithTargetGradient(net, "hidden", x, targetClass: 1);
        // logit₁ = h₀: the gradient is e₀ for every example.
        using var e0 = torch.zeros(3, 4);
        e0[.., 0] = torch.tensor(1f);
        Assert.True(grads.allclose(e0));
        acts.Dispose(); grads.Dispose();
        Assert.Equal("targetClass", Assert.Throws<ArgumentOutOfRangeException>(() => LayerActivations.WithTargetGradient(net, "hidden", x, 2)).ParamName);
    }

    [Fact]
    public void Tcav_score_counts_positive_directional_derivatives()
    {
        using var grads = torch.tensor(new float[] { 1, 0, -2, 0, 0, 3, 0.5f, 0 }, new long[] { 4, 2 });
        using var v = torch.tensor(new float[] { 1, 1 });
        // S = [1, -2, 3, 0.5]: 3 of 4 positive; magnitude (1 + 3 + 0.5) / (1 + 2 + 3 + 0.5).
        var s = Tcav.FromGradients(grads, v);
        Assert.Equal(new[] { 1.0, -2, 3, 0.5 }, s.Derivatives);
        Assert.Equal(0.75, s.SignCount);
        Assert.Equal(4.5 / 6.5, s.Magnitude, 12);
        using var wrong = torch.ones(3);
        Assert.Equal("direction", Assert.Throws<ArgumentException>(() => Tcav.FromGradients(grads, wrong)).ParamName);
    }

    [Fact]
    public void Tcav_is_significant_for_a_model_that_uses_the_concept_and_not_for_one_that_ignores_it()
    {
        const int d = 8;
        using var classInputs = Gaussian(200, d, 20);
        using var concept = Gaussian(60, d, 21, shift0: 3); // the concept: a large first coordinate
        var randomSets = Enumerable.Range(0, 11).Select(i => Gaussian(60, d, 100 + i)).ToList();
        try
        {
            using var uses = new ConceptProbeNet(d, usesConcept: true);
            var used = TcavSignificance.Run(uses, "hidden", classInputs, 1, concept, randomSets);
            Assert.True(used.Significant, used.Verdict);
            Assert.All(used.ConceptScores, s => Assert.Equal(1.0, s));
            Assert.All(used.ConceptCavAccuracies, a => Assert.True(a > 0.8)); // Bayes accuracy Φ(1.5) = 0.93
            Assert.Equal(10, used.RandomScores.Length);

            using var ignores = new ConceptProbeNet(d, usesConcept: false);
            var ignored = TcavSignificance.Run(ignores, "hidden", classInputs, 1, concept, randomSets);
            Assert.False(ignored.Significant, ignored.Verdict);
            Assert.InRange(ignored.MeanConceptScore, 0.3, 0.7);

            var few = Assert.Throws<ArgumentException>(() => TcavSignificance.Run(uses, "hidden", classInputs, 1, concept, randomSets.Take(2).ToList()));
            Assert.Equal("randomSets", few.ParamName);
            using var single = torch.randn(1, d);
            Assert.Equal("conceptInputs", Assert.Throws<ArgumentException>(() => TcavSignificance.Run(uses, "hidden", classInputs, 1, single, randomSets)).ParamName);
        }
        finally { foreach (var r in randomSets) r.Dispose(); }
    }

    [Fact]
    public void T_test_matches_the_student_t_distribution()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 20; trial++)
        {
            var a = Enumerable.Range(0, 3 + rng.Next(10)).Select(_ => rng.NextDouble() + 0.2 * trial / 20).ToArray();
            var b = Enumerable.Range(0, 3 + rng.Next(10)).Select(_ => rng.NextDouble()).ToArray();
            var r = TwoSampleTTest.Run(a, b);
            double df = a.Length + b.Length - 2;
            double pooled = (a.Sum(v => Math.Pow(v - a.Average(), 2)) + b.Sum(v => Math.Pow(v - b.Average(), 2))) / df;
            double t = (a.Average() - b.Average()) / Math.Sqrt(pooled * (1.0 / a.Length + 1.0 / b.Length));
            Assert.Equal(t, r.Statistic, 10);
            Assert.Equal(2 * StudentT.CDF(0, 1, df, -Math.Abs(t)), r.PValue, 10);
        }
        Assert.True(double.IsNaN(TwoSampleTTest.Run(new[] { 1.0, 1 }, new[] { 1.0, 1 }).PValue));
        Assert.Equal(0, TwoSampleTTest.Run(new[] { 1.0, 1 }, new[] { 0.0, 0 }).PValue);
        Assert.Equal("b", Assert.Throws<ArgumentException>(() => TwoSampleTTest.Run(new[] { 1.0, 2 }, new[] { 1.0 })).ParamName);
    }

    [Fact]
    public void ConExp_equals_the_difference_of_conditional_means()
    {
        using var f = torch.tensor(new[] { 0.2, 0.4, 0.9, 0.5, 0.1 });
        using var c = torch.tensor(new long[] { 0, 0, 1, 1, 2 });
        var r = ConceptExpectation.Binary(f, c);
        Assert.Equal(0.7 - 0.3, r.Effect, 12);
        Assert.Equal((2L, 2L), (r.CountA, r.CountB));
        Assert.Equal(0.1 - 0.7, ConceptExpectation.Between(f, c, 2, 1).Effect, 12);
        using var none = torch.zeros(5, dtype: ScalarType.Int64);
        Assert.Equal("concept", Assert.Throws<ArgumentException>(() => ConceptExpectation.Binary(f, none)).ParamName);
        using var shortConcept = torch.zeros(4, dtype: ScalarType.Int64);
        Assert.Equal("concept", Assert.Throws<ArgumentException>(() => ConceptExpectation.Binary(f, shortConcept)).ParamName);
    }

    [Fact]
    public void Gt_cace_is_exactly_zero_for_a_model_that_reads_only_orientation_and_one_for_a_colour_reader()
    {
        using var bars = Bars.Generate(400, pGreenGivenVertical: 0.99, pGreenGivenHorizontal: 0.01, seed: 3);
        using var doGreen = bars.WithColour(true);
        using var doRed = bars.WithColour(false);
        // Reads the bar's shape only (the colour channels summed): a vertical bar piles its mass into a few
        // columns, a horizontal one into a few rows; P(vertical) = sigmoid((max column sum − max row sum) / 10).
        Func<Tensor, Tensor> shape = x =>
        {
            var grey = x.sum(1);
            return torch.sigmoid((grey.sum(1).amax(new long[] { 1 }) - grey.sum(2).amax(new long[] { 1 })) / 10);
        };
        var zero = CausalConceptEffect.FromInterventions(shape, doGreen, doRed);
        Assert.Equal(0.0, zero.Effect);
        Assert.Equal(400, zero.Count);
        // ConExp of the same model is not zero: colour and orientation are confounded (99/01).
        using var observed = shape(bars.Data.Inputs);
        using var green = bars.GreenIndicator();
        Assert.True(ConceptExpectation.Binary(observed, green).Effect > 0.5);

        Func<Tensor, Tensor> colour = x => x.select(1, 1).sum(new long[] { 1, 2 }).gt(0).to_type(ScalarType.Float32);
        var one = CausalConceptEffect.FromInterventions(colour, doGreen, doRed, batchSize: 64);
        Assert.Equal((1.0, 1.0, 0.0), (one.Effect, one.MeanDoA, one.MeanDoB));

        using var other = torch.zeros(3, 3, 28, 28);
        Assert.Equal("doB", Assert.Throws<ArgumentException>(() => CausalConceptEffect.FromInterventions(colour, doGreen, other)).ParamName);
    }

    [Fact]
    public void Pairwise_cace_averages_absolute_effects_over_unordered_pairs()
    {
        // f = the mean of the image; do(C = v) sets every pixel to v / 4.
        var levels = new[] { 0.0, 1, 2, 4 };
        var images = levels.Select(v => torch.full(new long[] { 5, 1, 2, 2 }, v / 4)).ToList();
        var r = CausalConceptEffect.Pairwise(x => x.mean(new long[] { 1, 2, 3 }), images);
        Assert.Equal(0.25, r.Effects[1, 0], 12);
        Assert.Equal(-0.75, r.Effects[1, 3], 12);
        // |differences| of {0, .25, .5, 1}: .25 .5 1 .25 .75 .5 -> mean 3.25 / 6.
        Assert.Equal(3.25 / 6, r.AverageAbsolute, 12);
        foreach (var i in images) i.Dispose();
        Assert.Equal("interventions", Assert.Throws<ArgumentException>(() => CausalConceptEffect.Pairwise(x => x, new[] { torch.zeros(2) })).ParamName);
    }
}
