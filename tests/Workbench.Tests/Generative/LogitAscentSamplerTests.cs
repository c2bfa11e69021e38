using TorchSharp;
using Workbench.Generative;
using Workbench.Regularization;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Generative;

public class LogitAscentSamplerTests
{
    static nn.Module<Tensor, Tensor> SmallNet()
    {
        TorchRuntime.Seed(1);
        return nn.Sequential(("flatten", nn.Flatten()), ("fc1", nn.Linear(36, 16)), ("act", nn.Softplus(beta: 10)), ("fc2", nn.Linear(16, 3)));
    }

    [Fact]
    public void Ascent_raises_the_target_logit_and_stays_in_range()
    {
        using var model = SmallNet();
        using var targets = torch.tensor(new long[] { 0, 1, 2, 0, 1 });
        var options = new SamplerOptions { Steps = 50, Seed = 3 };
        using var start = LogitAscentSampler.Sample(model, targets, new long[] { 1, 6, 6 }, options with { Steps = 0 });
        using var samples = LogitAscentSampler.Sample(model, targets, new long[] { 1, 6, 6 }, options);
        Assert.Equal(new long[] { 5, 1, 6, 6 }, samples.shape);
        Assert.True(samples.min().item<float>() >= 0 && samples.max().item<float>() <= 1);
        using var noGrad = torch.no_grad();
        var before = TrueClassLogit.Of(model.call(start), targets);
        var after = TrueClassLogit.Of(model.call(samples), targets);
        Assert.True((after - before).min().item<float>() > 0, "every sample's target logit should rise");
    }

    [Fact]
    public void Sampling_is_deterministic_by_seed_and_Langevin_noise_changes_it()
    {
        using var model = SmallNet();
        using var targets = torch.tensor(new long[] { 0, 1, 2, 0 });
        var o = new SamplerOptions { Steps = 10, Seed = 5 };
        using var a = LogitAscentSampler.Sample(model, targets, new long[] { 1, 6, 6 }, o);
        using var b = LogitAscentSampler.Sample(model, targets, new long[] { 1, 6, 6 }, o);
        Assert.True(a.equal(b).all().item<bool>());
        using var c = LogitAscentSampler.Sample(model, targets, new long[] { 1, 6, 6 }, o with { Seed = 6 });
        Assert.False(a.equal(c).all().item<bool>());
        using var langevin = LogitAscentSampler.Sample(model, targets, new long[] { 1, 6, 6 }, o with { LangevinNoise = 0.05 });
        Assert.False(a.equal(langevin).all().item<bool>());
    }

    /// <summary>
    /// One step is the authors' update x ← clip(x + lr·(∇f_y − wd·(x − 0.5))), checked by hand on a linear model whose
    /// gradient is its weight row: from x = 0.8 with lr 0.1 and wd 0.01 the pull toward grey is 0.1·0.01·0.3 = 3e-4.
    /// </summary>
    [Fact]
    public void One_step_is_the_authors_update_with_the_pull_inside_the_step()
    {
        TorchRuntime.EnsureLoaded();
        using var model = nn.Sequential(("flatten", nn.Flatten()), ("fc", nn.Linear(4, 2)));
        using (torch.no_grad())
        {
            model.parameters().First().copy_(torch.tensor(new float[] { 1, -1, 0.5f, -9, 0, 0, 0, 0 }).reshape(2, 4));
            model.parameters().Last().zero_();
        }
        using var targets = torch.tensor(new long[] { 0, 1 });
        var options = new SamplerOptions { Steps = 1, StepSize = 0.1, WeightDecay = 0.01, InitMean = 0.8, InitStd = 0 };
        using var x = LogitAscentSampler.Sample(model, targets, new long[] { 4 }, options);
        var got = x.data<float>().ToArray();
        double pull = 0.1 * 0.01 * 0.3;
        var expected = new[] { 0.8 + 0.1 - pull, 0.8 - 0.1 - pull, 0.8 + 0.05 - pull, 0.0 /* 0.8 − 0.9 − pull, clipped */, 0.8 - pull, 0.8 - pull, 0.8 - pull, 0.8 - pull };
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], got[i], 5);
    }

    [Fact]
    public void Bad_targets_and_options_are_rejected()
    {
        using var model = SmallNet();
        using var floats = torch.zeros(3);
        Assert.Equal("targets", Assert.Throws<ArgumentException>(() => LogitAscentSampler.Sample(model, floats, new long[] { 1, 6, 6 })).ParamName);
        using var t = torch.zeros(3, ScalarType.Int64);
        Assert.Equal("StepSize", Assert.Throws<ArgumentOutOfRangeException>(() =>
            LogitAscentSampler.Sample(model, t, new long[] { 1, 6, 6 }, new SamplerOptions { StepSize = 0 })).ParamName);
        Assert.Equal("WeightDecay", Assert.Throws<ArgumentOutOfRangeException>(() =>
            LogitAscentSampler.Sample(model, t, new long[] { 1, 6, 6 }, new SamplerOptions { WeightDecay = -1 })).ParamName);
    }
}
