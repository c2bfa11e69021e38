using TorchSharp;
using Workbench.Boundaries;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Boundaries;

public class GradientAttackTests
{
    public GradientAttackTests() => TorchRuntime.EnsureLoaded();

    static nn.Module<Tensor, Tensor> Net(int seed)
    {
        TorchRuntime.Seed(seed);
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 3));
    }

    static double Loss(nn.Module<Tensor, Tensor> net, Tensor x, Tensor y)
    {
        using var _ = torch.no_grad();
        using var loss = nn.functional.cross_entropy(net.call(x), y);
        return loss.item<float>();
    }

    [Fact]
    public void Fgsm_perturbation_has_the_requested_norm_and_raises_the_loss()
    {
        using var net = Net(1);
        TorchRuntime.Seed(2);
        using var x = torch.randn(10, 1, 4, 4);
        using var y = torch.randint(0, 3, 10, dtype: ScalarType.Int64);
        using var linf = Fgsm.Perturb(net, x, y, 0.05);
        using var dInf = (linf - x).flatten(1).abs().max(1).values;
        Assert.All(dInf.data<float>().ToArray(), v => Assert.Equal(0.05, v, 5));
        using var l2 = Fgsm.Perturb(net, x, y, 0.5, AttackNorm.L2);
        using var d2 = (l2 - x).flatten(1).norm(1);
        Assert.All(d2.data<float>().ToArray(), v => Assert.Equal(0.5, v, 4));
        Assert.True(Loss(net, linf, y) > Loss(net, x, y));
        Assert.True(Loss(net, l2, y) > Loss(net, x, y));
        // Bounds clip: in [0, 1] nothing leaves the box.
        using var boxed = Fgsm.Perturb(net, x.sigmoid(), y, 0.3, lower: 0, upper: 1);
        Assert.True(boxed.min().item<float>() >= 0 && boxed.max().item<float>() <= 1);
    }

    [Fact]
    public void Pgd_stays_in_the_ball_is_seeded_and_beats_fgsm()
    {
        using var net = Net(3);
        TorchRuntime.Seed(4);
        using var x = torch.randn(16, 1, 4, 4);
        using var y = torch.randint(0, 3, 16, dtype: ScalarType.Int64);
        foreach (var norm in new[] { AttackNorm.LInf, AttackNorm.L2 })
        {
            var options = new PgdOptions { Epsilon = 0.3, StepSize = 0.05, Steps = 20, Norm = norm, Seed = 5 };
            using var a = Pgd.Perturb(net, x, y, options);
            using var b = Pgd.Perturb(net, x, y, options);
            using var c = Pgd.Perturb(net, x, y, options with { Seed = 6 });
            Assert.True(a.equal(b).all().item<bool>());
            Assert.False(a.equal(c).all().item<bool>());
            using var delta = (a - x).flatten(1);
            double size = norm == AttackNorm.LInf ? delta.abs().max().item<float>() : delta.norm(1).max().item<float>();
            Assert.True(size <= 0.3 + 1e-5, $"{norm}: {size}");
            using var fgsm = Fgsm.Perturb(net, x, y, 0.3, norm);
            Assert.True(Loss(net, a, y) >= Loss(net, fgsm, y) - 1e-4, $"{norm}: PGD loss {Loss(net, a, y)} vs FGSM {Loss(net, fgsm, y)}");
        }
    }

    [Fact]
    public void Bad_input_is_an_error_naming_the_argument()
    {
        using var net = Net(7);
        using var x = torch.randn(2, 1, 4, 4);
        using var y = torch.zeros(2, dtype: ScalarType.Int64);
        Assert.Equal("epsilon", Assert.Throws<ArgumentOutOfRangeException>(() => Fgsm.Perturb(net, x, y, -0.1)).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => Fgsm.Perturb(net, x, torch.zeros(3, dtype: ScalarType.Int64), 0.1)).ParamName);
        Assert.Equal("lower", Assert.Throws<ArgumentOutOfRangeException>(() => Fgsm.Perturb(net, x, y, 0.1, lower: 1, upper: 0)).ParamName);
        Assert.Equal("StepSize", Assert.Throws<ArgumentOutOfRangeException>(() => Pgd.Perturb(net, x, y, new PgdOptions { StepSize = 0 })).ParamName);
        Assert.Equal("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => Pgd.Perturb(net, x, y, new PgdOptions { Steps = 0 })).ParamName);
    }
}
