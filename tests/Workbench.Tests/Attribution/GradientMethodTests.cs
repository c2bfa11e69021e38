using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

public class GradientMethodTests
{
    static Tensor WeightRow(nn.Module<Tensor, Tensor> linear, long c) => linear.parameters().First()[c].detach();

    [Fact]
    public void Linear_model_saliency_is_the_weights_and_ig_is_exact()
    {
        using var model = Nets.Linear(6, 3, seed: 1);
        using var x = Nets.Inputs(new long[] { 4, 6 }, seed: 2);
        using var baseline = Nets.Inputs(new long[] { 6 }, seed: 3);
        var w = WeightRow(model, 2);

        using var signed = new Saliency(model, absolute: false).Attribute(x, 2);
        Assert.True(signed.Map.allclose(w.expand(4, 6), atol: 1e-12));
        using var abs = new Saliency(model).Attribute(x, 2);
        Assert.True(abs.Map.allclose(w.abs().expand(4, 6), atol: 1e-12));
        using var ixg = new InputXGradient(model).Attribute(x, 2);
        Assert.True(ixg.Map.allclose(x * w, atol: 1e-12));

        foreach (var rule in Enum.GetValues<IntegrationRule>())
        {
            using var ig = new IntegratedGradients(model, steps: 3, rule: rule).Attribute(x, 2, baseline);
            Assert.True(ig.Map.allclose((x - baseline) * w, atol: 1e-12), rule.ToString());
            Assert.True(ig.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        }
    }

    [FsCheck.Xunit.Property(MaxTest = 15)]
    public bool Ig_completeness_error_shrinks_with_steps_and_is_tiny_at_300_gauss_legendre(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = Nets.Smooth(5, 8, 3, seed & 0xffff);
        var x = Nets.Inputs(new long[] { 3, 5 }, seed ^ 0x55, -2, 2);
        var coarse = new IntegratedGradients(model, steps: 2, rule: IntegrationRule.RiemannLeft).Attribute(x, 1);
        var fine = new IntegratedGradients(model, steps: 300, rule: IntegrationRule.GaussLegendre).Attribute(x, 1);
        using var noGrad = torch.no_grad();
        var gap = (model.call(x)[.., 1] - model.call(torch.zeros_like(x))[.., 1]).abs();
        double coarseErr = coarse.ConvergenceDelta!.abs().max().item<double>();
        double fineRel = (fine.ConvergenceDelta!.abs() / (gap + 1e-8)).max().item<double>();
        return fineRel < 1e-3 && fine.ConvergenceDelta.abs().max().item<double>() <= coarseErr + 1e-12;
    }

    [FsCheck.Xunit.Property(MaxTest = 10)]
    public bool Path_methods_are_linear_in_the_model(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var f1 = Nets.Smooth(4, 6, 2, seed & 0xffff);
        var f2 = Nets.Smooth(4, 6, 2, (seed & 0xffff) + 1, tanh: true);
        Func<Tensor, Tensor> sum = t => f1.call(t) * 2 + f2.call(t) * 3;
        var x = Nets.Inputs(new long[] { 2, 4 }, seed);
        var a = new IntegratedGradients(f1, steps: 20).Attribute(x, 0).Map;
        var b = new IntegratedGradients(f2, steps: 20).Attribute(x, 0).Map;
        var ab = new IntegratedGradients(sum, steps: 20).Attribute(x, 0).Map;
        return ab.allclose(a * 2 + b * 3, atol: 1e-10);
    }

    [Fact]
    public void Ig_preserves_symmetry_of_symmetric_variables()
    {
        // f(x) = g(x0 + x1, x2): x0 and x1 are symmetric; with equal values and a zero baseline they get equal attribution.
        using var g = Nets.Smooth(2, 6, 2, seed: 4);
        Func<Tensor, Tensor> f = t => g.call(torch.stack(new[] { t[.., 0] + t[.., 1], t[.., 2] }, 1));
        using var x = torch.tensor(new[] { 0.7, 0.7, -0.3, 0.2, 0.2, 0.9 }, new long[] { 2, 3 }).to_type(ScalarType.Float64);
        using var ig = new IntegratedGradients(f, steps: 64).Attribute(x, 1);
        Assert.True(ig.Map[.., 0].allclose(ig.Map[.., 1], atol: 1e-12));
    }

    [FsCheck.Xunit.Property(MaxTest = 10)]
    public bool Functionally_equal_networks_get_equal_gradient_maps(int seed)
    {
        // Permuting the hidden units gives a different network computing the same function.
        using var scope = torch.NewDisposeScope();
        var a = Nets.Relu(5, 7, 3, seed & 0xffff);
        var b = Nets.Relu(5, 7, 3, 0);
        var pa = a.parameters().ToArray();
        var pb = b.parameters().ToArray();
        var perm = TensorPermutation(7, seed);
        using (torch.no_grad())
        {
            pb[0].copy_(pa[0].index_select(0, perm)); pb[1].copy_(pa[1].index_select(0, perm));
            pb[2].copy_(pa[2].index_select(1, perm)); pb[3].copy_(pa[3]);
            pb[4].copy_(pa[4]); pb[5].copy_(pa[5]);
        }
        var x = Nets.Inputs(new long[] { 3, 5 }, seed);
        return new Saliency(a, absolute: false).Attribute(x, 2).Map.allclose(new Saliency(b, absolute: false).Attribute(x, 2).Map, atol: 1e-12)
            && new IntegratedGradients(a, 16).Attribute(x, 2).Map.allclose(new IntegratedGradients(b, 16).Attribute(x, 2).Map, atol: 1e-10);
    }

    static Tensor TensorPermutation(int n, int seed) => Workbench.Data.TensorDataset.Permutation(n, seed & 0xffff);

    [Fact]
    public void Noise_tunnel_with_zero_sigma_equals_the_wrapped_method()
    {
        using var model = Nets.Smooth(4, 6, 3, seed: 5);
        using var x = Nets.Inputs(new long[] { 3, 4 }, seed: 6);
        using var plain = new Saliency(model, absolute: false).Attribute(x, 1);
        using var smooth = new NoiseTunnel(new Saliency(model, absolute: false), samples: 5, sigmaFraction: 0).Attribute(x, 1);
        Assert.True(smooth.Map.allclose(plain.Map, atol: 1e-12));
        using var squared = new NoiseTunnel(new Saliency(model, absolute: false), NoiseTunnelKind.SmoothGradSquared, samples: 5, sigmaFraction: 0).Attribute(x, 1);
        Assert.True(squared.Map.allclose(plain.Map.pow(2), atol: 1e-12));
        using var vargrad = new NoiseTunnel(new Saliency(model, absolute: false), NoiseTunnelKind.VarGrad, samples: 5, sigmaFraction: 0).Attribute(x, 1);
        Assert.True(vargrad.Map.abs().max().item<double>() < 1e-12);
        // With noise, SmoothGrad differs from the plain gradient, deterministically by seed.
        using var noisy1 = new NoiseTunnel(new Saliency(model, absolute: false), samples: 8, sigmaFraction: 0.3, seed: 1).Attribute(x, 1);
        using var noisy2 = new NoiseTunnel(new Saliency(model, absolute: false), samples: 8, sigmaFraction: 0.3, seed: 1).Attribute(x, 1);
        Assert.False(noisy1.Map.allclose(plain.Map, atol: 1e-6));
        Assert.True(noisy1.Map.equal(noisy2.Map).all().item<bool>());
        // With the same noise, VarGrad = E[g²] − E[g]² = SmoothGrad² − SmoothGrad².
        using var sq = new NoiseTunnel(new Saliency(model, absolute: false), NoiseTunnelKind.SmoothGradSquared, samples: 8, sigmaFraction: 0.3, seed: 1).Attribute(x, 1);
        using var vg = new NoiseTunnel(new Saliency(model, absolute: false), NoiseTunnelKind.VarGrad, samples: 8, sigmaFraction: 0.3, seed: 1).Attribute(x, 1);
        Assert.True(vg.Map.allclose(sq.Map - noisy1.Map.pow(2), atol: 1e-12));
        Assert.True(vg.Map.min().item<double>() >= 0);
    }

    [Fact]
    public void Results_do_not_depend_on_chunking()
    {
        using var model = Nets.Smooth(4, 6, 3, seed: 7);
        using var x = Nets.Inputs(new long[] { 5, 4 }, seed: 8);
        using var baselines = Nets.Inputs(new long[] { 3, 4 }, seed: 9);
        var tiny = new AttributionSettings { MaxRowsPerPass = 7 };
        using var ig = new IntegratedGradients(model, 40).Attribute(x, 2);
        using var igChunked = new IntegratedGradients(model, 40, settings: tiny).Attribute(x, 2);
        Assert.True(igChunked.Map.allclose(ig.Map, atol: 1e-5));
        Assert.True(igChunked.ForwardPasses > ig.ForwardPasses);
        using var shap = new GradientShap(model, samples: 20, stdev: 0.1, seed: 3).Attribute(x, 2, baselines);
        using var shapChunked = new GradientShap(model, samples: 20, stdev: 0.1, seed: 3, settings: tiny).Attribute(x, 2, baselines);
        Assert.True(shapChunked.Map.allclose(shap.Map, atol: 1e-5));
        using var sg = new NoiseTunnel(new Saliency(model), samples: 10, seed: 2).Attribute(x, 2);
        using var sgChunked = new NoiseTunnel(new Saliency(model, settings: tiny), samples: 10, seed: 2).Attribute(x, 2);
        Assert.True(sgChunked.Map.allclose(sg.Map, atol: 1e-5));
    }

    [Fact]
    public void Several_baselines_are_averaged_and_gradient_shap_approximates_ig_on_linear_models()
    {
        using var model = Nets.Linear(4, 2, seed: 10);
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 11);
        using var set = Nets.Inputs(new long[] { 3, 4 }, seed: 12);
        var w = WeightRow(model, 0);
        using var ig = new IntegratedGradients(model, 4).Attribute(x, 0, set);
        Assert.True(ig.Map.allclose((x - set.mean(new long[] { 0 })) * w, atol: 1e-12));
        // GradientSHAP on a linear model: E[(x - x') w] over sampled baselines -> (x - mean baseline) w.
        using var shap = new GradientShap(model, samples: 4000, seed: 1).Attribute(x, 0, set);
        Assert.True(shap.Map.allclose((x - set.mean(new long[] { 0 })) * w, atol: 0.05));
    }

    [Fact]
    public void Without_multiplying_by_inputs_path_methods_give_their_global_attribution()
    {
        using var linear = Nets.Linear(4, 3, seed: 30);
        using var x = Nets.Inputs(new long[] { 3, 4 }, seed: 31);
        using var b = Nets.Inputs(new long[] { 4 }, seed: 32);
        var w = WeightRow(linear, 2).expand(3, 4);
        using var ig = new IntegratedGradients(linear, 5, multiplyByInputs: false).Attribute(x, 2, b);
        Assert.True(ig.Map.allclose(w, atol: 1e-12));
        Assert.Null(ig.ConvergenceDelta);
        Assert.Equal(false, ig.Parameters["multiply_by_inputs"]);
        using var shap = new GradientShap(linear, samples: 10, multiplyByInputs: false).Attribute(x, 2, b);
        Assert.True(shap.Map.allclose(w, atol: 1e-12));
        // On a nonlinear model: local = global ⊙ (x − x').
        using var smooth = Nets.Smooth(4, 6, 3, seed: 33);
        using var local = new IntegratedGradients(smooth, 16).Attribute(x, 1, b);
        using var global = new IntegratedGradients(smooth, 16, multiplyByInputs: false).Attribute(x, 1, b);
        Assert.True(local.Map.allclose(global.Map * (x - b), atol: 1e-12));
        using var relu = Nets.Relu(4, 6, 3, seed: 34);
        using var dlLocal = new DeepLift(relu).Attribute(x, 0, b);
        using var dlGlobal = new DeepLift(relu, multiplyByInputs: false).Attribute(x, 0, b);
        Assert.True(dlLocal.Map.allclose(dlGlobal.Map * (x - b), atol: 1e-12));
        // Through NoiseTunnel (no noise: the wrapped method's global map).
        using var tunnel = new NoiseTunnel(new IntegratedGradients(smooth, 16, multiplyByInputs: false), samples: 3, sigmaFraction: 0).Attribute(x, 1, b);
        Assert.True(tunnel.Map.allclose(global.Map, atol: 1e-12));
        Assert.Equal(false, tunnel.Parameters["multiply_by_inputs"]);
    }

    [Fact]
    public void Targets_predicted_and_selector_resolve_per_example()
    {
        using var model = Nets.Smooth(4, 6, 3, seed: 13);
        using var x = Nets.Inputs(new long[] { 4, 4 }, seed: 14);
        using var predicted = new Saliency(model, absolute: false).Attribute(x, Target.Predicted);
        long[] classes;
        using (torch.no_grad()) classes = model.call(x).argmax(1).data<long>().ToArray();
        using var explicitly = new Saliency(model, absolute: false).Attribute(x, Target.PerExample(classes));
        Assert.True(predicted.Map.equal(explicitly.Map).all().item<bool>());
        // A selector: the logit difference between classes 0 and 1 equals the difference of their maps.
        using var diff = new Saliency(model, absolute: false).Attribute(x, Target.Selector(o => o[.., 0] - o[.., 1], "logit 0 - logit 1"));
        using var m0 = new Saliency(model, absolute: false).Attribute(x, 0);
        using var m1 = new Saliency(model, absolute: false).Attribute(x, 1);
        Assert.True(diff.Map.allclose(m0.Map - m1.Map, atol: 1e-12));
        var many = new Saliency(model).Attribute(x, new Target[] { 0, 1, 2 });
        Assert.Equal(3, many.Count);
        foreach (var a in many) a.Dispose();
    }

    [Fact]
    public void A_model_with_a_single_output_needs_no_target()
    {
        using var single = Nets.Linear(4, 1, seed: 40); // [N, 1]
        using var x = Nets.Inputs(new long[] { 3, 4 }, seed: 41);
        var w = WeightRow(single, 0).expand(3, 4);
        using var saliency = new Saliency(single, absolute: false).Attribute(x);
        Assert.True(saliency.Map.allclose(w, atol: 1e-12));
        Assert.Equal("the output", saliency.Target);
        Func<Tensor, Tensor> vector = t => single.call(t).squeeze(1) * 2; // [N]
        using var ig = new IntegratedGradients(vector, 8).Attribute(x);
        Assert.True(ig.Map.allclose(x * w * 2, atol: 1e-12));
        using var ablation = new FeatureAblation(vector).Attribute(x);
        Assert.True(ablation.Map.allclose(x * w * 2, atol: 1e-12));
        using var tunnel = new NoiseTunnel(new Saliency(vector, absolute: false), samples: 3, sigmaFraction: 0.2).Attribute(x);
        Assert.True(tunnel.Map.allclose(w * 2, atol: 1e-12)); // a linear model's gradient, whatever the noise
        using var three = Nets.Linear(4, 3, seed: 42);
        var e = Assert.Throws<ArgumentException>(() => new Saliency(three).Attribute(x));
        Assert.Equal("target", e.ParamName);
        Assert.Contains("3 values per example", e.Message);
    }

    [Fact]
    public void Noise_tunnel_takes_selector_and_predicted_targets()
    {
        using var model = Nets.Smooth(4, 6, 3, seed: 43);
        using var x = Nets.Inputs(new long[] { 3, 4 }, seed: 44);
        var difference = Target.Selector(o => o[.., 0] - o[.., 1], "logit 0 - logit 1");
        using var plain = new Saliency(model, absolute: false).Attribute(x, difference);
        using var tunnel = new NoiseTunnel(new Saliency(model, absolute: false), samples: 4, sigmaFraction: 0).Attribute(x, difference);
        Assert.True(tunnel.Map.allclose(plain.Map, atol: 1e-12));
        using var predicted = new NoiseTunnel(new Saliency(model, absolute: false), samples: 4, sigmaFraction: 0.3, seed: 1).Attribute(x, Target.Predicted);
        long[] classes;
        using (torch.no_grad()) classes = model.call(x).argmax(1).data<long>().ToArray();
        using var explicitly = new NoiseTunnel(new Saliency(model, absolute: false), samples: 4, sigmaFraction: 0.3, seed: 1).Attribute(x, classes);
        Assert.True(predicted.Map.equal(explicitly.Map).all().item<bool>()); // the class predicted at the clean input, not at each noisy copy
    }

    [Fact]
    public void Finite_inputs_whose_sum_overflows_are_accepted_and_an_infinite_one_is_refused()
    {
        // The finiteness check sums in the inputs' dtype: 4 × 3e38 overflows float32 to ∞ although every element is finite.
        using var model = torch.nn.Linear(4, 1);
        using var huge = torch.full(2, 4, 3e38f);
        using var saliency = new Saliency(model).Attribute(huge);
        Assert.Equal(new long[] { 2, 4 }, saliency.Map.shape);
        using var infinite = huge.clone();
        infinite[1, 2] = torch.tensor(float.PositiveInfinity);
        Assert.Contains("infinite", Assert.Throws<ArgumentException>(() => new Saliency(model).Attribute(infinite)).Message);
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_clear_messages()
    {
        using var model = Nets.Linear(4, 3, seed: 15);
        var ig = new IntegratedGradients(model, 4);
        using var vector = torch.zeros(4, ScalarType.Float64);
        Assert.Contains("at least 2 dimensions", Assert.Throws<ArgumentException>(() => ig.Attribute(vector, 0)).Message);
        using var empty = torch.zeros(0, 4, ScalarType.Float64);
        Assert.Contains("empty batch", Assert.Throws<ArgumentException>(() => ig.Attribute(empty, 0)).Message);
        using var nan = torch.full(2, 4, double.NaN, ScalarType.Float64);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => ig.Attribute(nan, 0)).Message);
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 16);
        using var badBaseline = torch.zeros(5, ScalarType.Float64);
        var e = Assert.Throws<ArgumentException>(() => ig.Attribute(x, 0, badBaseline));
        Assert.Equal("baselines", e.ParamName);
        Assert.Contains("[5]", e.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => ig.Attribute(x, 3));
        Assert.Contains("[0, 2]", range.Message);
        Assert.Throws<ArgumentException>(() => ig.Attribute(x, new long[] { 0, 1, 2 }));
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => new Saliency(model).Attribute(x, 0, x)).ParamName);
    }

    [Fact]
    public void A_model_in_training_mode_is_explained_in_eval_mode_and_restored()
    {
        TorchRuntime.Seed(17);
        using var model = nn.Sequential(("fc", nn.Linear(4, 3)), ("drop", nn.Dropout(0.5)));
        model.to(ScalarType.Float64);
        model.train();
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 18);
        using var a = new Saliency(model, absolute: false).Attribute(x, 1);
        using var b = new Saliency(model, absolute: false).Attribute(x, 1);
        Assert.True(a.SwitchedToEval);
        Assert.True(model.training);
        Assert.True(a.Map.equal(b.Map).all().item<bool>()); // no dropout noise: eval mode was used
    }
}
