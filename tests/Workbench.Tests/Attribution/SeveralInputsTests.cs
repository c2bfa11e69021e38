using TorchSharp;
using Workbench.Attribution;
using static TorchSharp.torch;

namespace Workbench.Tests.Attribution;

/// <summary>Models of several input tensors (Captum's tuple of inputs): one map per input, against hand-computed values.</summary>
public class SeveralInputsTests
{
    // f(a, b) = Σ_i a_i b_i with a [N, 2, 2] and b [N, 4] (a flattened row-major pairs with b).
    static readonly AttributionModel Product = AttributionModel.SeveralInputs(xs => (xs[0].flatten(1) * xs[1]).sum(1), "product");

    static void Close(Tensor expected, Tensor actual, double tol = 1e-9) =>
        Assert.True(torch.allclose(actual, expected, rtol: 0, atol: tol), $"max |diff| = {(actual - expected).abs().max().item<double>():E2}");

    [Fact]
    public void Gradient_methods_give_each_input_its_map_on_a_product_of_two_inputs()
    {
        var a = Nets.Inputs(new long[] { 3, 2, 2 }, 1);
        var b = Nets.Inputs(new long[] { 3, 4 }, 2);
        var a0 = Nets.Inputs(new long[] { 2, 2 }, 3);
        var b0 = Nets.Inputs(new long[] { 4 }, 4);

        using (var g = new Saliency(Product, absolute: false).Attribute(new[] { a, b }))
        {
            Assert.Equal(a.shape, g.Maps[0].shape);
            Assert.Equal(b.shape, g.Maps[1].shape);
            Close(b.reshape(3, 2, 2), g.Maps[0]); // ∂f/∂a = b
            Close(a.reshape(3, 4), g.Maps[1]);    // ∂f/∂b = a
        }
        using (var ixg = new InputXGradient(Product).Attribute(new[] { a, b }))
        {
            Close(a * b.reshape(3, 2, 2), ixg.Maps[0]);
            Close(a.reshape(3, 4) * b, ixg.Maps[1]);
        }
        // IG on the straight path from (a', b'): ∂f/∂a_i = b'_i + α Δb_i, so IG_a = Δa ⊙ (b' + Δb / 2), and symmetrically.
        using (var ig = new IntegratedGradients(Product, steps: 8).Attribute(new[] { a, b }, baselines: new[] { a0, b0 }))
        {
            var da = (a - a0).reshape(3, 4);
            var db = b - b0;
            Close((da * (b0 + db / 2)).reshape(3, 2, 2), ig.Maps[0]);
            Close(db * (a0.reshape(1, 4) + da / 2), ig.Maps[1]);
            Assert.True(ig.ConvergenceDelta!.abs().max().item<double>() < 1e-9); // completeness over both inputs
        }
        // Without multiplying by inputs: the path-averaged gradient alone.
        using (var global = new IntegratedGradients(Product, steps: 8, multiplyByInputs: false).Attribute(new[] { a, b }))
        {
            Close(b.reshape(3, 2, 2) / 2, global.Maps[0]);
            Close(a.reshape(3, 4) / 2, global.Maps[1]);
        }
    }

    [Fact]
    public void Feature_masks_per_input_share_ids_across_inputs_as_captum()
    {
        // f(a, b) = w1·a + w2·b: the drop of a feature is Σ over its elements in both inputs of w x.
        var w1 = torch.tensor(new[] { 1.0, -2.0, 3.0, 0.5 }, ScalarType.Float64);
        var w2 = torch.tensor(new[] { 2.0, 1.0, -1.0, 4.0 }, ScalarType.Float64);
        var linear = AttributionModel.SeveralInputs(xs => xs[0].flatten(1).matmul(w1) + xs[1].matmul(w2), "linear");
        var a = Nets.Inputs(new long[] { 2, 2, 2 }, 5);
        var b = Nets.Inputs(new long[] { 2, 4 }, 6);
        var maskA = torch.tensor(new long[] { 0, 1, 2, 2 }, new long[] { 2, 2 });
        var maskB = torch.tensor(new long[] { 0, 3, 3, 4 }); // id 0 is a[0,0] and b[0] together
        int[] idsA = { 0, 1, 2, 2 }, idsB = { 0, 3, 3, 4 };
        var ca = (a.reshape(2, 4) * w1).data<double>().ToArray();
        var cb = (b * w2).data<double>().ToArray();
        var drop = new double[2, 5];
        for (int e = 0; e < 2; e++)
            for (int i = 0; i < 4; i++)
            {
                drop[e, idsA[i]] += ca[e * 4 + i];
                drop[e, idsB[i]] += cb[e * 4 + i];
            }
        var expectedA = torch.tensor(Enumerable.Range(0, 8).Select(j => drop[j / 4, idsA[j % 4]]).ToArray(), new long[] { 2, 2, 2 }, ScalarType.Float64);
        var expectedB = torch.tensor(Enumerable.Range(0, 8).Select(j => drop[j / 4, idsB[j % 4]]).ToArray(), new long[] { 2, 4 }, ScalarType.Float64);
        var contribA = torch.tensor(ca, new long[] { 2, 4 }, ScalarType.Float64);
        var contribB = torch.tensor(cb, new long[] { 2, 4 }, ScalarType.Float64);
        var masks = new[] { maskA, maskB };
        foreach (var method in new PerturbationAttribution[]
                 {
                     new FeatureAblation(linear) { FeatureMasks = masks },
                     new ShapleyValues(linear) { FeatureMasks = masks },
                     new KernelShap(linear, samples: 64) { FeatureMasks = masks }, // 2^5 coalitions: enumerated, exact
                     new ShapleyValueSampling(linear, permutations: 3) { FeatureMasks = masks },
                 })
        {
            using var r = method.Attribute(new[] { a, b });
            Close(expectedA, r.Maps[0], 1e-6);
            Close(expectedB, r.Maps[1], 1e-6);
        }
        // No masks: every element of every input its own feature.
        using var each = new FeatureAblation(linear).Attribute(new[] { a, b });
        Close(contribA.reshape(2, 2, 2), each.Maps[0]);
        Close(contribB, each.Maps[1]);
    }

    [Fact]
    public void Per_example_masks_of_several_inputs_give_each_example_its_own_partition()
    {
        var a = Nets.Inputs(new long[] { 2, 2, 2 }, 7);
        var b = Nets.Inputs(new long[] { 2, 4 }, 8);
        var maskA = torch.tensor(new long[] { 0, 0, 1, 1, 0, 1, 2, 2 }, new long[] { 2, 2, 2 }); // row 1 differs from row 0
        var maskB = torch.tensor(new long[] { 1, 1, 2, 2 });
        using var batch = new FeatureAblation(Product) { FeatureMasks = new[] { maskA, maskB } }.Attribute(new[] { a, b });
        for (long e = 0; e < 2; e++)
        {
            using var alone = new FeatureAblation(Product) { FeatureMasks = new[] { maskA[e], maskB } }
                .Attribute(new[] { a.narrow(0, e, 1), b.narrow(0, e, 1) });
            Close(alone.Maps[0], batch.Maps[0].narrow(0, e, 1));
            Close(alone.Maps[1], batch.Maps[1].narrow(0, e, 1));
        }
        // By hand: ablating feature k zeroes its elements of a and b, so f drops by Σ a_i b_i over the
        // pairs i with either element in k; each element gets the drop of its own row's feature.
        var av = a.reshape(2, 4).data<double>().ToArray();
        var bv = b.data<double>().ToArray();
        var ia = maskA.reshape(2, 4).data<long>().ToArray();
        var ib = maskB.data<long>().ToArray();
        double Drop(int e, long k) => Enumerable.Range(0, 4).Where(i => ia[e * 4 + i] == k || ib[i] == k).Sum(i => av[e * 4 + i] * bv[e * 4 + i]);
        var expectedA = torch.tensor(Enumerable.Range(0, 8).Select(j => Drop(j / 4, ia[j])).ToArray(), new long[] { 2, 2, 2 }, ScalarType.Float64);
        var expectedB = torch.tensor(Enumerable.Range(0, 8).Select(j => Drop(j / 4, ib[j % 4])).ToArray(), new long[] { 2, 4 }, ScalarType.Float64);
        Close(expectedA, batch.Maps[0]);
        Close(expectedB, batch.Maps[1]);
    }

    [Fact]
    public void Noise_tunnel_scales_the_noise_to_each_inputs_own_range()
    {
        // f = Σ a² + Σ b²: the signed gradient at a + σε is 2a + 2σε, so VarGrad is 4σ² per element.
        var squares = AttributionModel.SeveralInputs(xs => xs[0].pow(2).sum(1) + xs[1].pow(2).sum(1), "squares");
        var a = torch.tensor(new[] { 0.0, 1.0, 0.5, 0.2 }, new long[] { 1, 4 }, ScalarType.Float64);   // range 1
        var b = torch.tensor(new[] { 0.0, 10.0, 5.0, 2.0 }, new long[] { 1, 4 }, ScalarType.Float64);  // range 10
        using var r = new NoiseTunnel(new Saliency(squares, absolute: false), NoiseTunnelKind.VarGrad, samples: 4000, sigmaFraction: 0.1)
            .Attribute(new[] { a, b });
        double varA = r.Maps[0].mean().item<double>(), varB = r.Maps[1].mean().item<double>();
        Assert.InRange(varA, 4 * 0.01 * 0.9, 4 * 0.01 * 1.1); // σ_a = 0.1 × 1
        Assert.InRange(varB, 4 * 1.0 * 0.9, 4 * 1.0 * 1.1);   // σ_b = 0.1 × 10
        // An absolute σ per input (Captum's tuple of stdevs).
        using var absolute = VarGradWith(squares, new[] { 0.5, 0.05 }).Attribute(new[] { a, b });
        Assert.InRange(absolute.Maps[0].mean().item<double>(), 4 * 0.25 * 0.9, 4 * 0.25 * 1.1);
        Assert.InRange(absolute.Maps[1].mean().item<double>(), 4 * 0.0025 * 0.9, 4 * 0.0025 * 1.1);
        Assert.Equal("StdevPerInput", Assert.Throws<ArgumentException>(() => VarGradWith(squares, new[] { 0.5 }).Attribute(new[] { a, b })).ParamName);
    }

    static NoiseTunnel VarGradWith(AttributionModel model, double[] sigmas) =>
        new(new Saliency(model, absolute: false), NoiseTunnelKind.VarGrad, samples: 4000) { StdevPerInput = sigmas };

    [Fact]
    public void Several_inputs_do_not_depend_on_chunking()
    {
        var a = Nets.Inputs(new long[] { 4, 2, 2 }, 9);
        var b = Nets.Inputs(new long[] { 4, 4 }, 10);
        using var whole = new IntegratedGradients(Product, steps: 10, rule: IntegrationRule.RiemannMiddle).Attribute(new[] { a, b });
        using var chunked = new IntegratedGradients(Product, steps: 10, rule: IntegrationRule.RiemannMiddle, settings: new AttributionSettings { MaxRowsPerPass = 3 })
            .Attribute(new[] { a, b });
        Close(whole.Maps[0], chunked.Maps[0], 1e-12);
        Close(whole.Maps[1], chunked.Maps[1], 1e-12);
    }

    [Fact]
    public void What_several_inputs_cannot_honour_is_an_error_naming_the_argument()
    {
        var a = Nets.Inputs(new long[] { 2, 2, 2 }, 11);
        var b = Nets.Inputs(new long[] { 2, 4 }, 12);
        // Methods that read one input's geometry.
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => new Occlusion(Product, 2, 1).Attribute(new[] { a, b })).ParamName);
        // One tensor for a model of several, and several for a model of one.
        var e = Assert.Throws<ArgumentException>(() => new Saliency(Product).Attribute(a));
        Assert.Equal("inputs", e.ParamName);
        Assert.Contains("several input tensors", e.Message);
        using var single = Nets.Linear(4, 1, 0);
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => new Saliency(single).Attribute(new[] { b, b })).ParamName);
        // Shapes: batch sizes, baselines per input, masks per input.
        Assert.Equal("inputs", Assert.Throws<ArgumentException>(() => new Saliency(Product).Attribute(new[] { a, b.narrow(0, 0, 1) })).ParamName);
        Assert.Equal("baselines", Assert.Throws<ArgumentException>(() => new IntegratedGradients(Product).Attribute(new[] { a, b }, baselines: new[] { a })).ParamName);
        var wrongShape = Assert.Throws<ArgumentException>(() => new IntegratedGradients(Product).Attribute(new[] { a, b }, baselines: new[] { a, a }));
        Assert.Equal("baselines", wrongShape.ParamName);
        Assert.Contains("[4]", wrongShape.Message);
        Assert.Equal("featureMask", Assert.Throws<ArgumentException>(() =>
            new FeatureAblation(Product, torch.zeros(4, ScalarType.Int64)).Attribute(new[] { a, b })).ParamName);
        Assert.Equal("FeatureMasks", Assert.Throws<ArgumentException>(() =>
            new FeatureAblation(Product) { FeatureMasks = new[] { torch.zeros(new long[] { 2, 2 }, ScalarType.Int64) } }.Attribute(new[] { a, b })).ParamName);
    }

    /// <summary>
    /// Two towers (a [N, 4], b [N, 3]) joined by a head on their concatenation: a module of two inputs.
    /// (Concatenated, not added: LRP's relevance flows as the gradient, so an unhooked sum would hand
    /// each branch all of it — Zennit replaces such sums by a module with its own rule.)
    /// </summary>
    sealed class TwoTowers : nn.Module<Tensor, Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> towerA, towerB, head;

        public TwoTowers(bool bias) : base("two_towers")
        {
            towerA = nn.Sequential(("fc", nn.Linear(4, 5, hasBias: bias)), ("act", nn.ReLU()));
            towerB = nn.Sequential(("fc", nn.Linear(3, 5, hasBias: bias)), ("act", nn.ReLU()));
            head = nn.Sequential(("fc", nn.Linear(10, 4, hasBias: bias)), ("act", nn.ReLU()), ("out", nn.Linear(4, 2, hasBias: bias)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor a, Tensor b) => head.call(torch.cat(new[] { towerA.call(a), towerB.call(b) }, 1));
    }

    /// <summary>The same network as a module of one input, the two inputs side by side in one row.</summary>
    sealed class Joined : nn.Module<Tensor, Tensor>
    {
        readonly TwoTowers inner;

        public Joined(TwoTowers towers) : base("joined")
        {
            inner = towers;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => inner.call(x.narrow(1, 0, 4), x.narrow(1, 4, 3));
    }

    /// <summary>Seeded towers in float64, the model of two inputs over them, and a batch of each input.</summary>
    static (TwoTowers Towers, AttributionModel Model, Tensor A, Tensor B) TowersAndInputs(bool bias, int seed, long batch)
    {
        torch.manual_seed(seed);
        var towers = new TwoTowers(bias);
        towers.to(ScalarType.Float64);
        var model = AttributionModel.SeveralInputs(xs => towers.call(xs[0], xs[1]), towers);
        return (towers, model, Nets.Inputs(new long[] { batch, 4 }, seed + 1), Nets.Inputs(new long[] { batch, 3 }, seed + 2));
    }

    [Fact]
    public void Hook_based_methods_explain_a_module_of_two_inputs()
    {
        var (towers, model, a, b) = TowersAndInputs(bias: true, seed: 41, batch: 5);
        using var owned = towers;
        var a0 = Nets.Inputs(new long[] { 4 }, 44);
        var b0 = Nets.Inputs(new long[] { 3 }, 45);
        // DeepLIFT sums to f(x) − f(x') over both inputs together (summation-to-delta).
        using var deeplift = new DeepLift(model).Attribute(new[] { a, b }, 1, new[] { a0, b0 });
        using (torch.no_grad())
        {
            var f = towers.call(a, b)[.., 1];
            var f0 = towers.call(a0.unsqueeze(0), b0.unsqueeze(0))[.., 1];
            var total = deeplift.Maps[0].sum(1) + deeplift.Maps[1].sum(1);
            Assert.True((total - (f - f0)).abs().max().item<double>() < 1e-10);
        }
        Assert.True(deeplift.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        // The same rules as on one input with the two side by side.
        var joined = new Joined(towers);
        using var alone = new DeepLift(joined).Attribute(torch.cat(new[] { a, b }, 1), 1, torch.cat(new[] { a0, b0 }));
        Assert.True(alone.Map.narrow(1, 0, 4).allclose(deeplift.Maps[0], atol: 1e-12));
        Assert.True(alone.Map.narrow(1, 4, 3).allclose(deeplift.Maps[1], atol: 1e-12));
        using var guided = new GuidedBackprop(model).Attribute(new[] { a, b }, 0);
        using var guidedAlone = new GuidedBackprop(joined).Attribute(torch.cat(new[] { a, b }, 1), 0);
        Assert.True(guidedAlone.Map.narrow(1, 0, 4).allclose(guided.Maps[0], atol: 1e-12));
        Assert.True(guidedAlone.Map.narrow(1, 4, 3).allclose(guided.Maps[1], atol: 1e-12));
        // A function without its module cannot be hooked: the error says how to give it.
        var bare = AttributionModel.SeveralInputs(xs => towers.call(xs[0], xs[1]));
        Assert.Contains("SeveralInputs(forward, module)", Assert.Throws<InvalidOperationException>(() => new DeepLift(bare).Attribute(new[] { a, b }, 1)).Message);
        // The modules behind either form (for the metrics' eval switch): the given one, or the closure's.
        Assert.Same(towers, Assert.Single(model.Modules));
        Assert.Same(towers, Assert.Single(bare.Modules));
        towers.train();
        using (bare.EvalMode()) Assert.False(towers.training);
        Assert.True(towers.training);
        towers.eval();
    }

    [Fact]
    public void Lrp0_on_a_bias_free_module_of_two_inputs_is_input_times_gradient_per_input()
    {
        var (towers, model, a, b) = TowersAndInputs(bias: false, seed: 46, batch: 3);
        using var owned = towers;
        using var lrp = new Lrp(model, LrpComposite.Uniform(new EpsilonRule(1e-12))).Attribute(new[] { a, b }, 0);
        using var ixg = new InputXGradient(model).Attribute(new[] { a, b }, 0);
        Assert.True(lrp.Maps[0].allclose(ixg.Maps[0], atol: 1e-9));
        Assert.True(lrp.Maps[1].allclose(ixg.Maps[1], atol: 1e-9));
        Assert.True(lrp.ConvergenceDelta!.abs().max().item<double>() < 1e-9); // conservation over both inputs
    }

    [Fact]
    public void Layer_and_neuron_methods_take_a_module_of_two_inputs()
    {
        var (towers, model, a, b) = TowersAndInputs(bias: true, seed: 51, batch: 4);
        using var owned = towers;
        var p = towers.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter.detach());
        Tensor Hidden(Tensor x, Tensor y) => (torch.cat(new[] { (x.matmul(p["towerA.fc.weight"].t()) + p["towerA.fc.bias"]).relu(),
            (y.matmul(p["towerB.fc.weight"].t()) + p["towerB.fc.bias"]).relu() }, 1).matmul(p["head.fc.weight"].t()) + p["head.fc.bias"]).relu();
        // Layer IG at head.act, whose rest (one linear layer) is linear: (a(x) − a(x')) ⊙ W_out[k], one map of the layer's units.
        using var ig = new LayerIntegratedGradients(model, "head.act", steps: 5).Attribute(new[] { a, b }, 1);
        Assert.Single(ig.Maps);
        var expected = (Hidden(a, b) - Hidden(torch.zeros_like(a), torch.zeros_like(b))) * p["head.out.weight"][1];
        Assert.True(ig.Maps[0].allclose(expected, atol: 1e-10));
        Assert.True(ig.ConvergenceDelta!.abs().max().item<double>() < 1e-10);
        // Neuron gradient of unit 2 of towerA's linear layer: W_A[2] for input a, nothing for input b.
        using var unit = new NeuronGradient(model, "towerA.fc", new long[] { 2 }).Attribute(new[] { a, b });
        Assert.True(unit.Maps[0].allclose(p["towerA.fc.weight"][2].expand(4, 4), atol: 1e-12));
        Assert.Equal(0.0, unit.Maps[1].abs().max().item<double>());
    }
}
