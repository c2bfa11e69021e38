using TorchSharp;
using Workbench.Data;
using Workbench.Representations;
using Workbench.Runtime;
using static TorchSharp.torch;

namespace Workbench.Tests.Representations;

public class MutualInformationTests
{
    static readonly ProbeOptions Decoder = new() { Hidden = new[] { 64 }, Epochs = 30, LearningRate = 3e-3 };

    /// <summary>Binary 8×8 images from a 6-d Gaussian latent z: x = [z·M + noise > 0] (seeded), with the latents.</summary>
    static (Tensor Images, Tensor Latents) Images(long n, int seed)
    {
        TorchRuntime.EnsureLoaded();
        using var g = new torch.Generator((ulong)seed);
        using var mg = new torch.Generator(99);
        using var m = torch.randn(new long[] { 6, 64 }, generator: mg);
        var z = torch.randn(new long[] { n, 6 }, generator: g);
        using var noise = torch.randn(new long[] { n, 64 }, generator: g) * 0.5;
        return ((z.matmul(m) + noise).gt(0).to_type(ScalarType.Float32).reshape(n, 1, 8, 8), z);
    }

    [Fact]
    public void The_bound_never_exceeds_the_entropy_and_the_identity_layer_gives_the_highest()
    {
        var (fit, fitZ) = Images(512, 1);
        var (test, testZ) = Images(256, 2);
        using var _ = fit; using var __ = test; using var ___ = fitZ; using var ____ = testZ;
        using var pg = new torch.Generator(5);
        using var projection = torch.randn(new long[] { 64, 2 }, generator: pg);
        var representations = new (string Name, Tensor Fit, Tensor Test)[]
        {
            ("identity", fit, test),
            ("first half of the pixels", fit.reshape(512, 64)[.., ..32], test.reshape(256, 64)[.., ..32]),
            ("random projection to 2", fit.reshape(512, 64).matmul(projection), test.reshape(256, 64).matmul(projection)),
        };
        var bounds = representations.Select(r => (r.Name, Bound: MutualInformation.InputInformation(r.Fit, fit, r.Test, test, Decoder))).ToList();
        double entropy = MutualInformation.FactorizedEntropy(fit, test);
        Assert.All(bounds, b =>
        {
            Assert.True(b.Bound.Ok, b.Bound.Status);
            Assert.True(b.Bound.Bound <= b.Bound.Entropy + 1e-9, $"{b.Name}: {b.Bound.Bound:F2} > Ĥ(x) = {b.Bound.Entropy:F2}");
            Assert.Equal(entropy, b.Bound.Entropy, 9);
        });
        var identity = bounds[0].Bound.Bound!.Value;
        Assert.All(bounds.Skip(1), b => Assert.True(identity > b.Bound.Bound, $"identity {identity:F2} vs {b.Name} {b.Bound.Bound:F2}"));
        // The identity layer keeps everything: its estimate comes close to Ĥ(x) (the decoder's 240 steps leave a quarter at most).
        Assert.True(identity > 0.75 * entropy, $"identity {identity:F2} of Ĥ(x) = {entropy:F2}");
    }

    [Fact]
    public void The_bound_grows_with_the_decoders_capacity_on_a_fixed_representation()
    {
        TorchRuntime.EnsureLoaded();
        // x_j = [|z·m_j| > 0.67 ‖m_j‖]: a function of the latent that no linear logit can express (it is even in z).
        Tensor Even(Tensor z)
        {
            using var mg = new torch.Generator(42);
            using var m = torch.randn(new long[] { 6, 64 }, generator: mg);
            return (z.matmul(m).abs() > 0.67 * m.norm(0, keepdim: true)).to_type(ScalarType.Float32).reshape(z.shape[0], 1, 8, 8);
        }
        using var g = new torch.Generator(3);
        using var fitZ = torch.randn(new long[] { 1024, 6 }, generator: g);
        using var testZ = torch.randn(new long[] { 256, 6 }, generator: g);
        using var fit = Even(fitZ);
        using var test = Even(testZ);
        var linear = MutualInformation.InputInformation(fitZ, fit, testZ, test, Decoder with { Hidden = Array.Empty<int>() });
        var small = MutualInformation.InputInformation(fitZ, fit, testZ, test, Decoder with { Hidden = new[] { 8 } });
        var large = MutualInformation.InputInformation(fitZ, fit, testZ, test, Decoder with { Hidden = new[] { 128 } });
        Assert.True(linear.Bound < small.Bound && small.Bound < large.Bound, $"linear {linear.Bound:F2}, 8 hidden {small.Bound:F2}, 128 hidden {large.Bound:F2}");
        Assert.True(linear.Bound < 0.25 * linear.Entropy, $"linear {linear.Bound:F2} of Ĥ(x) = {linear.Entropy:F2}");
    }

    [Fact]
    public void Entropies_match_their_closed_forms()
    {
        TorchRuntime.EnsureLoaded();
        using var labels = torch.arange(1000, ScalarType.Int64) % 10;
        Assert.Equal(Math.Log(10), MutualInformation.LabelEntropy(labels), 9);
        using var g = new torch.Generator(1);
        using var bits = torch.rand(new long[] { 20000, 16 }, generator: g).gt(0.5).to_type(ScalarType.Float32);
        Assert.Equal(16 * Math.Log(2), MutualInformation.FactorizedEntropy(bits, bits), 2);
    }

    [Fact]
    public void Label_bound_is_near_H_y_for_labels_written_in_the_features_and_near_zero_for_noise()
    {
        TorchRuntime.EnsureLoaded();
        using var g = new torch.Generator(8);
        using var labels = torch.randint(0, 4, new long[] { 600 }, generator: g);
        using var informative = nn.functional.one_hot(labels, 4).to_type(ScalarType.Float32) + 0.01 * torch.randn(new long[] { 600, 4 }, generator: g);
        using var noise = torch.randn(new long[] { 600, 4 }, generator: g);
        var options = new ProbeOptions { Epochs = 50, LearningRate = 1e-2 };
        var fitRange = (..400);
        var good = MutualInformation.LabelInformation(informative[fitRange], labels[fitRange], informative[400..], labels[400..], options);
        var bad = MutualInformation.LabelInformation(noise[fitRange], labels[fitRange], noise[400..], labels[400..], options);
        Assert.True(good.Bound > 0.9 * good.Entropy, $"informative: {good.Bound:F3} of H(y) = {good.Entropy:F3}");
        Assert.True(bad.Bound < 0.1 * bad.Entropy, $"noise: {bad.Bound:F3} of H(y) = {bad.Entropy:F3}");
    }

    [Fact]
    public void Non_binary_images_empty_labels_and_a_diverging_decoder_are_reported()
    {
        var (fit, _) = Images(64, 1);
        using var __ = fit;
        using var grey = fit * 0.5;
        Assert.Equal("fitImages", Assert.Throws<ArgumentException>(() => MutualInformation.InputInformation(fit, grey, fit, fit)).ParamName);
        using var empty = torch.zeros(0, ScalarType.Int64);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(() => MutualInformation.LabelEntropy(empty)).ParamName);
        var diverged = MutualInformation.InputInformation(fit, fit, fit, fit, Decoder with { LearningRate = 1e30, Epochs = 3 });
        Assert.False(diverged.Ok);
        Assert.Contains("diverged", diverged.Status);
        Assert.Null(diverged.Bound);
    }

    [Fact]
    public void Tracking_measures_every_layer_at_every_checkpoint_within_the_entropy()
    {
        TorchRuntime.EnsureLoaded();
        using var g = new torch.Generator(4);
        using var images = torch.rand(new long[] { 160, 1, 12, 12 }, generator: g);
        using var labels = (images.mean(new long[] { 1, 2, 3 }) > 0.5).to_type(ScalarType.Int64);
        using var all = new TensorDataset(images, labels, "synthetic", classes: 2);
        using var train = all.Take(96);
        using var fit = all.Subset(Enumerable.Range(96, 32).Select(i => (long)i).ToArray());
        using var test = all.Subset(Enumerable.Range(128, 32).Select(i => (long)i).ToArray());
        var options = new TrackingOptions
        {
            Checkpoints = new long[] { 0, 4 }, Width = 2, Bottleneck = 4, BatchSize = 16,
            Decoder = new ProbeOptions { Hidden = new[] { 8 }, Epochs = 1 }, Classifier = new ProbeOptions { Epochs = 1 },
        };
        foreach (var objective in new[] { TrackingObjective.Classification, TrackingObjective.Autoencoding })
        {
            var points = InformationTracking.Run(objective, train, fit, test, options);
            Assert.Equal(2 * TrackedResNet.TrackedLayers.Count, points.Count);
            Assert.Equal(new long[] { 0, 4 }, points.Select(p => p.Step).Distinct());
            Assert.All(points, p =>
            {
                Assert.True(p.Input.Ok && p.Label.Ok, p.Input.Status + " / " + p.Label.Status);
                Assert.True(p.Input.Bound <= p.Input.Entropy && p.Label.Bound <= p.Label.Entropy);
            });
        }
        Assert.Equal("Checkpoints", Assert.Throws<ArgumentException>(() => InformationTracking.Run(TrackingObjective.Classification, train, fit, test,
            options with { Checkpoints = new long[] { 5, 3 } })).ParamName);
    }
}
