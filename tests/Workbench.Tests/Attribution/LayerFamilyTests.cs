using TorchSharp;
using Workbench.Attribution;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

/// <summary>Layer and neuron attribution (Captum's families) against closed forms.</summary>
public class LayerFamilyTests
{
    /// <summary>fc1 (5 -> 4) - relu "act1" - fc2 (4 -> 3): linear after the layer, so layer IG and conductance are exact.</summary>
    static nn.Module<Tensor, Tensor> TwoLayer(int seed)
    {
        TorchRuntime.Seed(seed);
        var m = nn.Sequential(("fc1", nn.Linear(5, 4)), ("act1", nn.ReLU()), ("fc2", nn.Linear(4, 3)));
        m.to(ScalarType.Float64);
        m.eval();
        return m;
    }

    static Tensor Hidden(nn.Module<Tensor, Tensor> m, Tensor x)
    {
        var p = m.parameters().ToArray();
        using var noGrad = torch.no_grad();
        return nn.functional.relu(x.matmul(p[0].t()) + p[1]);
    }

    [Fact]
    public void Layer_gradcam_at_layer_resolution_per_channel_and_on_a_non_spatial_layer()
    {
        TorchRuntime.Seed(1);
        using var model = nn.Sequential(("conv", nn.Conv2d(1, 2, 3, padding: 1)), ("act", nn.ReLU()), ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(2, 2)));
        model.to(ScalarType.Float64);
        using var x = Nets.Inputs(new long[] { 2, 1, 6, 6 }, seed: 2);
        var p = model.parameters().ToArray();
        using var a = nn.functional.relu(nn.functional.conv2d(x, p[0], p[1], padding: new long[] { 1, 1 })).detach();
        var w = p[2].detach()[1].reshape(1, 2, 1, 1) / 36; // ∂y/∂A_k = W[1, k] / 36 everywhere
        using var summed = new LayerGradCam(model, "act").Attribute(x, 1);
        Assert.Equal(new long[] { 2, 1, 6, 6 }, summed.Map.shape);
        Assert.True(summed.Map.allclose((w * a).sum(1, keepdim: true), atol: 1e-12)); // no ReLU by default (Captum)
        using var perChannel = new LayerGradCam(model, "act", perChannel: true).Attribute(x, 1);
        Assert.True(perChannel.Map.allclose(w * a, atol: 1e-12));
        using var relu = new LayerGradCam(model, "act", relu: true).Attribute(x, 1);
        Assert.True(relu.Map.allclose(nn.functional.relu((w * a).sum(1, keepdim: true)), atol: 1e-12));
        // A non-spatial layer [B, 2]: the weights are the gradient W[1], the map Σ_k W[1, k] pooled_k = y − b.
        using var flat = new LayerGradCam(model, "flatten").Attribute(x, 1);
        using (torch.no_grad())
            Assert.True(flat.Map.allclose((model.call(x)[.., 1] - p[3][1]).unsqueeze(1), atol: 1e-12));
        // Upsampling is a separate step, nearest by default (Captum).
        using var small = torch.tensor(new[] { 1.0, 2, 3, 4 }, new long[] { 1, 1, 2, 2 });
        using var up = LayerAttribution.Interpolate(small, 4, 4);
        Assert.Equal(new[] { 1.0, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4 }, up.flatten().data<double>().ToArray());
        using var bilinear = LayerAttribution.Interpolate(small, 4, 4, LayerInterpolation.Bilinear);
        Assert.Equal(1.25, bilinear[0, 0, 0, 1].item<double>(), 12);
    }

    [Fact]
    public void Layer_gradient_x_activation_integrated_gradients_conductance_and_influence_on_a_net_linear_after_the_layer()
    {
        using var model = TwoLayer(3);
        using var x = Nets.Inputs(new long[] { 4, 5 }, seed: 4);
        using var b = Nets.Inputs(new long[] { 5 }, seed: 5);
        var w2 = model.parameters().ToArray()[2].detach()[2]; // ∂y₂/∂a = W2[2], whatever the input
        using var a = Hidden(model, x);
        using var aRef = Hidden(model, b.unsqueeze(0));
        using var expected = (a - aRef) * w2; // exact: the network is linear after the layer
        using var gxa = new LayerGradientXActivation(model, "act1").Attribute(x, 2);
        Assert.True(gxa.Map.allclose(a * w2, atol: 1e-12));
        using var lig = new LayerIntegratedGradients(model, "act1", steps: 4).Attribute(x, 2, b);
        Assert.Equal(new long[] { 4, 4 }, lig.Map.shape);
        Assert.True(lig.Map.allclose(expected, atol: 1e-12));
        Assert.True(lig.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        // The input of fc2 is the output of act1: the same map through the pre-hook.
        using var toInput = new LayerIntegratedGradients(model, "fc2", steps: 4, attributeToLayerInput: true).Attribute(x, 2, b);
        Assert.True(toInput.Map.allclose(expected, atol: 1e-12));
        // Conductance telescopes to the same: Σ_k W2 ⊙ (a_{k+1} − a_k) = W2 ⊙ (a − a').
        using var conductance = new LayerConductance(model, "act1", steps: 7).Attribute(x, 2, b);
        Assert.True(conductance.Map.allclose(expected, atol: 1e-12));
        Assert.True(conductance.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        using var influence = new InternalInfluence(model, "act1", steps: 5).Attribute(x, 2, b);
        Assert.True(influence.Map.allclose(w2.expand(4, 4), atol: 1e-12));
        using var global = new LayerIntegratedGradients(model, "act1", steps: 4, multiplyByInputs: false).Attribute(x, 2, b);
        Assert.True(global.Map.allclose(w2.expand(4, 4), atol: 1e-12));
    }

    [Fact]
    public void Layer_deeplift_gives_the_layer_units_contributions()
    {
        using var model = TwoLayer(11);
        using var x = Nets.Inputs(new long[] { 4, 5 }, seed: 12);
        using var b = Nets.Inputs(new long[] { 5 }, seed: 13);
        var w2 = model.parameters().ToArray()[2].detach()[0];
        using var a = Hidden(model, x);
        using var aRef = Hidden(model, b.unsqueeze(0));
        using var expected = (a - aRef) * w2;
        using var atActivation = new LayerDeepLift(model, "act1").Attribute(x, 0, b);
        Assert.True(atActivation.Map.allclose(expected, atol: 1e-12));
        Assert.True(atActivation.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        using var atInput = new LayerDeepLift(model, "fc2", attributeToLayerInput: true).Attribute(x, 0, b);
        Assert.True(atInput.Map.allclose(expected, atol: 1e-12));
        // Before the ReLU: Δz ⊙ (Δa/Δz) W2 = Δa W2 wherever z moved (and Δa = 0 where it did not).
        using var preActivation = new LayerDeepLift(model, "fc1").Attribute(x, 0, b);
        Assert.True(preActivation.Map.allclose(expected, atol: 1e-10));
        // Summation-to-delta at a conv layer of a CNN with max pooling.
        using var cnn = Nets.Cnn(14, pool: true);
        using var xi = Nets.Inputs(new long[] { 2, 1, 8, 8 }, seed: 15);
        using var conv = new LayerDeepLift(cnn, "conv2").Attribute(xi, 1);
        Assert.Equal(new long[] { 2, 6, 8, 8 }, conv.Map.shape);
        Assert.True(conv.ConvergenceDelta!.abs().max().item<double>() < 1e-8);
    }

    [Fact]
    public void Layer_feature_ablation_credits_each_unit_or_group_with_the_drop()
    {
        using var model = TwoLayer(18);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 19);
        var w2 = model.parameters().ToArray()[2].detach()[0];
        using var a = Hidden(model, x);
        // Linear after the layer: zeroing unit j drops W2[0, j] a_j.
        using var units = new LayerFeatureAblation(model, "act1").Attribute(x, 0);
        Assert.True(units.Map.allclose(a * w2, atol: 1e-12));
        // Groups {0, 1} and {2, 3}: each unit gets its group's drop.
        using var mask = torch.tensor(new long[] { 0, 0, 1, 1 });
        using var groups = new LayerFeatureAblation(model, "act1", mask, settings: new AttributionSettings { MaxRowsPerPass = 2 }).Attribute(x, 0);
        var contribution = a * w2;
        using var expected = torch.cat(new[] { contribution[.., ..2].sum(1, keepdim: true).expand(3, 2), contribution[.., 2..].sum(1, keepdim: true).expand(3, 2) }, 1);
        Assert.True(groups.Map.allclose(expected, atol: 1e-12));
        // A baseline value other than 0, at the input of fc2 (= act1's output).
        using var shifted = new LayerFeatureAblation(model, "fc2", layerBaseline: 0.5, attributeToLayerInput: true).Attribute(x, 0);
        Assert.True(shifted.Map.allclose((a - 0.5) * w2, atol: 1e-12));
        using var fractional = torch.zeros(4);
        Assert.Equal("layerMask", Assert.Throws<ArgumentException>(() => new LayerFeatureAblation(model, "act1", fractional).Attribute(x, 0)).ParamName);
    }

    [Fact]
    public void Layer_gradient_shap_and_deeplift_shap_average_over_the_baselines()
    {
        using var model = TwoLayer(20);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 21);
        using var set = Nets.Inputs(new long[] { 2, 5 }, seed: 22);
        var w2 = model.parameters().ToArray()[2].detach()[2];
        using var a = Hidden(model, x);
        using var aSet = Hidden(model, set); // [2, 4]
        // Linear after the layer: each sample gives W2 ⊙ (a(x) − a(b)) exactly; DeepLiftShap averages over both baselines.
        using var dls = new LayerDeepLiftShap(model, "act1").Attribute(x, 2, set);
        Assert.True(dls.Map.allclose((a - aSet.mean(new long[] { 0 })) * w2, atol: 1e-12));
        Assert.True(dls.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        // One baseline and no noise: LayerGradientShap is exact too, whatever α.
        using var one = set[0].unsqueeze(0);
        using var gs = new LayerGradientShap(model, "act1", samples: 5, seed: 3).Attribute(x, 2, one);
        Assert.True(gs.Map.allclose((a - aSet[0]) * w2, atol: 1e-12));
        // Grouped to the budget: the same draws, the same map.
        using var noisy = new LayerGradientShap(model, "act1", samples: 7, stdev: 0.2, seed: 4).Attribute(x, 2, set);
        using var grouped = new LayerGradientShap(model, "act1", samples: 7, stdev: 0.2, seed: 4, settings: new AttributionSettings { MaxRowsPerPass = 4 }).Attribute(x, 2, set);
        Assert.True(grouped.Map.allclose(noisy.Map, atol: 1e-12));
    }

    [Fact]
    public void Noise_tunnel_wraps_layer_methods_at_the_layers_resolution()
    {
        using var model = TwoLayer(16);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 17);
        var w2 = model.parameters().ToArray()[2].detach()[1];
        // ∂y₁/∂a = W2[1] at every input: SmoothGrad of the layer gradient (x activation-free) is W2[1] whatever the noise.
        using var smooth = new NoiseTunnel(new LayerGradientXActivation(model, "act1", multiplyByInputs: false), samples: 6, sigmaFraction: 0.3).Attribute(x, 1);
        Assert.Equal(new long[] { 3, 4 }, smooth.Map.shape);
        Assert.True(smooth.Map.allclose(w2.expand(3, 4), atol: 1e-12));
        using var vargrad = new NoiseTunnel(new LayerGradientXActivation(model, "act1", multiplyByInputs: false), NoiseTunnelKind.VarGrad, samples: 6, sigmaFraction: 0.3).Attribute(x, 1);
        Assert.True(vargrad.Map.abs().max().item<double>() < 1e-12);
    }

    [Fact]
    public void Layer_integrated_gradients_is_complete_through_a_nonlinear_rest_of_the_network()
    {
        using var model = Nets.Smooth(5, 6, 3, seed: 6);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 7);
        using var lig = new LayerIntegratedGradients(model, "act1", steps: 200).Attribute(x, 1);
        using var noGrad = torch.no_grad();
        var gap = model.call(x)[.., 1] - model.call(torch.zeros_like(x))[.., 1];
        Assert.True((lig.Map.sum(1) - gap).abs().max().item<double>() < 1e-8);
    }

    [Fact]
    public void Neuron_gradient_and_integrated_gradients_of_one_unit()
    {
        using var model = TwoLayer(8);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 9);
        using var b = Nets.Inputs(new long[] { 5 }, seed: 10);
        var w1 = model.parameters().First().detach(); // fc1's unit 2: z₂ = W1[2]·x + b₂
        using var grad = new NeuronGradient(model, "fc1", new long[] { 2 }).Attribute(x);
        Assert.True(grad.Map.allclose(w1[2].expand(3, 5), atol: 1e-12));
        using var ig = new NeuronIntegratedGradients(model, "fc1", new long[] { 2 }, steps: 3).Attribute(x, baselines: b);
        Assert.True(ig.Map.allclose((x - b) * w1[2], atol: 1e-12));
        // Through the ReLU: IG of a₂ sums to a₂(x) − a₂(x').
        using var relu = new NeuronIntegratedGradients(model, "act1", new long[] { 2 }, steps: 300).Attribute(x, baselines: b);
        using var a = Hidden(model, x);
        using var aRef = Hidden(model, b.unsqueeze(0));
        Assert.True((relu.Map.sum(1) - (a[.., 2] - aRef[0, 2])).abs().max().item<double>() < 1e-3);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => new NeuronGradient(model, "fc1", new long[] { 2 }).Attribute(x, 1)).ParamName);
        // Conductance of unit 2 of act1 for output 1: ∂y₁/∂a₂ = W2[1, 2] everywhere, so it is W2[1, 2] × the unit's IG (same rule).
        var w2 = model.parameters().ToArray()[2].detach()[1, 2].item<double>();
        using var conductance = new NeuronConductance(model, "act1", new long[] { 2 }, steps: 300, rule: IntegrationRule.RiemannTrapezoid).Attribute(x, 1, b);
        using var unitIg = new NeuronIntegratedGradients(model, "act1", new long[] { 2 }, steps: 300, rule: IntegrationRule.RiemannTrapezoid).Attribute(x, baselines: b);
        Assert.True(conductance.Map.allclose(unitIg.Map * w2, atol: 1e-12));
        // Over the units of the layer, the conductances add up to the input IG (every path passes act1).
        using var total = torch.zeros_like(x);
        for (long u = 0; u < 4; u++)
        {
            using var part = new NeuronConductance(model, "act1", new long[] { u }, steps: 8).Attribute(x, 1, b);
            total.add_(part.Map);
        }
        using var inputIg = new IntegratedGradients(model, 8, IntegrationRule.RiemannTrapezoid).Attribute(x, 1, b);
        Assert.True(total.allclose(inputIg.Map, atol: 1e-10));
        Assert.Equal("neuron", Assert.Throws<ArgumentOutOfRangeException>(() => new NeuronGradient(model, "fc1", new long[] { 4 }).Attribute(x)).ParamName);
    }

    [Fact]
    public void Neuron_deeplift_of_a_relu_unit_is_its_rescale_multiplier_and_sums_to_its_change()
    {
        // a_j = relu(z_j), z_j = W1[j]·x + b_j: DeepLIFT gives (x − x') ⊙ W1[j] · Δa_j / Δz_j, the rule of the tapped ReLU itself.
        using var model = TwoLayer(12);
        using var x = Nets.Inputs(new long[] { 4, 5 }, seed: 13);
        using var b = Nets.Inputs(new long[] { 4, 5 }, seed: 14);
        var p = model.parameters().ToArray();
        const long j = 1;
        var w = p[0][j].detach();
        var z = (x.matmul(w) + p[1][j]).detach();
        var zRef = (b.matmul(w) + p[1][j]).detach();
        var multiplier = (z.relu() - zRef.relu()) / (z - zRef);
        Assert.True((z.sign() * zRef.sign()).lt(0).any().item<bool>()); // some example crosses the ReLU's kink: the rescale rule matters
        using var deeplift = new NeuronDeepLift(model, "act1", new long[] { j }).Attribute(x, baselines: b);
        Assert.True(deeplift.Map.allclose((x - b) * w * multiplier.unsqueeze(1), atol: 1e-10));
        Assert.True(deeplift.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        // Without multiplying by inputs: the multipliers.
        using var global = new NeuronDeepLift(model, "act1", new long[] { j }, multiplyByInputs: false).Attribute(x, baselines: b);
        Assert.True(global.Map.allclose(w * multiplier.unsqueeze(1), atol: 1e-10));
        // DeepLiftShap over two baselines: the mean of the two.
        using var set = torch.stack(new[] { b[0], b[1] });
        using var shap = new NeuronDeepLiftShap(model, "act1", new long[] { j }).Attribute(x, baselines: set);
        using var first = new NeuronDeepLift(model, "act1", new long[] { j }).Attribute(x, baselines: b[0]);
        using var second = new NeuronDeepLift(model, "act1", new long[] { j }).Attribute(x, baselines: b[1]);
        Assert.True(shap.Map.allclose((first.Map + second.Map) / 2, atol: 1e-12));
    }

    [Fact]
    public void Neuron_guided_backprop_and_deconvolution_apply_their_rule_at_every_relu_including_the_tapped_one()
    {
        // fc1 - act1 - fc2 - act2 - fc3; the unit a2_j = relu(z2_j).
        using var model = Nets.Relu(4, 5, 3, seed: 15);
        using var x = Nets.Inputs(new long[] { 6, 4 }, seed: 16);
        var p = model.parameters().ToArray();
        var (w1, b1, w2, b2) = (p[0].detach(), p[1].detach(), p[2].detach(), p[3].detach());
        var z1 = x.matmul(w1.t()) + b1;
        var z2 = z1.relu().matmul(w2.t()) + b2;
        // A unit that is off for some examples and on for others.
        long j = Enumerable.Range(0, 5).First(u => z2[.., u].gt(0).any().item<bool>() && z2[.., u].le(0).any().item<bool>());
        // Guided: the seed 1 passes the tapped ReLU where z2_j > 0, then the positive part of W2[j] where z1 > 0, then W1.
        var on = z2[.., j].gt(0).to_type(ScalarType.Float64).unsqueeze(1);
        var guided = (w2[j].clamp_min(0) * on * z1.gt(0).to_type(ScalarType.Float64)).matmul(w1);
        using var gb = new NeuronGuidedBackprop(model, "act2", new long[] { j }).Attribute(x);
        Assert.True(gb.Map.allclose(guided, atol: 1e-12));
        // Deconvolution ignores the forward pass at every ReLU: clamp(W2[j], 0) W1 for every example, on or off.
        var deconv = w2[j].clamp_min(0).matmul(w1).expand(6, 4);
        using var dc = new NeuronDeconvolution(model, "act2", new long[] { j }).Attribute(x);
        Assert.True(dc.Map.allclose(deconv, atol: 1e-12));
    }

    [Fact]
    public void Neuron_gradient_shap_and_feature_ablation_of_a_linear_unit()
    {
        // z_j = W1[j]·x + b_j is linear in x: GradientSHAP (no noise, one baseline) and ablation are W1[j] ⊙ (x − x').
        using var model = TwoLayer(17);
        using var x = Nets.Inputs(new long[] { 3, 5 }, seed: 18);
        using var b = Nets.Inputs(new long[] { 5 }, seed: 19);
        var w = model.parameters().First().detach()[3];
        using var shap = new NeuronGradientShap(model, "fc1", new long[] { 3 }, samples: 4).Attribute(x, baselines: b);
        Assert.True(shap.Map.allclose((x - b) * w, atol: 1e-12));
        using var ablation = new NeuronFeatureAblation(model, "fc1", new long[] { 3 }).Attribute(x, baselines: b);
        Assert.True(ablation.Map.allclose((x - b) * w, atol: 1e-12));
        // Grouped: features {0, 1} and {2, 3, 4} each get their group's joint drop.
        using var mask = torch.tensor(new long[] { 0, 0, 1, 1, 1 });
        using var grouped = new NeuronFeatureAblation(model, "fc1", new long[] { 3 }, mask).Attribute(x, baselines: b);
        var contributions = (x - b) * w;
        var first = contributions.narrow(1, 0, 2).sum(1, keepdim: true);
        var rest = contributions.narrow(1, 2, 3).sum(1, keepdim: true);
        Assert.True(grouped.Map.allclose(torch.cat(new[] { first.expand(3, 2), rest.expand(3, 3) }, 1), atol: 1e-12));
    }
}
