using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

public class PerturbationMethodTests
{
    /// <summary>Exact Shapley values by enumerating all 2^M coalitions (absent features at the baseline).</summary>
    static double[] ExactShapley(Func<Tensor, Tensor> f, Tensor x, Tensor baseline, int target)
    {
        int m = (int)x.shape[0];
        var value = new double[1 << m];
        for (int s = 0; s < 1 << m; s++)
        {
            var keep = torch.tensor(Enumerable.Range(0, m).Select(i => (s >> i & 1) == 1 ? 1.0 : 0.0).ToArray());
            using var noGrad = torch.no_grad();
            value[s] = f((x * keep + baseline * (1 - keep)).unsqueeze(0))[0, target].item<double>();
        }
        var phi = new double[m];
        double Fact(int n) => n <= 1 ? 1 : n * Fact(n - 1);
        for (int i = 0; i < m; i++)
            for (int s = 0; s < 1 << m; s++)
                if ((s >> i & 1) == 0)
                {
                    int size = System.Numerics.BitOperations.PopCount((uint)s);
                    phi[i] += Fact(size) * Fact(m - size - 1) / Fact(m) * (value[s | 1 << i] - value[s]);
                }
        return phi;
    }

    static readonly Func<Tensor, Tensor> Interacting = x =>
        torch.stack(new[] { x[.., 0] * x[.., 1] + x[.., 2].pow(2) - 0.5 * x[.., 3] * x[.., 0], x[.., 3] }, 1);

    [Fact]
    public void Shapley_sampling_and_kernel_shap_approach_exact_shapley_values_and_are_efficient()
    {
        TorchRuntime.EnsureLoaded();
        using var x = torch.tensor(new[] { 0.9, -0.7, 0.5, 1.2 }, ScalarType.Float64);
        using var b = torch.tensor(new[] { 0.1, 0.2, -0.3, 0.0 }, ScalarType.Float64);
        var exact = ExactShapley(Interacting, x, b, 0);
        using var noGrad = torch.no_grad();
        double gap = Interacting(x.unsqueeze(0))[0, 0].item<double>() - Interacting(b.unsqueeze(0))[0, 0].item<double>();
        Assert.Equal(gap, exact.Sum(), 10);

        using var svs = new ShapleyValueSampling(Interacting, permutations: 3000, seed: 1).Attribute(x.unsqueeze(0), 0, b);
        var s = svs.Map[0].data<double>().ToArray();
        Assert.Equal(gap, s.Sum(), 9); // exact efficiency for any number of orders
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(exact[i] - s[i]) < 0.02, $"feature {i}: sampled {s[i]}, exact {exact[i]}");

        using var ks = new KernelShap(Interacting, samples: 4000, seed: 2).Attribute(x.unsqueeze(0), 0, b);
        var k = ks.Map[0].data<double>().ToArray();
        Assert.Equal(gap, k.Sum(), 4);
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(exact[i] - k[i]) < 0.02, $"feature {i}: KernelSHAP {k[i]}, exact {exact[i]}");
    }

    [Fact]
    public void Exact_shapley_values_match_the_enumeration_by_hand_and_refuse_too_many_features()
    {
        TorchRuntime.EnsureLoaded();
        using var x = torch.tensor(new[] { 0.9, -0.7, 0.5, 1.2 }, ScalarType.Float64);
        using var b = torch.tensor(new[] { 0.1, 0.2, -0.3, 0.0 }, ScalarType.Float64);
        var exact = ExactShapley(Interacting, x, b, 0);
        using var sv = new ShapleyValues(Interacting).Attribute(x.unsqueeze(0), 0, b);
        var s = sv.Map[0].data<double>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(exact[i], s[i], 12);
        Assert.Equal(16, sv.ExamplesEvaluated); // 2^4 coalitions, nothing else
        // Per-example masks on a batch: each example exact over its own partition.
        using var two = torch.stack(new[] { x, x });
        using var masks = torch.tensor(new long[] { 0, 0, 1, 2, 0, 1, 1, 1 }, new long[] { 2, 4 });
        using var grouped = new ShapleyValues(Interacting, masks).Attribute(two, 0, b);
        using var sampled = new ShapleyValueSampling(Interacting, masks, permutations: 4000, seed: 2).Attribute(two, 0, b);
        Assert.True(grouped.Map.allclose(sampled.Map, atol: 0.02));
        double gap;
        using (torch.no_grad()) gap = (Interacting(x.unsqueeze(0)) - Interacting(b.unsqueeze(0)))[0, 0].item<double>();
        Assert.Equal(gap, grouped.Map[0, 0].item<double>() + grouped.Map[0, 2].item<double>() + grouped.Map[0, 3].item<double>(), 12);
        Assert.Equal(gap, grouped.Map[1, 0].item<double>() + grouped.Map[1, 1].item<double>(), 12);
        using var many = torch.zeros(1, 13);
        var e = Assert.Throws<ArgumentException>(() => new ShapleyValues((Func<Tensor, Tensor>)(t => t[.., ..2]), maxFeatures: 12).Attribute(many, 0));
        Assert.Equal("featureMask", e.ParamName);
        Assert.Contains("M = 13", e.Message);
    }

    [Fact]
    public void Feature_permutation_credits_each_feature_with_the_drop_when_it_comes_from_another_example()
    {
        using var model = Nets.Linear(5, 2, seed: 23);
        using var x = Nets.Inputs(new long[] { 2, 5 }, seed: 24);
        var w = model.parameters().First()[1].detach();
        // With two examples the only permutation that is not the identity swaps them.
        using var swapped = torch.stack(new[] { x[1], x[0] });
        using var fp = new FeaturePermutation(model, seed: 3).Attribute(x, 1);
        Assert.True(fp.Map.allclose((x - swapped) * w, atol: 1e-12));
        using var one = Nets.Inputs(new long[] { 1, 5 }, seed: 25);
        Assert.Contains("at least 2 examples", Assert.Throws<ArgumentException>(() => new FeaturePermutation(model).Attribute(one, 1)).Message);
        using var perExample = torch.tensor(new long[] { 0, 0, 1, 1, 2, 0, 1, 2, 2, 2 }, new long[] { 2, 5 });
        Assert.Equal("featureMask", Assert.Throws<ArgumentException>(() => new FeaturePermutation(model, perExample).Attribute(x, 1)).ParamName);
        // Three examples: per feature, the values come from a permutation of the examples that is not the identity.
        using var x3 = Nets.Inputs(new long[] { 3, 5 }, seed: 26);
        using var fp3 = new FeaturePermutation(model, seed: 4).Attribute(x3, 1);
        using var ratio = fp3.Map / w; // = x_e − x_π(e) per element
        for (int i = 0; i < 5; i++)
        {
            var source = Enumerable.Range(0, 3).Select(e =>
                Enumerable.Range(0, 3).Single(o => Math.Abs((x3[e, i] - x3[o, i]).item<double>() - ratio[e, i].item<double>()) < 1e-9)).ToArray();
            Assert.Equal(3, source.Distinct().Count());
            Assert.NotEqual(new[] { 0, 1, 2 }, source);
        }
    }

    [Fact]
    public void On_a_linear_model_every_perturbation_method_recovers_w_times_x_minus_baseline()
    {
        using var model = Nets.Linear(6, 2, seed: 3);
        using var x = Nets.Inputs(new long[] { 3, 6 }, seed: 4);
        using var b = Nets.Inputs(new long[] { 6 }, seed: 5);
        using var expected = (x - b) * model.parameters().First()[1].detach();
        using var ablation = new FeatureAblation(model).Attribute(x, 1, b);
        Assert.True(ablation.Map.allclose(expected, atol: 1e-12));
        using var svs = new ShapleyValueSampling(model, permutations: 3).Attribute(x, 1, b);
        Assert.True(svs.Map.allclose(expected, atol: 1e-12));
        using var ks = new KernelShap(model, samples: 64).Attribute(x, 1, b);
        Assert.True(ks.Map.allclose(expected, atol: 1e-5));
        using var lime = new Lime(model, samples: 300, ridge: 0).Attribute(x, 1, b);
        Assert.True(lime.Map.allclose(expected, atol: 1e-8));
    }

    [Fact]
    public void Missingness_a_feature_at_its_baseline_gets_nothing()
    {
        TorchRuntime.EnsureLoaded();
        using var x = torch.tensor(new[] { 0.9, -0.7, 0.5, 1.2 }, new long[] { 1, 4 }).to_type(ScalarType.Float64);
        using var b = torch.tensor(new[] { 0.1, -0.7, -0.3, 0.0 }, ScalarType.Float64); // feature 1 equals its baseline
        using var ks = new KernelShap(Interacting, samples: 2000, seed: 6).Attribute(x, 0, b);
        // Sampled coalitions correlate a dummy feature with the others only by chance: small, not exactly 0.
        Assert.True(Math.Abs(ks.Map[0, 1].item<double>()) < 0.01, $"KernelSHAP gave {ks.Map[0, 1].item<double>()}");
        using var svs = new ShapleyValueSampling(Interacting, permutations: 50, seed: 6).Attribute(x, 0, b);
        Assert.Equal(0.0, svs.Map[0, 1].item<double>(), 12);
    }

    [Fact]
    public void Occlusion_with_unit_window_is_feature_ablation_and_grid_masks_group_pixels()
    {
        using var model = Nets.Cnn(7);
        using var x = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 8);
        using var occ = new Occlusion(model, window: 1, stride: 1).Attribute(x, 2);
        using var abl = new FeatureAblation(model).Attribute(x, 2);
        Assert.True(occ.Map.allclose(abl.Map, atol: 1e-12), $"occlusion vs ablation: max diff {(occ.Map - abl.Map).abs().max().item<double>()}");
        using var grid = FeatureMasks.Grid(8, 8, 4);
        using var patches = new FeatureAblation(model, grid).Attribute(x, 2);
        // Every pixel of a 4x4 patch carries the same value.
        Assert.True(patches.Map[.., .., ..4, ..4].sub(patches.Map[.., .., ..1, ..1]).abs().max().item<double>() < 1e-12);
        using var wide = new Occlusion(model, window: 3, stride: 2).Attribute(x, 2);
        Assert.Equal(x.shape, wide.Map.shape);
    }

    [Fact]
    public void Occlusion_cuts_windows_at_the_border_as_captum_and_takes_per_axis_windows()
    {
        using var model = Nets.Linear(5, 2, seed: 27);
        using var x = Nets.Inputs(new long[] { 2, 5 }, seed: 28);
        var w = model.parameters().First()[0].detach();
        using var contribution = x * w; // zero baseline: a window's drop is the sum of its elements' w·x
        // Windows of 2, stride 2 over 5 features: [0, 1], [2, 3], [4] (cut; not shifted back to [3, 4]).
        using var occ = new Occlusion(model, new long[] { 2 }, new long[] { 2 }).Attribute(x, 0);
        for (int e = 0; e < 2; e++)
        {
            double a = contribution[e, 0].item<double>() + contribution[e, 1].item<double>();
            double b = contribution[e, 2].item<double>() + contribution[e, 3].item<double>();
            var expected = new[] { a, a, b, b, contribution[e, 4].item<double>() };
            var got = occ.Map[e].data<double>().ToArray();
            for (int i = 0; i < 5; i++) Assert.Equal(expected[i], got[i], 12);
        }
        // Windows of 3, stride 2 over 5: [0..2], [2..4]; element 2 is covered twice and gets the mean.
        using var overlap = new Occlusion(model, new long[] { 3 }, new long[] { 2 }).Attribute(x, 0);
        double left = contribution[0, ..3].sum().item<double>(), right = contribution[0, 2..].sum().item<double>();
        Assert.Equal((left + right) / 2, overlap.Map[0, 2].item<double>(), 12);
        Assert.Equal(right, overlap.Map[0, 4].item<double>(), 12);

        // One channel at a time: a window [1, 2, 2] over [2, 2, 2] gives every element its channel's total.
        TorchRuntime.Seed(29);
        using var images = nn.Sequential(("flatten", nn.Flatten()), ("fc", nn.Linear(8, 2)));
        images.to(ScalarType.Float64);
        using var xi = Nets.Inputs(new long[] { 1, 2, 2, 2 }, seed: 30);
        var wi = images.parameters().First()[1].detach().reshape(2, 2, 2);
        using var channels = new Occlusion(images, new long[] { 1, 2, 2 }, new long[] { 1 }).Attribute(xi, 1);
        using var perChannel = (xi[0] * wi).sum(new long[] { 1, 2 }); // [2]
        Assert.True(channels.Map[0].allclose(perChannel.reshape(2, 1, 1).expand(2, 2, 2), atol: 1e-12));
        // Refused: a stride larger than the window; a window larger than the example; a window of the wrong rank.
        Assert.Equal("stride", Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model, new long[] { 2 }, new long[] { 3 }).Attribute(x, 0)).ParamName);
        Assert.Equal("window", Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model, new long[] { 6 }, new long[] { 1 }).Attribute(x, 0)).ParamName);
        Assert.Equal("window", Assert.Throws<ArgumentException>(() => new Occlusion(model, new long[] { 2, 2 }, new long[] { 1 }).Attribute(x, 0)).ParamName);
    }

    [Fact]
    public void Rise_finds_the_region_the_model_looks_at()
    {
        TorchRuntime.EnsureLoaded();
        // The score is the mean of the top-left quadrant.
        Func<Tensor, Tensor> quadrant = t => torch.stack(new[] { t[.., 0, ..4, ..4].mean(new long[] { 1, 2 }), torch.zeros(t.shape[0], ScalarType.Float64) }, 1);
        using var x = torch.ones(1, 1, 8, 8, ScalarType.Float64);
        using var rise = new Rise(quadrant, masks: 500, cells: 4, seed: 9).Attribute(x, 0);
        double inside = rise.Map[0, 0, ..4, ..4].mean().item<double>(), outside = rise.Map[0, 0, 4.., 4..].mean().item<double>();
        Assert.True(inside > outside + 0.05, $"inside {inside}, outside {outside}");
        using var again = new Rise(quadrant, masks: 500, cells: 4, seed: 9).Attribute(x, 0);
        Assert.True(again.Map.equal(rise.Map).all().item<bool>());
    }

    [Fact]
    public void Perturbation_results_do_not_depend_on_chunking()
    {
        using var model = Nets.Cnn(10);
        using var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 11);
        using var grid = FeatureMasks.Grid(8, 8, 2);
        var tiny = new AttributionSettings { MaxRowsPerPass = 5 };
        using var a = new KernelShap(model, grid, samples: 100, seed: 1).Attribute(x, 0);
        using var b = new KernelShap(model, grid, samples: 100, seed: 1, settings: tiny).Attribute(x, 0);
        Assert.True(a.Map.allclose(b.Map, atol: 1e-5));
        using var c = new Occlusion(model, 2, 2).Attribute(x, 0);
        using var d = new Occlusion(model, 2, 2, settings: tiny).Attribute(x, 0);
        Assert.True(c.Map.allclose(d.Map, atol: 1e-9));
    }

    [Fact]
    public void Fooled_logits_keep_predictions_and_replace_gradients()
    {
        using var model = Nets.Smooth(6, 8, 4, seed: 12);
        using var pattern = Nets.Inputs(new long[] { 6 }, seed: 13);
        using var fooled = new FooledLogits(model, FooledLogits.LinearPattern(pattern, 100.0));
        using var x = Nets.Inputs(new long[] { 5, 6 }, seed: 14);
        using (torch.no_grad())
        {
            using var p = nn.functional.softmax(model.call(x), 1);
            using var q = nn.functional.softmax(fooled.call(x), 1);
            Assert.True((p - q).abs().max().item<double>() < 1e-6);
        }
        using var original = new Saliency(model, absolute: false).Attribute(x, 1);
        using var fooledMap = new Saliency(fooled, absolute: false).Attribute(x, 1);
        Assert.True((fooledMap.Map - original.Map).allclose(pattern.expand(5, 6) * 100, atol: 1e-9));
    }

    /// <summary>f₀(x) = x₀x₁ + 2x₂ + 3x₃ (an interaction), f₁(x) = x₃.</summary>
    static readonly Func<Tensor, Tensor> Mixed = x =>
        torch.stack(new[] { x[.., 0] * x[.., 1] + 2 * x[.., 2] + 3 * x[.., 3], x[.., 3] }, 1);

    [Fact]
    public void Per_example_masks_give_each_example_its_own_partition()
    {
        TorchRuntime.EnsureLoaded();
        // Both examples x = [1, 2, 3, 4] (f₀ = 20), baseline 0; A groups {x0, x1} {x2, x3}, B groups {x0, x3} {x1, x2}.
        using var x = torch.tensor(new[] { 1.0, 2, 3, 4, 1, 2, 3, 4 }, new long[] { 2, 4 }, ScalarType.Float64);
        using var masks = torch.tensor(new long[] { 0, 0, 1, 1, 0, 1, 1, 0 }, new long[] { 2, 4 });
        // Ablation: A drops {x0,x1} -> 18 (drop 2), {x2,x3} -> 2 (drop 18); B drops {x0,x3} -> 6 (drop 14), {x1,x2} -> 12 (drop 8).
        using var ablation = new FeatureAblation(Mixed, masks).Attribute(x, 0);
        Assert.Equal(new[] { 2.0, 2, 18, 18, 14, 8, 8, 14 }, ablation.Map.flatten().data<double>().ToArray());
        // Exact Shapley values of two features: A v({0}) = 2, v({1}) = 18 -> φ = [2, 18];
        // B v({0}) = 12, v({1}) = 6, v(all) = 20 -> φ₀ = ½(12 + 14) = 13, φ₁ = ½(6 + 8) = 7.
        var shapley = new[] { 2.0, 2, 18, 18, 13, 7, 7, 13 };
        using var kernel = new KernelShap(Mixed, masks, samples: 16).Attribute(x, 0); // 2² coalitions fit: enumerated
        Assert.True(kernel.Map.flatten().allclose(torch.tensor(shapley, ScalarType.Float64), atol: 1e-6), kernel.Map.ToString(TorchSharp.TensorStringStyle.Julia));
        // Sampling: every order of two features is one of the two; efficiency holds exactly per example and per partition.
        using var svs = new ShapleyValueSampling(Mixed, masks, permutations: 400, seed: 3).Attribute(x, 0);
        var s = svs.Map.flatten().data<double>().ToArray();
        Assert.Equal(20.0, s[0] + s[2], 10);
        Assert.Equal(20.0, s[4] + s[5], 10);
        Assert.Equal(s[4], s[7]); // x0 and x3 are one feature of B
        for (int i = 0; i < 8; i++) Assert.True(Math.Abs(s[i] - shapley[i]) < 0.3, $"element {i}: {s[i]} vs {shapley[i]}");
        // LIME on a linear target (f₁ = x₃) is exact: all of it to the feature holding x3.
        using var lime = new Lime(Mixed, masks, samples: 200, ridge: 0).Attribute(x, 1);
        Assert.True(lime.Map.flatten().allclose(torch.tensor(new[] { 0.0, 0, 4, 4, 4, 0, 0, 4 }, ScalarType.Float64), atol: 1e-9), lime.Map.ToString(TorchSharp.TensorStringStyle.Julia));
    }

    [Fact]
    public void A_batch_with_per_example_masks_equals_each_example_alone()
    {
        TorchRuntime.EnsureLoaded();
        using var x = Nets.Inputs(new long[] { 3, 6 }, seed: 21);
        using var b = Nets.Inputs(new long[] { 3, 6 }, seed: 22);
        // Different partitions and different feature counts (3, 2 and 3 features).
        long[][] rows = { new long[] { 0, 0, 1, 1, 2, 2 }, new long[] { 1, 0, 1, 0, 1, 0 }, new long[] { 2, 1, 0, 0, 1, 2 } };
        using var masks = torch.tensor(rows.SelectMany(r => r).ToArray(), new long[] { 3, 6 });
        Func<Tensor?, AttributionMethod>[] methods =
        {
            m => new FeatureAblation(Interacting6, m),
            m => new ShapleyValueSampling(Interacting6, m, permutations: 7, seed: 1),
            m => new KernelShap(Interacting6, m, samples: 7, seed: 2),
            m => new Lime(Interacting6, m, samples: 40, seed: 3),
        };
        foreach (var method in methods)
        {
            using var batch = method(masks).Attribute(x, new long[] { 0, 1, 0 }, b);
            for (int e = 0; e < 3; e++)
            {
                using var alone = method(masks[e].unsqueeze(0)).Attribute(x[e].unsqueeze(0), new long[] { e == 1 ? 1 : 0 }, b[e].unsqueeze(0));
                Assert.True(batch.Map[e].allclose(alone.Map[0], atol: 1e-9), $"{batch.Method}, example {e}: {batch.Map[e].ToString(TorchSharp.TensorStringStyle.Julia)} vs {alone.Map[0].ToString(TorchSharp.TensorStringStyle.Julia)}");
            }
        }
    }

    static readonly Func<Tensor, Tensor> Interacting6 = x =>
        torch.stack(new[] { x[.., 0] * x[.., 3] + x[.., 1].pow(2) - x[.., 2] * x[.., 5] + x[.., 4], x[.., 5] * x[.., 1] - x[.., 0] }, 1);

    [Fact]
    public void Bad_masks_are_rejected()
    {
        using var model = Nets.Cnn(15);
        using var x = Nets.Inputs(new long[] { 1, 1, 8, 8 }, seed: 16);
        using var wrong = torch.zeros(new long[] { 1, 5, 5 }, ScalarType.Int64);
        Assert.Equal("featureMask", Assert.Throws<ArgumentException>(() => new FeatureAblation(model, wrong).Attribute(x, 0)).ParamName);
        using var negative = torch.full(new long[] { 1, 8, 8 }, -1L, ScalarType.Int64);
        Assert.Equal("featureMask", Assert.Throws<ArgumentException>(() => new KernelShap(model, negative).Attribute(x, 0)).ParamName);
        using var two = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 17);
        using var three = torch.zeros(new long[] { 3, 1, 8, 8 }, ScalarType.Int64); // 3 masks for 2 examples
        Assert.Contains("3 rows for 2 examples", Assert.Throws<ArgumentException>(() => new FeatureAblation(model, three).Attribute(two, 0)).Message);
        using var fractional = torch.zeros(new long[] { 1, 8, 8 }, ScalarType.Float32);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => new FeatureAblation(model, fractional).Attribute(x, 0)).Message);
    }
}
