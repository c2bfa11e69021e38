using TorchSharp;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Models;

public class ModelTests
{
    public static TheoryData<string, ActivationKind, bool> Variants()
    {
        var data = new TheoryData<string, ActivationKind, bool>();
        foreach (var arch in ModelSpec.Architectures)
            foreach (var act in new[] { ActivationKind.ReLU, ActivationKind.Softplus })
                foreach (var sn in new[] { false, true })
                    data.Add(arch, act, sn);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_variant_maps_images_to_logits_and_fires_each_leaf_hook_once(string arch, ActivationKind act, bool sn)
    {
        TorchRuntime.Seed(0);
        var spec = new ModelSpec(arch, Activation: act, SpectralNorm: sn);
        using var model = spec.Build();
        model.eval();
        var fired = new Dictionary<string, int>();
        var handles = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            if (name.Length == 0 || module.named_children().Any()) continue; // leaves only
            if (module is nn.Module<Tensor, Tensor> leaf)
            {
                fired[name] = 0;
                var remover = leaf.register_forward_hook((m, input, output) => { fired[name]++; return output; });
                handles.Add(remover.remove);
            }
        }
        using var x = torch.rand(3, 1, 28, 28);
        using var y = model.call(x);
        foreach (var remove in handles) remove();
        Assert.Equal(new long[] { 3, 10 }, y.shape);
        Assert.NotEmpty(fired);
        Assert.All(fired, kv => Assert.True(kv.Value == 1, $"{kv.Key} fired {kv.Value} times"));
        if (arch != "mlp") Assert.Contains(spec.LastConvLayer, LayerNames.Of(model));
    }

    [Fact]
    public void Same_seed_gives_the_same_initialisation()
    {
        float[] Init(int seed)
        {
            TorchRuntime.Seed(seed);
            using var m = new ModelSpec("resnet").Build();
            using var flat = torch.cat(m.parameters().Select(p => p.detach().flatten()).ToArray());
            return flat.data<float>().ToArray();
        }
        Assert.Equal(Init(1), Init(1));
        Assert.NotEqual(Init(1), Init(2));
    }

    [Fact]
    public void Keys_are_stable_and_differ_in_every_field()
    {
        var b = new ModelSpec("cnn");
        Assert.Equal(b.Key, new ModelSpec("cnn").Key);
        var variants = new[]
        {
            b, b with { Architecture = "mlp" }, b with { InputChannels = 3 }, b with { ImageSize = 32 }, b with { Classes = 2 },
            b with { Activation = ActivationKind.Softplus }, b with { Activation = ActivationKind.Softplus, SoftplusBeta = 5 },
            b with { SpectralNorm = true }, b with { Width = 8 }, b with { BatchNorm = true },
        };
        Assert.DoesNotContain("bn", b.Key); // the option must not change the keys of existing cache entries
        Assert.Equal(variants.Length, variants.Select(v => v.Key).Distinct().Count());
    }

    [Fact]
    public void Wrong_input_shape_names_expected_and_actual()
    {
        TorchRuntime.Seed(0);
        using var cnn = new ModelSpec("cnn").Build();
        using var bad = torch.rand(2, 3, 28, 28);
        var e = Assert.Throws<ArgumentException>(() => cnn.call(bad));
        Assert.Contains("[batch, 1, 28, 28]", e.Message);
        Assert.Contains("[2, 3, 28, 28]", e.Message);
    }

    [Fact]
    public void Bad_spec_and_unknown_names_are_rejected()
    {
        Assert.Equal("architecture", Assert.Throws<ArgumentException>(() => ModelSpec.Parse("vgg")).ParamName);
        Assert.Equal("Classes", Assert.Throws<ArgumentOutOfRangeException>(() => new ModelSpec("cnn", Classes: 1).Build()).ParamName);
        foreach (var arch in new[] { "resnet", "mlp" })
            Assert.Equal("BatchNorm", Assert.Throws<ArgumentOutOfRangeException>(() => new ModelSpec(arch, BatchNorm: true).Build()).ParamName);
        TorchRuntime.Seed(0);
        using var m = new ModelSpec("cnn").Build();
        var e = Assert.Throws<ArgumentException>(() => LayerNames.Find(m, "conv9"));
        Assert.Contains("conv2", e.Message);
    }

    [Fact]
    public void Cnn_with_batchnorm_normalises_each_convolution_with_batch_statistics_in_training()
    {
        TorchRuntime.Seed(0);
        using var m = new ModelSpec("cnn", BatchNorm: true).Build();
        var names = LayerNames.Of(m);
        Assert.Contains("bn1", names);
        Assert.Contains("bn2", names);
        Assert.Contains("act2", names); // Grad-CAM's layer keeps its name
        using var x = torch.rand(8, 1, 28, 28);
        m.train();
        using var batch = m.call(x)[..1].detach();
        using var alone = m.call(x[..1]).detach();
        Assert.True((batch - alone).abs().max().item<float>() > 1e-4, "in training BatchNorm must use the batch's statistics");
        m.eval();
        using var evalBatch = m.call(x)[..1].detach();
        using var evalAlone = m.call(x[..1]).detach();
        Assert.True((evalBatch - evalAlone).abs().max().item<float>() < 1e-5, "in eval BatchNorm must use the running statistics");
        TorchRuntime.Seed(0);
        using var plain = new ModelSpec("cnn").Build();
        Assert.DoesNotContain("bn1", LayerNames.Of(plain));
    }

    [Fact]
    public void Resnet_batchnorm_uses_batch_statistics_in_training_and_running_ones_in_eval()
    {
        TorchRuntime.Seed(0);
        using var m = new ModelSpec("resnet").Build();
        using var x = torch.rand(8, 1, 28, 28);
        m.train();
        using var a = m.call(x);
        using var single = m.call(x[..1]);
        m.eval();
        using var b = m.call(x);
        using var singleEval = m.call(x[..1]);
        // Eval: each example's output is independent of the batch; training: it is not.
        Assert.True(b[..1].allclose(singleEval, rtol: 1e-4, atol: 1e-5));
        Assert.False(a[..1].allclose(single, rtol: 1e-4, atol: 1e-5));
    }
}
