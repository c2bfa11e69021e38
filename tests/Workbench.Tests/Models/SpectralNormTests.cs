using TorchSharp;
using Workbench.Models;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Models;

public class SpectralNormTests
{
    static double ExactSigma(Tensor weight) => torch.linalg.svdvals(weight.detach().flatten(1))[0].item<float>();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Power_iteration_converges_to_the_largest_singular_value(bool conv)
    {
        TorchRuntime.Seed(1);
        using var layer = new SpectralNormLayer("sn", conv ? nn.Conv2d(3, 8, 3) : nn.Linear(20, 12));
        var raw = layer.parameters().First(p => p.dim() >= 2);
        layer.PowerIterate(200);
        double exact = ExactSigma(raw);
        Assert.True(Math.Abs(layer.Sigma - exact) <= 1e-3 * exact, $"sigma {layer.Sigma} vs exact {exact}");
    }

    [Fact]
    public void Normalized_weight_has_unit_spectral_norm_and_gradients_reach_the_raw_weight()
    {
        TorchRuntime.Seed(2);
        using var layer = new SpectralNormLayer("sn", nn.Linear(16, 16, hasBias: false));
        layer.PowerIterate(200);
        layer.eval();
        // With no bias the layer is x -> x W_sn^T: its largest singular value is the layer's.
        using var identity = torch.eye(16);
        using var wsn = layer.call(identity).t();
        Assert.Equal(1.0, ExactSigma(wsn), 3);

        layer.train();
        using var x = torch.randn(4, 16);
        using var loss = layer.call(x).pow(2).sum();
        loss.backward();
        var raw = layer.parameters().First();
        Assert.NotNull(raw.grad);
        Assert.True(raw.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Eval_mode_does_not_update_u_and_training_does()
    {
        TorchRuntime.Seed(3);
        using var layer = new SpectralNormLayer("sn", nn.Linear(10, 6));
        using var x = torch.randn(2, 10);
        layer.eval();
        double before = layer.Sigma;
        using (var _ = layer.call(x)) { }
        Assert.Equal(before, layer.Sigma);
        layer.train();
        using (var _ = layer.call(x)) { }
        Assert.NotEqual(before, layer.Sigma);
    }

    [Fact]
    public void Only_linear_and_conv_layers_are_accepted()
    {
        var e = Assert.Throws<ArgumentException>(() => new SpectralNormLayer("sn", nn.ReLU()));
        Assert.Equal("layer", e.ParamName);
    }
}
