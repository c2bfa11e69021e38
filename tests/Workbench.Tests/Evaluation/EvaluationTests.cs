using MathNet.Numerics.Statistics;
using TorchSharp;
using Workbench.Attribution;
using Workbench.Evaluation;
using Workbench.Runtime;
using Workbench.Tests.Attribution;
using static TorchSharp.torch;

namespace Workbench.Tests.Evaluation;

public class EvaluationTests
{
    public EvaluationTests() => TorchRuntime.EnsureLoaded();

    static Tensor Random(long[] shape, int seed) { using var g = new torch.Generator((ulong)seed); return torch.randn(shape, generator: g); }

    [Fact]
    public void Spearman_of_a_map_with_itself_is_one_and_with_its_reverse_ranking_minus_one()
    {
        using var a = torch.arange(1, 65, dtype: ScalarType.Float32).reshape(2, 1, 4, 8);
        using var reversed = 65 - a;
        Assert.All(SpearmanRankCorrelation.Evaluate(a, a, absolute: false, normalize: false).PerSample, v => Assert.Equal(1.0, v, 12));
        Assert.All(SpearmanRankCorrelation.Evaluate(a, reversed, absolute: false, normalize: false).PerSample, v => Assert.Equal(-1.0, v, 12));
    }

    [FsCheck.Xunit.Property(MaxTest = 25)]
    public bool Batched_correlations_agree_with_a_direct_reference(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var a = Random(new long[] { 3, 1, 6, 6 }, seed);
        var b = Random(new long[] { 3, 1, 6, 6 }, seed + 1);
        var spearman = SpearmanRankCorrelation.Evaluate(a, b, absolute: false, normalize: false).PerSample;
        var pearson = PearsonCorrelation.Evaluate(a, b).PerSample;
        for (int i = 0; i < 3; i++)
        {
            var x = a[i].flatten().to_type(ScalarType.Float64).data<double>().ToArray();
            var y = b[i].flatten().to_type(ScalarType.Float64).data<double>().ToArray();
            if (Math.Abs(Correlation.Spearman(x, y) - spearman[i]) > 1e-9) return false;
            if (Math.Abs(Correlation.Pearson(x, y) - pearson[i]) > 1e-9) return false;
        }
        return true;
    }

    [Fact]
    public void Spearman_handles_ties_like_the_reference()
    {
        using var a = torch.tensor(new float[] { 1, 2, 2, 3, 3, 3, 0, 5 }).reshape(1, 8);
        using var b = torch.tensor(new float[] { 4, 1, 1, 2, 9, 9, 0, 7 }).reshape(1, 8);
        var expected = Correlation.Spearman(new double[] { 1, 2, 2, 3, 3, 3, 0, 5 }, new double[] { 4, 1, 1, 2, 9, 9, 0, 7 });
        Assert.Equal(expected, SpearmanRankCorrelation.Evaluate(a, b, absolute: false, normalize: false).PerSample[0], 10);
    }

    [Fact]
    public void Ssim_of_identical_maps_is_one_and_lower_for_different_maps()
    {
        using var a = Random(new long[] { 2, 1, 16, 16 }, 1).abs();
        using var b = Random(new long[] { 2, 1, 16, 16 }, 2).abs();
        Assert.All(Ssim.Evaluate(a, a).PerSample, v => Assert.Equal(1.0, v, 9));
        Assert.All(Ssim.Evaluate(a, b).PerSample, v => Assert.True(v < 0.5));
        Assert.All(HogCorrelation.Evaluate(a, a).PerSample, v => Assert.Equal(1.0, v, 9));
    }

    [Fact]
    public void Topk_intersection_and_normalized_l2_follow_their_definitions()
    {
        using var a = torch.tensor(new float[] { 10, 9, 1, 1, 1, 1, 1, 1, 1, 1 }).reshape(1, 10);
        using var b = torch.tensor(new float[] { 10, 1, 9, 1, 1, 1, 1, 1, 1, 1 }).reshape(1, 10);
        Assert.Equal(0.5, TopKIntersection.Evaluate(a, b, fraction: 0.2).PerSample[0], 12);
        Assert.Equal(0.0, NormalizedL2Distance.Evaluate(a, a * 3).PerSample[0], 9);
        Assert.Equal(2.0, NormalizedL2Distance.Evaluate(a, -a).PerSample[0], 9);
    }

    [Fact]
    public void Gini_of_one_hot_is_one_minus_one_over_n_and_of_uniform_is_zero()
    {
        using var oneHot = torch.zeros(1, 100);
        oneHot[0, 7] = torch.tensor(3f);
        using var uniform = torch.ones(1, 100);
        Assert.Equal(1 - 1.0 / 100, Sparseness.Evaluate(oneHot).PerSample[0], 6);
        Assert.Equal(0.0, Sparseness.Evaluate(uniform).PerSample[0], 6);
        Assert.Equal(Math.Log(100), Complexity.Evaluate(uniform).PerSample[0], 6);
        Assert.Equal(0.0, Complexity.Evaluate(oneHot).PerSample[0], 6);
    }

    [Fact]
    public void Pointing_game_hits_when_the_maximum_lies_in_the_mask_and_mass_and_rank_count_inside()
    {
        using var maps = torch.zeros(2, 4, 4);
        maps[0, 1, 1] = torch.tensor(5f); // inside
        maps[1, 3, 3] = torch.tensor(5f); // outside
        maps[1, 0, 0] = torch.tensor(1f);
        using var mask = torch.zeros(2, 4, 4);
        mask[.., ..2, ..2] = torch.tensor(1f);
        Assert.Equal(new[] { 1.0, 0.0 }, Localisation.PointingGame(maps, mask).PerSample);
        var mass = Localisation.RelevanceMass(maps, mask).PerSample;
        Assert.Equal(1.0, mass[0], 6);
        Assert.Equal(1.0 / 6, mass[1], 6);
        Assert.Equal(0.25, Localisation.RelevanceRank(maps, mask).PerSample[0], 9);
        Assert.Equal(new[] { 1.0, 0.0 }, Localisation.TopKIntersection(maps, mask, k: 1).PerSample);
    }

    [Fact]
    public void Deletion_auc_of_an_oracle_map_beats_a_random_map_on_a_linear_model()
    {
        using var model = Nets.Linear(16, 2, seed: 3);
        Func<Tensor, Tensor> f = t => model.call(t.flatten(1));
        using var x = Nets.Inputs(new long[] { 20, 1, 4, 4 }, seed: 4, 0, 1);
        using var targets = torch.zeros(20, ScalarType.Int64);
        var w = model.parameters().First()[0].detach();
        using var oracle = (x.flatten(1) * (w - model.parameters().First()[1].detach())).reshape(20, 1, 4, 4); // contribution to logit 0 − logit 1
        using var random = Nets.Inputs(new long[] { 20, 1, 4, 4 }, seed: 5);
        var (delOracle, insOracle) = DeletionInsertion.Evaluate(f, x, targets, oracle);
        var (delRandom, insRandom) = DeletionInsertion.Evaluate(f, x, targets, random);
        Assert.True(delOracle.Mean < delRandom.Mean, $"deletion oracle {delOracle.Mean} vs random {delRandom.Mean}");
        Assert.True(insOracle.Mean > insRandom.Mean, $"insertion oracle {insOracle.Mean} vs random {insRandom.Mean}");
    }

    [Fact]
    public void Pixel_perturbation_batched_equals_per_image_and_rewards_faithful_maps()
    {
        using var model = Nets.Linear(16, 2, seed: 6);
        Func<Tensor, Tensor> f = t => model.call(t.flatten(1));
        using var x = Nets.Inputs(new long[] { 30, 1, 4, 4 }, seed: 7, 0, 1);
        using var y = torch.tensor(Enumerable.Range(0, 30).Select(i => (long)(i % 2)).ToArray());
        using var saliency = new Saliency(model).Attribute(x.flatten(1), Target.PerExample(y)).Map.reshape(30, 1, 4, 4);
        var fractions = new[] { 0.0, 0.25, 0.5, 0.75, 1.0 };
        var batched = PixelPerturbation.Evaluate(f, x, y, saliency, fractions, rowsPerPass: 20); // 4 images per pass, a short last pass
        var reference = PixelPerturbation.EvaluatePerImage(f, x, y, saliency, fractions);
        Assert.Equal(reference.Accuracy, batched.Accuracy);
        Assert.Equal(fractions.Length, batched.ToDataFrame().Rows.Count);
        Assert.Equal(25, PixelPerturbation.DefaultFractions.Length);
        Assert.Equal(0.01, PixelPerturbation.DefaultFractions[0], 12);
        Assert.Equal(1.0, PixelPerturbation.DefaultFractions[^1], 12);
    }

    /// <summary>The pixel-perturbation fill defaults to the data's background: the most frequent pixel value, not a mean or a constant.</summary>
    [Fact]
    public void Background_fill_is_the_most_frequent_pixel_value()
    {
        using var black = torch.zeros(4, 1, 6, 6);
        black[.., .., 2..4, 2..4] = torch.tensor(0.9f);            // a bright digit on a black background
        Assert.Equal(0.0, PixelPerturbation.BackgroundFill(black), 12);
        using var grey = torch.full(new long[] { 2, 1, 5, 5 }, 128 / 255.0f);
        grey[.., .., 0, ..] = torch.tensor(1f);
        Assert.Equal(128 / 255.0, PixelPerturbation.BackgroundFill(grey), 12); // not the mean (≈ 0.61)
        using var empty = torch.zeros(0, 1, 5, 5);
        Assert.Equal("images", Assert.Throws<ArgumentException>(() => PixelPerturbation.BackgroundFill(empty)).ParamName);
    }

    [Fact]
    public void Randomizing_the_top_layer_moves_gradients_more_than_an_edge_detector_and_weights_are_restored()
    {
        using var model = Nets.Cnn(8);
        using var x = Nets.Inputs(new long[] { 6, 1, 8, 8 }, seed: 9, 0, 1);
        using var y = torch.zeros(6, ScalarType.Int64);
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        Explainer gradient = Explainers.From(new Saliency(model));
        Explainer edges = (inputs, _) => HogCorrelation.Features(inputs).sum(1).reshape(-1, 1, 1, 1).expand(-1, 1, 8, 8) * 0 + Sobel(inputs);
        var g = ModelParameterRandomization.Evaluate(model, x, y, gradient);
        var e = ModelParameterRandomization.Evaluate(model, x, y, edges);
        Assert.Equal("fc", g.Layers[0].Layer); // cascading starts at the logits
        Assert.True(g.Layers[0].Similarity.Mean < e.Layers[0].Similarity.Mean, $"gradient {g.Layers[0].Similarity.Mean} vs edges {e.Layers[0].Similarity.Mean}");
        Assert.Equal(1.0, e.Layers[^1].Similarity.Mean, 6); // the edge detector ignores the weights
        Assert.All(model.parameters().Zip(before), p => Assert.True(p.First.equal(p.Second).all().item<bool>()));
        var independent = ModelParameterRandomization.Evaluate(model, x, y, gradient, cascading: false);
        Assert.Equal(g.Layers.Count, independent.ToDataFrame().Rows.Count);
    }

    static Tensor Sobel(Tensor x)
    {
        var k = torch.tensor(new[] { -1.0, 0, 1, -2, 0, 2, -1, 0, 1 }, new long[] { 1, 1, 3, 3 }).to_type(x.dtype);
        var gx = nn.functional.conv2d(x, k, padding: new long[] { 1, 1 });
        var gy = nn.functional.conv2d(x, k.transpose(2, 3), padding: new long[] { 1, 1 });
        return (gx * gx + gy * gy).sqrt();
    }

    [Fact]
    public void Completeness_faithfulness_infidelity_and_robustness_behave_on_a_linear_model()
    {
        using var model = Nets.Linear(16, 2, seed: 10);
        Func<Tensor, Tensor> f = t => model.call(t.flatten(1));
        using var x = Nets.Inputs(new long[] { 5, 1, 4, 4 }, seed: 11);
        using var y = torch.zeros(5, ScalarType.Int64);
        var ig = Explainers.From(new IntegratedGradients((Func<Tensor, Tensor>)f, 8));
        using var maps = ig(x, y);
        Assert.All(Axioms.Completeness(f, x, y, maps).PerSample, v => Assert.True(v < 1e-9, $"completeness {v}"));
        // For a linear model x ⊙ w explains every drop to the zero baseline exactly: correlation 1.
        Assert.All(FaithfulnessCorrelation.Evaluate(f, x, y, maps, samples: 20).PerSample, v => Assert.True(Math.Abs(v - 1) < 1e-9, $"faithfulness {v}"));
        // Gaussian perturbations I: f(x) − f(x − I) = Iᵀw, so the gradient has infidelity 0 and x ⊙ w does not.
        using var gradient = Explainers.From(new Saliency((Func<Tensor, Tensor>)f, absolute: false))(x, y);
        Assert.All(Infidelity.Evaluate(f, x, y, gradient, samples: 10).PerSample, v => Assert.True(v < 1e-12, $"infidelity {v}"));
        Assert.All(Infidelity.Evaluate(f, x, y, maps, samples: 10).PerSample, v => Assert.True(v > 1e-6, $"infidelity of x*w {v}"));
        var (max, avg, lip) = Robustness.Evaluate(x, y, ig, samples: 3, radius: 0.01);
        Assert.True(max.Mean >= avg.Mean && avg.Mean > 0 && lip.Mean > 0, $"robustness {max.Mean} {avg.Mean} {lip.Mean}");
        // An all-zero map has no relative change: undefined (NaN) per example, not a number from a clamped denominator.
        var (zeroMax, zeroAvg, zeroLip) = Robustness.Evaluate(x, y, (a, _) => torch.zeros_like(a), samples: 2, radius: 0.01);
        Assert.Equal(5, zeroMax.Undefined);
        Assert.Equal(5, zeroAvg.Undefined);
        Assert.All(zeroLip.PerSample, v => Assert.Equal(0.0, v));
        Assert.All(Axioms.NonSensitivity(f, x, y, maps).PerSample, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Prediction_agreement_and_density_ratio()
    {
        using var a = Nets.Smooth(4, 6, 3, seed: 12);
        using var b = Nets.Smooth(4, 6, 3, seed: 13);
        using var x = Nets.Inputs(new long[] { 200, 4 }, seed: 14);
        Assert.Equal(1.0, ModelMetrics.PredictionAgreement(a, a, x));
        double ab = ModelMetrics.PredictionAgreement(a, b, x);
        Assert.InRange(ab, 0.0, 0.99);
        using var y = torch.zeros(200, ScalarType.Int64);
        var ratio = ModelMetrics.DensityRatio(a, x, y, new[] { 0.0, 0.1, 0.5 });
        Assert.Equal(0.0, (double)ratio["log_ratio_mean"][0]!, 12);
        Assert.Equal(3, ratio.Rows.Count);
    }

    [Fact]
    public void Region_perturbation_rewards_the_oracle_over_a_random_map()
    {
        using var model = Nets.Linear(64, 2, seed: 20);
        Func<Tensor, Tensor> f = t => model.call(t.flatten(1));
        using var x = Nets.Inputs(new long[] { 10, 1, 8, 8 }, seed: 21, 0, 1);
        using var y = torch.zeros(10, ScalarType.Int64);
        var p = model.parameters().ToArray();
        using var oracle = (x.flatten(1) * p[0].detach()[0]).reshape(10, 1, 8, 8);
        using var random = Nets.Inputs(new long[] { 10, 1, 8, 8 }, seed: 22);
        var good = RegionPerturbation.Evaluate(f, x, y, oracle, patch: 2, steps: 8);
        var bad = RegionPerturbation.Evaluate(f, x, y, random, patch: 2, steps: 8);
        Assert.True(good.Mean > bad.Mean, $"oracle {good.Mean} vs random {bad.Mean}");
    }

    [Fact]
    public void Mismatched_shapes_are_rejected_naming_both()
    {
        using var a = torch.zeros(2, 1, 4, 4);
        using var b = torch.zeros(2, 1, 4, 5);
        var e = Assert.Throws<ArgumentException>(() => SpearmanRankCorrelation.Evaluate(a, b));
        Assert.Contains("[2, 1, 4, 4]", e.Message);
        Assert.Contains("[2, 1, 4, 5]", e.Message);
    }
}
