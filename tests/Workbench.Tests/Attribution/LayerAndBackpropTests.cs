using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

public class LayerAndBackpropTests
{
    /// <summary>conv (1->2, 3x3, padding 1) - relu "act" - global average pool - flatten - linear "fc" (2->2): Grad-CAM and CAM have closed forms.</summary>
    static nn.Module<Tensor, Tensor> OneConv(int seed)
    {
        TorchRuntime.Seed(seed);
        var m = nn.Sequential(("conv", nn.Conv2d(1, 2, 3, padding: 1)), ("act", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()), ("fc", nn.Linear(2, 2)));
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    [Fact]
    public void GradCam_and_Cam_match_their_closed_forms_on_a_one_conv_network()
    {
        using var model = OneConv(1);
        using var x = Nets.Inputs(new long[] { 3, 1, 6, 6 }, seed: 2);
        var p = model.parameters().ToArray();
        using var a = nn.functional.relu(nn.functional.conv2d(x, p[0], p[1], padding: new long[] { 1, 1 })); // [3, 2, 6, 6]
        var w = p[2].detach();
        foreach (long c in new long[] { 0, 1 })
        {
            // score = Σ_k W[c,k] mean(A_k) + b: ∂score/∂A_k = W[c,k] / 36, so Grad-CAM = ReLU(Σ_k W[c,k] A_k) / 36 and CAM = Σ_k W[c,k] A_k.
            using var weighted = (w[c].reshape(1, 2, 1, 1) * a).sum(1, keepdim: true);
            using var gradCam = new GradCam(model, "act").Attribute(x, c);
            Assert.True(gradCam.Map.allclose(nn.functional.relu(weighted) / 36, atol: 1e-12));
            using var counterfactual = new GradCam(model, "act", counterfactual: true).Attribute(x, c);
            Assert.True(counterfactual.Map.allclose(nn.functional.relu(-weighted) / 36, atol: 1e-12));
            using var cam = new Cam(model, "act", "fc").Attribute(x, c);
            Assert.True(cam.Map.allclose(weighted, atol: 1e-12));
        }
    }

    [Fact]
    public void GradCam_upsamples_to_the_input_and_rejects_unknown_layers()
    {
        using var model = Nets.Cnn(3, pool: true);
        using var x = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 4);
        using var map = new GradCam(model, "pool").Attribute(x, 1);
        Assert.Equal(x.shape, map.Map.shape);
        var e = Assert.Throws<ArgumentException>(() => new GradCam(model, "conv9").Attribute(x, 1));
        Assert.Contains("conv9", e.Message);
        Assert.Contains("conv2", e.Message);
    }

    [Fact]
    public void Guided_backprop_and_deconvolution_follow_their_rules_on_a_two_layer_net()
    {
        TorchRuntime.Seed(5);
        using var model = nn.Sequential(("fc1", nn.Linear(4, 6, hasBias: false)), ("relu", nn.ReLU()), ("fc2", nn.Linear(6, 3, hasBias: false)));
        model.to(ScalarType.Float64);
        using var x = Nets.Inputs(new long[] { 5, 4 }, seed: 6);
        var p = model.parameters().ToArray();
        var (w1, w2) = (p[0].detach(), p[1].detach());
        using var active = x.matmul(w1.t()).gt(0).to_type(ScalarType.Float64);      // [5, 6]
        using var positive = w2[2].clamp_min(0);                                       // [6]
        using var guided = new GuidedBackprop(model).Attribute(x, 2);
        Assert.True(guided.Map.allclose((active * positive).matmul(w1), atol: 1e-12));
        using var deconv = new Deconvolution(model).Attribute(x, 2);
        Assert.True(deconv.Map.allclose(positive.matmul(w1).expand(5, 4), atol: 1e-12));
        using var plain = new Saliency(model, absolute: false).Attribute(x, 2);
        Assert.True(plain.Map.allclose((active * w2[2]).matmul(w1), atol: 1e-12)); // the hooks are gone after the call
    }

    [Fact]
    public void The_audit_names_a_reused_module_and_a_model_without_relus()
    {
        TorchRuntime.Seed(7);
        var relu = nn.ReLU();
        var l1 = nn.Linear(4, 4);
        var l2 = nn.Linear(4, 2);
        var reused = new Reuse(l1, relu, l2);
        reused.to(ScalarType.Float64);
        using var x = Nets.Inputs(new long[] { 2, 4 }, seed: 8);
        var e = Assert.Throws<InvalidOperationException>(() => new GuidedBackprop(reused).Attribute(x, 0));
        Assert.Contains("'relu' fired 2 times", e.Message);

        using var smooth = Nets.Smooth(4, 5, 2, seed: 9, tanh: true);
        Assert.Contains("has none", Assert.Throws<InvalidOperationException>(() => new GuidedBackprop(smooth).Attribute(x, 0)).Message);
        Func<Tensor, Tensor> f = t => t.sum(1, keepdim: true);
        Assert.Contains("needs a module", Assert.Throws<InvalidOperationException>(() => new GuidedBackprop(f).Attribute(x, 0)).Message);
    }

    sealed class Reuse : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> fc1, relu, fc2;
        public Reuse(nn.Module<Tensor, Tensor> a, nn.Module<Tensor, Tensor> r, nn.Module<Tensor, Tensor> b) : base("reuse")
        {
            fc1 = a; relu = r; fc2 = b;
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => fc2.call(relu.call(fc1.call(relu.call(x))));
    }

    [Fact]
    public void Deeplift_equals_ig_on_a_linear_model()
    {
        using var model = Nets.Linear(5, 2, seed: 10);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 11);
        using var b = Nets.Inputs(new long[] { 5 }, seed: 12);
        using var dl = new DeepLift(model).Attribute(x, 1, b);
        using var ig = new IntegratedGradients(model, 8).Attribute(x, 1, b);
        Assert.True(dl.Map.allclose(ig.Map, atol: 1e-12));
    }

    [FsCheck.Xunit.Property(MaxTest = 15)]
    public bool Deeplift_sums_to_delta_on_relu_and_conv_networks(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var mlp = Nets.Relu(6, 8, 3, seed & 0xffff);
        var x = Nets.Inputs(new long[] { 4, 6 }, seed);
        var b = Nets.Inputs(new long[] { 4, 6 }, seed + 1);
        var a = new DeepLift(mlp).Attribute(x, 2, b);
        var cnn = Nets.Cnn(seed & 0xffff);
        var xi = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed);
        var c = new DeepLift(cnn).Attribute(xi, 0);
        return a.ConvergenceDelta!.abs().max().item<double>() < 1e-8 && c.ConvergenceDelta!.abs().max().item<double>() < 1e-8;
    }

    [Fact]
    public void Deeplift_max_pool_rule_matches_a_hand_computation()
    {
        // pool (windows of 2) - fc with weights [2, -1]. x = [3, 1 | 0, 5], x' = [2, 4 | 1, 1].
        // Window 1: y = 3 (at 0), y' = 4 (at 1), m = 4: m - y' = 0 goes to 0, y - m = -1 to 1.
        // Window 2: y = 5 (at 3), y' = 1 (at 2), m = 5: m - y' = 4 goes to 3, y - m = 0 to 2.
        // Times the fc weights: contributions [0, -2, 0, -4], summing to F(x) - F(x') = 1 - 7 = -6.
        using var model = nn.Sequential(("pool", nn.MaxPool1d(2)), ("flatten", nn.Flatten()), ("fc", nn.Linear(2, 1, hasBias: false)));
        model.to(ScalarType.Float64);
        using (torch.no_grad()) model.parameters().First().copy_(torch.tensor(new[] { 2.0, -1.0 }, new long[] { 1, 2 }));
        using var x = torch.tensor(new[] { 3.0, 1, 0, 5 }, new long[] { 1, 1, 4 }, ScalarType.Float64);
        using var b = torch.tensor(new[] { 2.0, 4, 1, 1 }, new long[] { 1, 1, 4 }, ScalarType.Float64);
        using var dl = new DeepLift(model).Attribute(x, 0, b);
        Assert.Equal(new[] { 0.0, -2, 0, -4 }, dl.Map.flatten().data<double>().ToArray());
        Assert.Equal(0.0, dl.ConvergenceDelta!.item<double>(), 12);
        // The multipliers alone (multiplyByInputs: false): contributions over Δx = [1, -3, -1, 4].
        using var global = new DeepLift(model, multiplyByInputs: false).Attribute(x, 0, b);
        Assert.True(global.Map.flatten().allclose(torch.tensor(new[] { 0.0, 2.0 / 3, 0, -1 }, ScalarType.Float64), atol: 1e-12));
        Assert.Null(global.ConvergenceDelta);
    }

    [FsCheck.Xunit.Property(MaxTest = 10)]
    public bool Deeplift_sums_to_delta_on_a_cnn_with_max_pooling(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var cnn = Nets.Cnn(seed & 0xffff, pool: true);
        var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed);
        var b = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed + 1);
        var a = new DeepLift(cnn).Attribute(x, 1, b);
        using var noGrad = torch.no_grad();
        var gap = cnn.call(x)[.., 1] - cnn.call(b)[.., 1];
        return (a.Map.flatten(1).sum(1) - gap).abs().max().item<double>() < 1e-8 && a.ConvergenceDelta!.abs().max().item<double>() < 1e-8;
    }

    /// <summary>
    /// The max-pool rule routes through the pool's own backward node. Checked against the rule written
    /// out with the winners' indices (pooling again with indices, routing by scatter-add) on pools whose
    /// windows overlap, are padded, dilated or cut by ceil mode, and summation-to-delta on each.
    /// </summary>
    [Theory]
    [InlineData(2, 2, 0, 1, false)]
    [InlineData(3, 2, 1, 1, false)]
    [InlineData(3, 2, 1, 1, true)]
    [InlineData(2, 1, 0, 2, false)]
    [InlineData(3, 3, 1, 1, true)]
    public void Deeplift_max_pool_rule_matches_routing_by_the_winners_indices(long kernel, long stride, long padding, long dilation, bool ceil)
    {
        using var scope = torch.NewDisposeScope();
        TorchRuntime.Seed(31);
        var pool = nn.MaxPool2d(kernel, stride, padding, dilation, ceil);
        var side = pool.call(torch.zeros(1, 1, 9, 9)).shape[2];
        var model = nn.Sequential(("pool", pool), ("flatten", nn.Flatten()), ("fc", nn.Linear(2 * side * side, 2)));
        model.to(ScalarType.Float64);
        var x = Nets.Inputs(new long[] { 3, 2, 9, 9 }, seed: 32);
        var b = Nets.Inputs(new long[] { 3, 2, 9, 9 }, seed: 33);
        var dl = new DeepLift(model).Attribute(x, 1, b);

        // The rule by hand: Δy of each window split between the input's and the baseline's winners.
        var w = model.parameters().First()[1].detach().reshape(1, 2, side, side);
        var (y, ix) = pool.forward_with_indices(x);
        var (yb, ib) = pool.forward_with_indices(b);
        var m = torch.maximum(y, yb);
        Tensor Route(Tensor values, Tensor indices) => torch.zeros_like(x).flatten(2).scatter_add(2, indices.flatten(2), values.flatten(2)).reshape(x.shape);
        var received = Route(w * (m - yb), ix) + Route(w * (y - m), ib);
        Assert.True(dl.Map.allclose(received, atol: 1e-12), $"largest difference {(dl.Map - received).abs().max().item<double>():G3}");
        Assert.True(dl.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Layer_deeplift_at_a_max_pool_sums_to_the_output_change(bool toLayerInput)
    {
        // Every path passes the pool, so the contributions of its units (output or input) sum to F(x) − F(x').
        using var scope = torch.NewDisposeScope();
        var cnn = Nets.Cnn(35, pool: true);
        var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 36);
        var b = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 37);
        var a = new LayerDeepLift(cnn, "pool", attributeToLayerInput: toLayerInput).Attribute(x, 2, b);
        Assert.Equal(toLayerInput ? new long[] { 3, 6, 8, 8 } : new long[] { 3, 6, 4, 4 }, a.Map.shape);
        using var noGrad = torch.no_grad();
        var gap = cnn.call(x)[.., 2] - cnn.call(b)[.., 2];
        Assert.True((a.Map.flatten(1).sum(1) - gap).abs().max().item<double>() < 1e-10);
        Assert.True(a.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
    }

    [Fact]
    public void Deeplift_shap_averages_deeplift_over_the_baselines()
    {
        using var linear = Nets.Linear(5, 2, seed: 21);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 22);
        using var set = Nets.Inputs(new long[] { 4, 5 }, seed: 23);
        var w = linear.parameters().First()[1].detach();
        using var shap = new DeepLiftShap(linear).Attribute(x, 1, set);
        Assert.True(shap.Map.allclose((x - set.mean(new long[] { 0 })) * w, atol: 1e-12));
        using var cnn = Nets.Cnn(24, pool: true);
        using var xi = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 25);
        using var background = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 26);
        using var averaged = new DeepLiftShap(cnn).Attribute(xi, 2, background);
        using var sum = torch.zeros_like(xi);
        for (int k = 0; k < 3; k++)
        {
            using var one = new DeepLift(cnn).Attribute(xi, 2, background[k]);
            sum.add_(one.Map);
        }
        Assert.True(averaged.Map.allclose(sum / 3, atol: 1e-12));
        Assert.True(averaged.ConvergenceDelta!.abs().max().item<double>() < 1e-8);
    }

    [Fact]
    public void Lrp_matches_a_hand_computation_on_a_two_layer_net()
    {
        using var model = nn.Sequential(("fc1", nn.Linear(2, 2, hasBias: false)), ("relu", nn.ReLU()), ("fc2", nn.Linear(2, 1, hasBias: false)));
        model.to(ScalarType.Float64);
        var p = model.parameters().ToArray();
        using (torch.no_grad())
        {
            p[0].copy_(torch.tensor(new[] { 1.0, 2.0, -1.0, 3.0 }, new long[] { 2, 2 }));
            p[1].copy_(torch.tensor(new[] { 0.5, -1.0 }, new long[] { 1, 2 }));
        }
        using var x = torch.tensor(new[] { 1.0, 1.0 }, new long[] { 1, 2 });
        // z1 = [3, 2], a = [3, 2], out = 1.5 - 2 = -0.5. R_a = a ⊙ w2 = [1.5, -2].
        // R_x_i = Σ_j x_i W1[j,i] / z1_j · R_a_j: R_x0 = 1·1/3·1.5 + 1·(-1)/2·(-2) = 1.5, R_x1 = 2/3·1.5 + 3/2·(-2) = -2.
        using var lrp = new Lrp(model, LrpComposite.Uniform(new EpsilonRule(1e-12))).Attribute(x, 0);
        Assert.True(lrp.Map.allclose(torch.tensor(new[] { 1.5, -2.0 }, new long[] { 1, 2 }), atol: 1e-9), lrp.Map.ToString(TorchSharp.TensorStringStyle.Julia));
        Assert.True(lrp.ConvergenceDelta!.abs().item<double>() < 1e-9);
    }

    [FsCheck.Xunit.Property(MaxTest = 15)]
    public bool Lrp_conserves_relevance_without_biases_and_lrp0_is_input_times_gradient(int seed)
    {
        using var scope = torch.NewDisposeScope();
        var model = Nets.Relu(6, 8, 3, seed & 0xffff, bias: false);
        var x = Nets.Inputs(new long[] { 4, 6 }, seed, 0, 1);
        var lrp = new Lrp(model, LrpComposite.Uniform(new EpsilonRule(1e-12))).Attribute(x, 1);
        var fx = model.call(x)[.., 1].detach();
        bool conserved = (lrp.Map.sum(1) - fx).abs().max().item<double>() <= 1e-6 * Math.Max(1, fx.abs().max().item<double>());
        var ixg = new InputXGradient(model).Attribute(x, 1);
        bool equalsIxg = lrp.Map.allclose(ixg.Map, atol: 1e-6);
        // z+ on non-negative inputs conserves too (all contributions are positive).
        var zplus = new Lrp(model, LrpComposite.Uniform(new ZPlusRule())).Attribute(x, 1);
        return conserved && equalsIxg && zplus.Map.isfinite().all().item<bool>();
    }

    [Fact]
    public void Lrp_composites_run_on_a_cnn_and_alpha1_beta0_equals_zplus_without_biases()
    {
        using var model = Nets.Cnn(13, pool: true);
        using var x = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 14, 0, 1);
        foreach (var composite in new[] { LrpComposite.EpsilonPlus(), LrpComposite.EpsilonPlusFlat(), LrpComposite.Uniform(new GammaRule()), LrpComposite.Uniform(new FlatRule()) })
        {
            using var a = new Lrp(model, composite).Attribute(x, 0);
            Assert.Equal(x.shape, a.Map.shape);
            Assert.True(a.Map.isfinite().all().item<bool>(), composite.Name);
        }
        // Without biases and with non-negative inputs, alpha-beta with alpha 1, beta 0 is the z+ rule.
        using var mlp = Nets.Relu(6, 8, 3, seed: 19, bias: false);
        using var xm = Nets.Inputs(new long[] { 3, 6 }, seed: 20, 0, 1);
        using var ab = new Lrp(mlp, LrpComposite.Uniform(new AlphaBetaRule(1, 0))).Attribute(xm, 0);
        using var zp = new Lrp(mlp, LrpComposite.Uniform(new ZPlusRule())).Attribute(xm, 0);
        Assert.True(ab.Map.allclose(zp.Map, atol: 1e-8));
    }

    [Fact]
    public void Lrp0_on_a_relu_cnn_without_biases_is_input_times_gradient()
    {
        using var model = StridedCnnWithoutBiases();
        using var x = Nets.Inputs(new long[] { 2, 1, 10, 10 }, seed: 22, 0, 1); // 10 -> 5 with stride 2: the transposed conv needs an output padding of 1
        using var lrp = new Lrp(model, LrpComposite.Uniform(new EpsilonRule(1e-12))).Attribute(x, 2);
        using var ixg = new InputXGradient(model).Attribute(x, 2);
        Assert.True(lrp.Map.allclose(ixg.Map, atol: 1e-8), $"max difference {(lrp.Map - ixg.Map).abs().max().item<double>()}");
    }

    /// <summary>Strided and padded convolutions (the transposed convolution must restore the input size) and max pooling, no biases.</summary>
    static nn.Module<Tensor, Tensor> StridedCnnWithoutBiases()
    {
        TorchRuntime.Seed(21);
        var model = nn.Sequential(("conv1", nn.Conv2d(1, 3, 3, stride: 2, padding: 1, bias: false)), ("act1", nn.ReLU()),
            ("conv2", nn.Conv2d(3, 4, 2, bias: false)), ("act2", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()), ("fc", nn.Linear(4 * 2 * 2, 3, hasBias: false)));
        model.to(ScalarType.Float64);
        return model;
    }

    [Fact]
    public void Lrp0_conserves_relevance_through_average_pooling_after_a_relu()
    {
        // Average pooling hands relevance to zero activations of its window too; the ReLU below must pass
        // it on (LRP's pass-through), not mask it as its gradient would, or relevance is lost.
        TorchRuntime.Seed(24);
        using var model = nn.Sequential(("conv", nn.Conv2d(1, 3, 3, padding: 1, bias: false)), ("act", nn.ReLU()), ("pool", nn.AvgPool2d(2)),
            ("flatten", nn.Flatten()), ("fc", nn.Linear(3 * 4 * 4, 2, hasBias: false)));
        model.to(ScalarType.Float64);
        using var x = Nets.Inputs(new long[] { 3, 1, 8, 8 }, seed: 25);
        using var lrp = new Lrp(model, LrpComposite.Uniform(new EpsilonRule(1e-12))).Attribute(x, 0);
        Assert.True(lrp.ConvergenceDelta!.abs().max().item<double>() < 1e-8, $"relevance lost: {lrp.ConvergenceDelta!.abs().max().item<double>()}");
    }

    [Fact]
    public void Layer_lrp0_at_any_layer_of_a_relu_cnn_without_biases_is_activation_times_gradient_and_conserves()
    {
        // LRP-0 on a bias-free ReLU network: the relevance of any layer's units is a ⊙ ∂f/∂a, and it sums to f(x).
        using var model = StridedCnnWithoutBiases();
        using var x = Nets.Inputs(new long[] { 2, 1, 10, 10 }, seed: 23, 0, 1);
        var lrp0 = LrpComposite.Uniform(new EpsilonRule(1e-12));
        foreach (var (layer, toInput) in new[] { ("act1", false), ("conv2", false), ("conv2", true), ("pool", false) })
        {
            using var relevance = new LayerLrp(model, layer, lrp0, toInput).Attribute(x, 1);
            using var gxa = new LayerGradientXActivation(model, layer, attributeToLayerInput: toInput).Attribute(x, 1);
            Assert.Equal(gxa.Map.shape, relevance.Map.shape);
            Assert.True(relevance.Map.allclose(gxa.Map, atol: 1e-8), $"{layer} (input: {toInput}): max difference {(relevance.Map - gxa.Map).abs().max().item<double>()}");
            Assert.True(relevance.ConvergenceDelta!.abs().max().item<double>() < 1e-8);
        }
    }

    [Fact]
    public void Layer_lrp_epsilon_matches_a_hand_computation_with_biases()
    {
        // fc1 - relu - fc2 with biases, LRP-ε with a large ε: the hidden unit j gets
        // R_j = a_j w_kj f / (f + ε sign f), f = z_k the target's output (its bias included).
        TorchRuntime.Seed(31);
        using var model = nn.Sequential(("fc1", nn.Linear(4, 3)), ("act1", nn.ReLU()), ("fc2", nn.Linear(3, 2)));
        model.to(ScalarType.Float64);
        using var x = Nets.Inputs(new long[] { 3, 4 }, seed: 32);
        const double epsilon = 0.5;
        var p = model.parameters().ToArray();
        var a = nn.functional.relu(x.matmul(p[0].t()) + p[1]).detach();
        var f = (a.matmul(p[2].t()) + p[3]).detach()[.., 0];
        var expected = a * p[2][0].detach() * (f / (f + epsilon * f.sign())).unsqueeze(1);
        using var relevance = new LayerLrp(model, "act1", LrpComposite.Uniform(new EpsilonRule(epsilon))).Attribute(x, 0);
        Assert.True(relevance.Map.allclose(expected, atol: 1e-10), $"max difference {(relevance.Map - expected).abs().max().item<double>()}");
        // The relevance the bias and ε absorbed is the convergence delta.
        Assert.True((relevance.ConvergenceDelta! - (expected.sum(1) - f)).abs().max().item<double>() < 1e-10);
    }

    [Fact]
    public void Lrp_refuses_layers_it_has_no_rule_for()
    {
        TorchRuntime.Seed(15);
        using var model = nn.Sequential(("conv", nn.Conv2d(1, 2, 3)), ("bn", nn.BatchNorm2d(2)), ("relu", nn.ReLU()), ("flatten", nn.Flatten()), ("fc", nn.Linear(72, 2)));
        model.to(ScalarType.Float64);
        model.eval();
        using var x = Nets.Inputs(new long[] { 1, 1, 8, 8 }, seed: 16);
        var e = Assert.Throws<InvalidOperationException>(() => new Lrp(model, LrpComposite.EpsilonPlus()).Attribute(x, 0));
        Assert.Contains("'bn'", e.Message);
    }

    [Fact]
    public void Guided_gradcam_is_the_product_of_its_parts()
    {
        using var model = Nets.Cnn(17);
        using var x = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 18);
        using var gb = new GuidedBackprop(model).Attribute(x, 1);
        using var smooth = new GuidedGradCam(model, "act2", LayerInterpolation.Bilinear).Attribute(x, 1);
        using var gc = new GradCam(model, "act2").Attribute(x, 1);
        Assert.True(smooth.Map.allclose(gb.Map * gc.Map, atol: 1e-12));
        // Captum's default: the ReLU'd layer map upsampled by nearest neighbours.
        using var nearest = new GuidedGradCam(model, "act2").Attribute(x, 1);
        using var layerMap = new LayerGradCam(model, "act2", relu: true).Attribute(x, 1);
        Assert.True(nearest.Map.allclose(gb.Map * LayerAttribution.Interpolate(layerMap.Map, 8, 8), atol: 1e-12));
    }
}
